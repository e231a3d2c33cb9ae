package elasticsearchjourneyexporter

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNewOpsSettingErrors(t *testing.T) {
	ok := OpsSettings{URL: "http://localhost:9200", IndexPrefix: "webjourney"}
	for _, tc := range []struct {
		edit    func(*OpsSettings)
		setting string
		want    string
	}{
		{func(s *OpsSettings) { s.URL = "" }, "URL", "required"},
		{func(s *OpsSettings) { s.URL = "http://u:secret@es:9200" }, "URL", "credentials in the URL are not allowed"},
		{func(s *OpsSettings) { s.APIKey, s.User = "k", "u" }, "APIKey", "not both"},
		{func(s *OpsSettings) { s.Password = "p" }, "Password", "set the user as well"},
		{func(s *OpsSettings) { s.IndexPrefix = "_x" }, "IndexPrefix", "starting with a letter or digit"},
		{func(s *OpsSettings) { s.DeadLetterIndex = "webjourney-credits" }, "DeadLetterIndex", "one of the exporter's own"},
		{func(s *OpsSettings) { s.CACert = []byte("not PEM") }, "CACert", ""},
	} {
		s := ok
		tc.edit(&s)
		_, err := NewOps(s)
		var se *SettingError
		require.True(t, errors.As(err, &se), "%v", err)
		assert.Equal(t, tc.setting, se.Setting)
		assert.Contains(t, se.Err.Error(), tc.want)
		assert.NotContains(t, err.Error(), "secret")
	}
	o, err := NewOps(ok)
	require.NoError(t, err)
	require.NoError(t, o.Close(context.Background()))
}

func TestMappingDrift(t *testing.T) {
	want := eventsMapping()
	got := asJSON(t, want).(map[string]any)
	drift, err := mappingDrift(want, got)
	require.NoError(t, err)
	assert.Empty(t, drift, "the same mapping, decoded from JSON")

	props := got["properties"].(map[string]any)
	props["url"].(map[string]any)["properties"].(map[string]any)["port"] = map[string]any{"type": "long"}
	delete(props, "session")
	props["extra"] = map[string]any{"type": "keyword"}
	got["dynamic"] = "true"
	drift, err = mappingDrift(want, got)
	require.NoError(t, err)
	assert.Equal(t, []string{
		`.: expected {"dynamic":false}, installed {"dynamic":"true"}`,
		`extra: expected none, installed {"type":"keyword"}`,
		`session.id: expected {"ignore_above":1024,"type":"keyword"}, installed none`,
		`url.port: expected {"type":"integer"}, installed {"type":"long"}`,
	}, drift)
}

func TestErasureReportFamilies(t *testing.T) {
	o := &Ops{prefix: "wj", deadLetter: "wj-dead"}
	rep := o.erasureReport(map[string]int64{
		"wj-events-2026.11": 2, "wj-events-2024.01": 1, "wj-visits": 1, "wj-credits": 4, "wj-dead": 1, "wj-events-x": 5,
	})
	assert.Equal(t, []FamilyCount{
		{FamilyEvents, "wj-events-*", 3}, {FamilyVisits, "wj-visits", 1}, {FamilyVisitors, "wj-visitors", 0},
		{FamilyCredits, "wj-credits", 4}, {FamilyDeadLetter, "wj-dead", 1}, {FamilyOther, "wj-*", 5},
	}, rep.Families)
	assert.EqualValues(t, 14, rep.Total)
	// No dead-letter index, nothing else: neither row.
	rep = (&Ops{prefix: "wj"}).erasureReport(nil)
	assert.Len(t, rep.Families, 4)
}
