package configdoctor

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Anonymizer is what webjourneyctl subject needs of an anonymizer
// processor's configuration to derive the pseudonyms it stores.
type Anonymizer struct {
	// Key is the processor's key, "processors::anonymizer/x", for messages.
	Key string
	// SecretEnv or SecretFile is where the master secret is (secret::env,
	// secret::file).
	SecretEnv, SecretFile string
	// KeyID and PseudonymBytes are key_id and pseudonym_bytes; 0 and ""
	// when not set (the processor's defaults apply).
	KeyID          string
	PseudonymBytes int
}

// Anonymizer returns the settings of the configuration's anonymizer
// processor named name ("anonymizer" or "anonymizer/<name>"), or of its
// only one when name is empty. Its errors name the key.
func (c *Config) Anonymizer(name string) (*Anonymizer, error) {
	procs, _ := c.Resolved["processors"].(map[string]any)
	var ids []string
	for id := range procs {
		if id == typeAnonymizer || strings.HasPrefix(id, typeAnonymizer+"/") {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	switch {
	case name != "" && !slices.Contains(ids, name):
		return nil, fmt.Errorf("no processor %q in the configuration (its anonymizer processors: %s)", name, strings.Join(ids, ", "))
	case name == "" && len(ids) == 0:
		return nil, errors.New("no anonymizer processor in the configuration")
	case name == "" && len(ids) > 1:
		return nil, fmt.Errorf("several anonymizer processors (%s): name one", strings.Join(ids, ", "))
	case name == "":
		name = ids[0]
	}
	cfg, _ := procs[name].(map[string]any)
	a := &Anonymizer{Key: "processors::" + name, SecretEnv: str(get(cfg, "secret", "env")), SecretFile: str(get(cfg, "secret", "file"))}
	if (a.SecretEnv == "") == (a.SecretFile == "") {
		return nil, fmt.Errorf("%s::secret: set exactly one of env or file", a.Key)
	}
	if v, ok := cfg["key_id"]; ok {
		if a.KeyID, ok = v.(string); !ok {
			return nil, fmt.Errorf("%s::key_id: not a string", a.Key)
		}
	}
	if v, ok := cfg["pseudonym_bytes"]; ok {
		if a.PseudonymBytes, ok = integer(v); !ok {
			return nil, fmt.Errorf("%s::pseudonym_bytes: not a whole number", a.Key)
		}
	}
	return a, nil
}
