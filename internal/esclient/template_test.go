package esclient

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestWithoutSystemManaged(t *testing.T) {
	got := map[string]any{
		"index_patterns": []any{"x-*"}, "composed_of": []any{}, "version": 1.0,
		"created_date_millis": 1796200321352.0, "modified_date_millis": 1796200321352.0,
		"created_date": "2026-12-02T08:32:01.352Z", "modified_date": "2026-12-02T08:32:01.352Z",
	}
	assert.Equal(t, map[string]any{"index_patterns": []any{"x-*"}, "composed_of": []any{}, "version": 1.0},
		WithoutSystemManaged(got))
	assert.Len(t, got, 7, "the template read is left as it is")
}
