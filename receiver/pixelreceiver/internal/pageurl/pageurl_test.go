package pageurl

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParse(t *testing.T) {
	tests := []struct {
		raw  string
		want URL
	}{
		{
			raw: "https://Shop.Example.COM:8443/a/b%20c?utm_source=x&q=1#top%20part",
			want: URL{
				Full: "https://Shop.Example.COM:8443/a/b%20c?utm_source=x&q=1#top%20part", Scheme: "https",
				Domain: "shop.example.com", Port: 8443, Path: "/a/b c", Query: "utm_source=x&q=1", Fragment: "top part",
			},
		},
		{
			raw:  "http://example.com",
			want: URL{Full: "http://example.com", Scheme: "http", Domain: "example.com", Path: "/"},
		},
		{
			raw:  "HTTPS://example.com/?",
			want: URL{Full: "HTTPS://example.com/?", Scheme: "https", Domain: "example.com", Path: "/"},
		},
		{
			raw:  "http://[2001:DB8::1]:8080/x",
			want: URL{Full: "http://[2001:DB8::1]:8080/x", Scheme: "http", Domain: "2001:db8::1", Port: 8080, Path: "/x"},
		},
		{
			// Credentials never survive parsing.
			raw:  "https://user:secret@example.com/login",
			want: URL{Full: "https://example.com/login", Scheme: "https", Domain: "example.com", Path: "/login"},
		},
		{
			// The rest of the URL is kept as sent, not re-escaped.
			raw:  "https://a@b:c@Example.com/ä?q=@#@",
			want: URL{Full: "https://Example.com/ä?q=@#@", Scheme: "https", Domain: "example.com", Path: "/ä", Query: "q=@", Fragment: "@"},
		},
		{
			// A decoded path that is not UTF-8 is repaired, not rejected.
			raw:  "https://example.com/%ff",
			want: URL{Full: "https://example.com/%ff", Scheme: "https", Domain: "example.com", Path: "/\uFFFD"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			got, err := Parse(tt.raw)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestSetQuery(t *testing.T) {
	for _, tc := range []struct{ raw, query, full string }{
		{"https://shop.example/a?x=1&y=2#top?z", "y=2", "https://shop.example/a?y=2#top?z"},
		{"https://shop.example/a?x=1", "", "https://shop.example/a"},
		{"https://shop.example/a#f", "n=1", "https://shop.example/a?n=1#f"},
	} {
		u, err := Parse(tc.raw)
		require.NoError(t, err)
		u.SetQuery(tc.query)
		assert.Equal(t, tc.full, u.Full)
		assert.Equal(t, tc.query, u.Query)
		again, err := Parse(u.Full)
		require.NoError(t, err)
		assert.Equal(t, tc.query, again.Query)
	}
}

func TestParseInvalid(t *testing.T) {
	for _, raw := range []string{
		"",
		"/relative/path",
		"example.com/page",
		"//example.com/page",
		"ftp://example.com/file",
		"javascript:alert(1)",
		"mailto:someone@example.com",
		"android-app://com.google.android.gm/",
		"https://",
		"https:///path",
		"https://example.com:0/",
		"https://example.com:65536/",
		"https://exa mple.com/",
		"https://example.com/\x00",
		"https://example.com/\xff",
		"http://%zz/",
	} {
		t.Run(raw, func(t *testing.T) {
			_, err := Parse(raw)
			require.ErrorIs(t, err, ErrInvalid)
		})
	}
}

func TestParseAndroidApp(t *testing.T) {
	for raw, want := range map[string]URL{
		"android-app://com.google.android.gm/": {Full: "android-app://com.google.android.gm/", Scheme: "android-app", Domain: "com.google.android.gm", Path: "/"},
		"android-app://com.google.android.googlequicksearchbox": {Full: "android-app://com.google.android.googlequicksearchbox",
			Scheme: "android-app", Domain: "com.google.android.googlequicksearchbox", Path: "/"},
		"ANDROID-APP://com.Slack/": {Full: "ANDROID-APP://com.Slack/", Scheme: "android-app", Domain: "com.slack", Path: "/"},
		"android-app://com.google.android.googlequicksearchbox/https/www.google.com?x=1": {
			Full: "android-app://com.google.android.googlequicksearchbox/https/www.google.com?x=1", Scheme: "android-app",
			Domain: "com.google.android.googlequicksearchbox", Path: "/https/www.google.com", Query: "x=1"},
		"android-app://org.telegram.messenger_beta/": {Full: "android-app://org.telegram.messenger_beta/", Scheme: "android-app", Domain: "org.telegram.messenger_beta", Path: "/"},
	} {
		got, err := ParseAndroidApp(raw)
		require.NoError(t, err, raw)
		assert.Equal(t, want, got, raw)
	}
	for _, raw := range []string{
		"", "android-app://", "android-app://gmail/", "android-app://com..gm/", "android-app://1com.x/", "android-app://com.x-y/",
		"android-app://com.x:80/", "android-app://u@com.x/", "android-app:com.x", "https://com.google.android.gm/",
		"android-app://com.x\xff/", "android-app://.com.x/", "android-app://com.x./", "android-app://com.<x>/",
	} {
		_, err := ParseAndroidApp(raw)
		assert.Error(t, err, raw)
	}
}

// FuzzParseAndroidApp: any referrer either fails or gives an android-app
// URL whose domain is a lower-case package name that parses again.
func FuzzParseAndroidApp(f *testing.F) {
	for _, s := range []string{"android-app://com.google.android.gm/", "android-app://com.Slack/x?y=1#z",
		"android-app://com.google.android.googlequicksearchbox/https/www.google.com", "android-app://a/", "android-app://a.b:1/",
		"android-app://u:p@a.b/", "android-app:a.b", "https://a.b/", "android-app://a.b/%ff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := ParseAndroidApp(raw)
		if err != nil {
			return
		}
		if u.Scheme != SchemeAndroidApp || !validPackageName(u.Domain) || u.Full != raw || u.Path == "" {
			t.Fatalf("%q -> %+v", raw, u)
		}
		if _, err := ParseAndroidApp("android-app://" + u.Domain + "/"); err != nil {
			t.Fatalf("domain %q does not parse again", u.Domain)
		}
	})
}
