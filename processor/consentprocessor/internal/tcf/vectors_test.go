package tcf_test

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"testing"

	"github.com/webjourney/webjourney/processor/consentprocessor/internal/tcf"
	"github.com/webjourney/webjourney/test/testenv"
)

// vector is one entry of the JSON array testdata/vectors.mjs prints.
type vector struct {
	Name     string `json:"name"`
	TCString string `json:"tc_string"`
	Rules    struct {
		VendorID          uint16  `json:"vendor_id"`
		PublisherPurposes bool    `json:"publisher_purposes"`
		Purposes          []uint8 `json:"purposes"`
		MinPolicyVersion  uint8   `json:"min_policy_version"`
	} `json:"rules"`
	Want struct {
		Invalid     string `json:"invalid"`
		Storage     bool   `json:"storage"`
		Measurement bool   `json:"measurement"`
		Basis       string `json:"basis"`
	} `json:"want"`
}

// TestIABVectors checks Evaluate on TC strings encoded by IAB Europe's
// reference encoder, @iabtcf/core, against results vectors.mjs derives
// from the encoder's inputs (not from decoding the strings).
func TestIABVectors(t *testing.T) {
	node := testenv.Node(t)
	core := testenv.Fetched(t, testenv.IABTCFCore)

	cmd := exec.Command(node, "testdata/vectors.mjs", core)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node testdata/vectors.mjs: %v\n%s", err, stderr.Bytes())
	}
	var vectors []vector
	if err := json.Unmarshal(out, &vectors); err != nil {
		t.Fatalf("parsing vectors: %v", err)
	}
	if len(vectors) < 50 {
		t.Fatalf("got %d vectors, want at least 50", len(vectors))
	}
	seen := make(map[string]bool, len(vectors))
	for _, v := range vectors {
		if seen[v.Name] {
			t.Fatalf("duplicate vector name %q", v.Name)
		}
		seen[v.Name] = true
		t.Run(v.Name, func(t *testing.T) {
			rules := tcf.Rules{
				VendorID:          v.Rules.VendorID,
				PublisherPurposes: v.Rules.PublisherPurposes,
				Purposes:          v.Rules.Purposes,
				MinPolicyVersion:  v.Rules.MinPolicyVersion,
			}
			want := tcf.Result{
				Invalid:     v.Want.Invalid,
				Storage:     v.Want.Storage,
				Measurement: v.Want.Measurement,
				Basis:       v.Want.Basis,
			}
			if got := tcf.Evaluate(v.TCString, rules); got != want {
				t.Errorf("Evaluate(%q, %+v)\n got %+v\nwant %+v", v.TCString, rules, got, want)
			}
		})
	}
}
