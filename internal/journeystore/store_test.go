package journeystore

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestOpenSettingErrors(t *testing.T) {
	ok := Settings{URL: "http://localhost:9200", IndexPrefix: "webjourney"}
	for _, tc := range []struct {
		edit    func(*Settings)
		setting string
		want    string
	}{
		{func(s *Settings) { s.URL = "" }, "URL", "required"},
		{func(s *Settings) { s.URL = "http://u:secret@es:9200" }, "URL", "credentials in the URL are not allowed"},
		{func(s *Settings) { s.APIKey, s.User = "k", "u" }, "APIKey", "not both"},
		{func(s *Settings) { s.Password = "p" }, "Password", "set the user as well"},
		{func(s *Settings) { s.IndexPrefix = "_x" }, "IndexPrefix", "starting with a letter or digit"},
		{func(s *Settings) { s.DeadLetterIndex = "webjourney-credits" }, "DeadLetterIndex", "one of the exporter's own"},
		{func(s *Settings) { s.CACert = []byte("not PEM") }, "CACert", ""},
	} {
		s := ok
		tc.edit(&s)
		_, err := Open(s)
		var se *SettingError
		require.True(t, errors.As(err, &se), "%v", err)
		assert.Equal(t, tc.setting, se.Setting)
		assert.Contains(t, se.Err.Error(), tc.want)
		assert.NotContains(t, err.Error(), "secret")
	}
	o, err := Open(ok)
	require.NoError(t, err)
	require.NoError(t, o.Close(context.Background()))
}
