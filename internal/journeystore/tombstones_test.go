package journeystore

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/webjourney/webjourney/internal/eventmodel"
)

func TestSubjectKeys(t *testing.T) {
	er := &Erasure{Site: "shop", Visitors: []string{"k1:v", "k2:v"}, Users: []string{"k1:u"}}
	keys := er.TombstoneKeys()
	require.Len(t, keys, 3)
	assert.Equal(t, SubjectKey("shop", KindVisitor, "k1:v"), keys[0])
	assert.Equal(t, SubjectKey("shop", KindUser, "k1:u"), keys[2])
	// Another site, another kind, another id: another key.
	assert.NotEqual(t, SubjectKey("blog", KindVisitor, "k1:v"), keys[0])
	assert.NotEqual(t, SubjectKey("shop", KindUser, "k1:v"), keys[0])
	assert.Len(t, keys[0].String(), 32)
	assert.NotContains(t, keys[0].String(), "k1")
}

// The audit subject of one visitor and one user id is the hash every
// earlier version stored.
func TestErasureSubjectUnchanged(t *testing.T) {
	h := sha256.Sum256([]byte("shop\x00k1:v\x00k1:u"))
	er := &Erasure{Site: "shop", Visitors: []string{"k1:v"}, Users: []string{"k1:u"}}
	assert.Equal(t, hex.EncodeToString(h[:16]), er.Subject())
	h = sha256.Sum256([]byte("shop\x00k1:v\x00"))
	assert.Equal(t, hex.EncodeToString(h[:16]), (&Erasure{Site: "shop", Visitors: []string{"k1:v"}}).Subject())

	lr := plog.NewLogRecord()
	lr.SetEventName(eventmodel.EventErasureRequest)
	lr.Attributes().PutStr(eventmodel.AttrEventID, "e-1")
	lr.Attributes().PutStr(eventmodel.AttrSiteID, "shop")
	lr.Attributes().PutStr(eventmodel.AttrUserID, "k1:u")
	id, got := ErasureRequest(lr)
	assert.Equal(t, "e-1", id)
	assert.Equal(t, &Erasure{Site: "shop", Users: []string{"k1:u"}}, got)
}

func TestDecodeTombstones(t *testing.T) {
	key := SubjectKey("shop", KindVisitor, "k1:v")
	raw := []byte(`{"hits":{"hits":[{"_source":{"@timestamp":"2026-11-23T10:00:00Z","erasure.key":"` + key.String() + `","erasure.generation":7},"sort":["` + key.String() + `"]}]}}`)
	got, last, err := decodeTombstones(raw)
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, key, got[0].Key)
	assert.EqualValues(t, 7, got[0].Generation)
	assert.Equal(t, []any{key.String()}, last)

	for _, bad := range []string{
		`{"hits":{"hits":[{"_source":{"@timestamp":"2026-11-23T10:00:00Z","erasure.key":"zz","erasure.generation":7}}]}}`,
		`{"hits":{"hits":[{"_source":{"@timestamp":"yesterday","erasure.key":"` + key.String() + `","erasure.generation":7}}]}}`,
		`{"hits":{"hits":[{"_source":{"@timestamp":"2026-11-23T10:00:00Z","erasure.key":"` + key.String() + `","erasure.generation":1.5}}]}}`,
		`[`,
	} {
		_, _, err := decodeTombstones([]byte(bad))
		assert.Error(t, err, bad)
	}
}

func FuzzDecodeTombstones(f *testing.F) {
	key := SubjectKey("shop", KindVisitor, "k1:v").String()
	f.Add([]byte(`{"hits":{"hits":[{"_source":{"@timestamp":"2026-11-23T10:00:00Z","erasure.key":"` + key + `","erasure.generation":7},"sort":["x"]}]}}`))
	f.Add([]byte(`{"hits":{"hits":[{"_source":{"erasure.generation":"9223372036854775808"}}]}}`))
	f.Add([]byte(`{"hits":null}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		got, _, err := decodeTombstones(raw)
		if err != nil {
			return
		}
		for _, ts := range got {
			if ts.Erased.IsZero() {
				t.Fatalf("a tombstone without its time from %q", raw)
			}
		}
	})
}
