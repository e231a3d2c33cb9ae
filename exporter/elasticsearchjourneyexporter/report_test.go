package elasticsearchjourneyexporter

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
)

func TestWithoutValuePreview(t *testing.T) {
	r := "[1:50] failed to parse field [url.port] of type [integer] in document with id 'e1'. Preview of field's value: 'jane@example.com'"
	got := withoutValuePreview(r)
	assert.Equal(t, "[1:50] failed to parse field [url.port] of type [integer] in document with id 'e1'.", got)
	assert.Equal(t, "other", withoutValuePreview("other"))
}

func TestShortError(t *testing.T) {
	short := errors.New("short")
	assert.Same(t, short, shortError(short))
	long := shortError(errors.New(strings.Repeat("é", 400)))
	assert.LessOrEqual(t, len(long.Error()), maxErrorLen+len("…"))
	assert.True(t, utf8.ValidString(long.Error()))
}
