package origin

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAllows(t *testing.T) {
	s, err := Parse([]string{"https://shop.example", "https://*.shop.example", "blog.example", "http://localhost:8080"})
	require.NoError(t, err)
	tests := []struct {
		scheme, host string
		port         int
		want         bool
	}{
		{"https", "shop.example", 0, true},
		{"https", "shop.example", 443, true},
		{"http", "shop.example", 0, false},
		{"https", "shop.example", 8443, false},
		{"https", "www.shop.example", 0, true},
		{"https", "a.b.shop.example", 0, true},
		{"https", "evilshop.example", 0, false},
		{"https", "shop.example.evil", 0, false},
		{"http", "blog.example", 0, true},
		{"https", "blog.example", 0, true},
		{"https", "www.blog.example", 0, false},
		{"http", "localhost", 8080, true},
		{"http", "localhost", 0, false},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, s.Allows(tt.scheme, tt.host, tt.port), "%s://%s:%d", tt.scheme, tt.host, tt.port)
	}
	assert.True(t, s.AllowsOrigin("https://www.shop.example"))
	assert.True(t, s.AllowsOrigin("http://localhost:8080"))
	assert.False(t, s.AllowsOrigin("null"))
	assert.False(t, s.AllowsOrigin("https://shop.example/path"))
	assert.False(t, s.AllowsOrigin("https://evil.example"))
}

func TestNilSetAllowsAll(t *testing.T) {
	s, err := Parse(nil)
	require.NoError(t, err)
	assert.True(t, s.Allows("https", "anything.example", 0))
	assert.True(t, s.AllowsOrigin("null"))
}

func TestParseErrors(t *testing.T) {
	for _, bad := range []string{"ftp://shop.example", "https://shop.example/path", "https://", "*", "https://a.*.example", "shop.example:99999", "https://*."} {
		_, err := Parse([]string{"ok.example", bad})
		assert.Error(t, err, bad)
		if err != nil {
			assert.True(t, strings.HasPrefix(err.Error(), `1: "`+bad+`" `), err.Error())
		}
	}
}

func FuzzAllowsOrigin(f *testing.F) {
	s, _ := Parse([]string{"https://*.shop.example", "blog.example"})
	for _, seed := range []string{"https://www.shop.example", "null", "http://[::1]:80", "https://shop.example:0"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, o string) {
		_ = s.AllowsOrigin(o)
		_, _ = Parse([]string{o})
	})
}
