package kibana

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/webjourney/webjourney/internal/esclient"
	"github.com/webjourney/webjourney/internal/journeystore"
	"github.com/webjourney/webjourney/test/estest"
)

// aggregatableTypes are the field types a panel may aggregate.
var aggregatableTypes = map[string]bool{
	"keyword": true, "long": true, "integer": true, "short": true, "double": true, "float": true,
	"date": true, "boolean": true, "ip": true,
}

func esDo(t *testing.T, method, u string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader = http.NoBody
	if body != nil {
		raw, err := json.Marshal(body)
		require.NoError(t, err)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, u, rd)
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res.StatusCode, raw
}

// TestFieldsExistInExporterMapping installs the exporter's index templates
// in the real Elasticsearch (as the exporter does at start), creates one
// index of each family, and checks every field a saved object uses against
// the field capabilities Elasticsearch reports for the data view's index:
// it exists, a time field is a date, and an aggregated field is
// aggregatable.
func TestFieldsExistInExporterMapping(t *testing.T) {
	base := estest.URL(t)
	prefix := estest.UniquePrefix(t)
	layout := journeystore.Layout{Prefix: prefix}
	client, err := esclient.New(esclient.Options{Endpoints: []string{base}})
	require.NoError(t, err)
	store := journeystore.New(client.Client, layout)
	t.Cleanup(func() {
		for _, f := range []journeystore.Family{journeystore.FamilyEvents, journeystore.FamilyVisits, journeystore.FamilyVisitors, journeystore.FamilyCredits, journeystore.FamilyFunnels, journeystore.FamilyPostbacks} {
			index := layout.Index(f)
			if f == journeystore.FamilyEvents {
				index = layout.EventsIndex(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
			}
			esDo(t, http.MethodDelete, base+"/"+index, nil)
			esDo(t, http.MethodDelete, base+"/_index_template/"+layout.TemplateName(f), nil)
		}
		require.NoError(t, store.Close(context.Background()))
	})
	_, err = store.InstallTemplates(context.Background(), false)
	require.NoError(t, err)
	// The postback ledger's, as the partner_postback exporter installs it.
	require.NoError(t, store.InstallPostbacksTemplate(context.Background()))

	// Map each data view to this test's index of the same family.
	uses, titles := collectUses(t)
	require.NotEmpty(t, uses)
	indexOf := map[string]string{}
	for id, title := range titles {
		require.Equal(t, DataViewIndex(id, journeystore.DefaultPrefix), title, "the committed data view titles name the default prefix")
		index := DataViewIndex(id, prefix)
		if strings.HasSuffix(index, "-*") {
			index = strings.TrimSuffix(index, "*") + "2026.01"
		}
		status, raw := esDo(t, http.MethodPut, base+"/"+index, nil)
		require.Equal(t, http.StatusOK, status, "creating %s: %s", index, raw)
		indexOf[id] = index
	}

	caps := map[string]map[string]struct {
		Type         string `json:"type"`
		Aggregatable bool   `json:"aggregatable"`
	}{}
	for id, index := range indexOf {
		var res struct {
			Fields map[string]map[string]struct {
				Type         string `json:"type"`
				Aggregatable bool   `json:"aggregatable"`
			} `json:"fields"`
		}
		status, raw := esDo(t, http.MethodGet, base+"/"+url.PathEscape(index)+"/_field_caps?fields=*", nil)
		require.Equal(t, http.StatusOK, status, string(raw))
		require.NoError(t, json.Unmarshal(raw, &res))
		caps[id] = map[string]struct {
			Type         string `json:"type"`
			Aggregatable bool   `json:"aggregatable"`
		}{}
		for name, byType := range res.Fields {
			require.Len(t, byType, 1, "%s has several types in %s", name, index)
			for _, c := range byType {
				caps[id][name] = c
			}
		}
	}

	checked := map[string]bool{}
	for _, u := range uses {
		c, ok := caps[u.dataView][u.field]
		if !assert.True(t, ok, "%s: field %q is not in the mapping of %s", u.where, u.field, indexOf[u.dataView]) {
			continue
		}
		if u.date {
			assert.Equal(t, "date", c.Type, "%s: %s must be a date", u.where, u.field)
		}
		if u.aggregated {
			assert.True(t, c.Aggregatable && aggregatableTypes[c.Type],
				"%s: %s is aggregated but is %s (aggregatable %v) in %s", u.where, u.field, c.Type, c.Aggregatable, indexOf[u.dataView])
		}
		checked[u.dataView+" "+u.field] = true
	}
	t.Logf("checked %d field uses (%d distinct data view fields) against %d indices", len(uses), len(checked), len(indexOf))
}
