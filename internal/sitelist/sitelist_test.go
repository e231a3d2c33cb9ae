package sitelist

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/confmap"
)

func TestRefuseMap(t *testing.T) {
	old := confmap.NewFromStringMap(map[string]any{"sites": map[string]any{
		"shop": map[string]any{"time_zone": "UTC"},
		"blog": nil,
	}})
	err := RefuseMap(old)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "sites: a list of sites with an id since 0.2")
	assert.Contains(t, err.Error(), `write "- id: blog"`)

	assert.ErrorContains(t, RefuseMap(confmap.NewFromStringMap(map[string]any{"sites": map[string]any{}})), `write "- id: shop"`)

	for name, conf := range map[string]map[string]any{
		"list":   {"sites": []any{map[string]any{"id": "shop"}}},
		"absent": {"other": 1},
		"null":   {"sites": nil},
	} {
		assert.NoError(t, RefuseMap(confmap.NewFromStringMap(conf)), name)
	}
}

func TestCheckIDs(t *testing.T) {
	ok, errs := CheckIDs([]string{"shop", "", "blog", "shop"}, nil)
	assert.Equal(t, []bool{true, false, true, false}, ok)
	require.Len(t, errs, 2)
	assert.EqualError(t, errs[0], "sites::1::id: must not be empty; it is the webjourney.site.id of the site's events")
	assert.EqualError(t, errs[1], `sites::3::id: duplicate "shop" (also sites::0::id); list each site once`)

	ok, errs = CheckIDs([]string{"a b"}, func(id string) error { return errors.New("no spaces") })
	assert.Equal(t, []bool{false}, ok)
	require.Len(t, errs, 1)
	assert.EqualError(t, errs[0], "sites::0::id: no spaces")
}

func TestErrors(t *testing.T) {
	assert.Nil(t, Errors(0, "shop", nil))
	errs := Errors(2, "nz", errors.Join(errors.New("time_zone: unknown time zone"), errors.Join(errors.New("cookies::mode: bad"))))
	require.Len(t, errs, 2)
	assert.EqualError(t, errs[0], `sites::2::time_zone: unknown time zone (site "nz")`)
	assert.EqualError(t, errs[1], `sites::2::cookies::mode: bad (site "nz")`)
}
