package main

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/webjourney/webjourney/internal/sealed"
)

type result struct {
	code           int
	stdout, stderr string
}

func runCmd(stdin string, args ...string) result {
	var out, errOut bytes.Buffer
	code := run(args, strings.NewReader(stdin), &out, &errOut)
	return result{code, out.String(), errOut.String()}
}

func TestUsage(t *testing.T) {
	r := runCmd("")
	assert.Equal(t, 2, r.code)
	assert.Contains(t, r.stderr, "Usage: webjourneyctl COMMAND")
	assert.Contains(t, r.stderr, "decrypt")
	assert.Contains(t, r.stderr, "keygen")

	for _, h := range []string{"help", "-h", "--help"} {
		r = runCmd("", h)
		assert.Equal(t, 0, r.code)
		assert.Contains(t, r.stdout, "Usage: webjourneyctl COMMAND")
	}
	r = runCmd("", "help", "decrypt")
	assert.Equal(t, 0, r.code)
	assert.Contains(t, r.stdout, "--key-file KEYID=PATH")
	r = runCmd("", "decrypt", "-h")
	assert.Equal(t, 0, r.code)
	assert.Contains(t, r.stderr, "--key-file KEYID=PATH")

	r = runCmd("", "frobnicate")
	assert.Equal(t, 2, r.code)
	assert.Contains(t, r.stderr, `unknown command "frobnicate"`)
	r = runCmd("", "help", "frobnicate")
	assert.Equal(t, 2, r.code)
}

func TestKeygen(t *testing.T) {
	r := runCmd("", "keygen")
	require.Equal(t, 0, r.code, r.stderr)
	line := strings.TrimSuffix(r.stdout, "\n")
	assert.Len(t, line, 64)
	b, err := hex.DecodeString(line)
	require.NoError(t, err)
	assert.Len(t, b, 32)
	k, err := sealed.ParseKey(r.stdout)
	require.NoError(t, err)
	assert.Equal(t, b, k)
	assert.NotEqual(t, r.stdout, runCmd("", "keygen").stdout)

	r = runCmd("", "keygen", "extra")
	assert.Equal(t, 2, r.code)
	assert.Contains(t, r.stderr, `unexpected argument "extra"`)
}

type fixture struct {
	dir              string
	k1, k2           []byte
	k1File, k2File   string
	sealer1, sealer2 *sealed.Sealer
}

func newFixture(t *testing.T) *fixture {
	f := &fixture{dir: t.TempDir(), k1: bytes.Repeat([]byte{1}, 32), k2: bytes.Repeat([]byte{2}, 32)}
	f.k1File = filepath.Join(f.dir, "k1.key")
	f.k2File = filepath.Join(f.dir, "k2.key")
	require.NoError(t, os.WriteFile(f.k1File, []byte(hex.EncodeToString(f.k1)+"\n"), 0o600))
	require.NoError(t, os.WriteFile(f.k2File, []byte(base64.StdEncoding.EncodeToString(f.k2)+"\n"), 0o600))
	var err error
	f.sealer1, err = sealed.New("k1", map[string][]byte{"k1": f.k1})
	require.NoError(t, err)
	f.sealer2, err = sealed.New("k2", map[string][]byte{"k2": f.k2})
	require.NoError(t, err)
	return f
}

func TestDecryptArguments(t *testing.T) {
	f := newFixture(t)
	ad := sealed.AssociatedData("shop", "user.email")
	a := f.sealer1.Seal("jane@example.com", ad)
	b := f.sealer2.Seal("joe@example.org", ad)
	r := runCmd("", "decrypt", "--key-file", "k1="+f.k1File, "--key-file", "k2="+f.k2File,
		"--site", "shop", "--attribute", "user.email", a, b)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "jane@example.com\njoe@example.org\n", r.stdout)
	assert.Empty(t, r.stderr)
	// Single-dash flags and = syntax work as well.
	r = runCmd("", "decrypt", "-key-file=k1="+f.k1File, "-site=shop", "-attribute=user.email", a)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "jane@example.com\n", r.stdout)
}

func TestDecryptStdinWithFailures(t *testing.T) {
	f := newFixture(t)
	ad := sealed.AssociatedData("shop", "user.email")
	good1 := f.sealer1.Seal("jane@example.com", ad)
	otherSite := f.sealer1.Seal("x", sealed.AssociatedData("blog", "user.email"))
	wrongKey := f.sealer2.Seal("y", ad) // k2 not given
	tampered := good1[:len(good1)-3] + "AAA"
	if tampered == good1 {
		tampered = good1[:len(good1)-3] + "BBB"
	}
	good2 := f.sealer1.Seal("", ad)
	stdin := strings.Join([]string{good1, otherSite, "", wrongKey, tampered, "plain text", good2 + "\r"}, "\n") + "\n"

	r := runCmd(stdin, "decrypt", "--key-file", "k1="+f.k1File, "--site", "shop", "--attribute", "user.email")
	assert.Equal(t, 1, r.code)
	// One output line per non-blank input line; failures are empty lines.
	assert.Equal(t, "jane@example.com\n\n\n\n\n\n", r.stdout)
	assert.Contains(t, r.stderr, "line 2: authentication failed")
	assert.NotContains(t, r.stderr, "line 3")
	assert.Contains(t, r.stderr, `line 4: sealed with a key that is not given: "k2"`)
	assert.Contains(t, r.stderr, "line 5: authentication failed")
	assert.Contains(t, r.stderr, "line 6: not a sealed value")
	assert.NotContains(t, r.stderr, "line 7")
	assert.Contains(t, r.stderr, "4 value(s) could not be opened")
}

func TestDecryptKeyEnv(t *testing.T) {
	f := newFixture(t)
	t.Setenv("WJ_TEST_KEY", base64.RawURLEncoding.EncodeToString(f.k1))
	v := f.sealer1.Seal("secret", sealed.AssociatedData("shop", "phone"))
	r := runCmd("", "decrypt", "--key-env", "k1=WJ_TEST_KEY", "--site", "shop", "--attribute", "phone", v)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "secret\n", r.stdout)

	// The wrong attribute fails.
	r = runCmd("", "decrypt", "--key-env", "k1=WJ_TEST_KEY", "--site", "shop", "--attribute", "email", v)
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "argument 1: authentication failed")
}

func TestDecryptUsageErrors(t *testing.T) {
	f := newFixture(t)
	t.Setenv("WJ_BAD_KEY", "short")
	bad := filepath.Join(f.dir, "bad.key")
	require.NoError(t, os.WriteFile(bad, []byte("c2VjcmV0"), 0o600))
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--site", "s", "--attribute", "a"}, "give at least one key"},
		{[]string{"--key-file", "k1=" + f.k1File, "--attribute", "a"}, "--site is required"},
		{[]string{"--key-file", "k1=" + f.k1File, "--site", "s"}, "--attribute is required"},
		{[]string{"--key-file", "k1", "--site", "s", "--attribute", "a"}, "want KEYID=PATH"},
		{[]string{"--key-file", "K1=x", "--site", "s", "--attribute", "a"}, "must be 1 to 16 characters"},
		{[]string{"--key-file", "k1=" + f.k1File, "--key-file", "k1=" + f.k2File, "--site", "s", "--attribute", "a"}, `key "k1" given twice`},
		{[]string{"--key-file", "k1=" + filepath.Join(f.dir, "missing"), "--site", "s", "--attribute", "a"}, "no such file"},
		{[]string{"--key-file", "k1=" + bad, "--site", "s", "--attribute", "a"}, "must be 32 bytes"},
		{[]string{"--key-env", "k1=WJ_UNSET_VARIABLE", "--site", "s", "--attribute", "a"}, "WJ_UNSET_VARIABLE is not set"},
		{[]string{"--key-env", "k1=WJ_BAD_KEY", "--site", "s", "--attribute", "a"}, "64 hex characters or base64"},
		{[]string{"--nope"}, "flag provided but not defined"},
	} {
		r := runCmd("", append([]string{"decrypt"}, tc.args...)...)
		assert.Equal(t, 2, r.code, tc.args)
		assert.Contains(t, r.stderr, tc.want, tc.args)
		assert.Empty(t, r.stdout)
		assert.NotContains(t, r.stderr, "c2VjcmV0", "key material must not be echoed")
	}
}
