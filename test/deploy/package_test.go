package deploy

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// wantTree is what the .deb installs and the tarball holds: the
// otelcol-contrib layout, plus Debian's documentation files. Everything is
// owned by root; the state directory and secrets are made at install time.
func wantTree() map[string]string {
	return map[string]string{
		"etc":                                "drwxr-xr-x",
		"etc/otelcol-webjourney":             "drwxr-xr-x",
		"etc/otelcol-webjourney/config.yaml": "-rw-r--r--",
		"etc/otelcol-webjourney/otelcol-webjourney.conf": "-rw-r--r--",
		"lib":                "drwxr-xr-x",
		"lib/systemd":        "drwxr-xr-x",
		"lib/systemd/system": "drwxr-xr-x",
		"lib/systemd/system/otelcol-webjourney.service": "-rw-r--r--",
		"usr":                              "drwxr-xr-x",
		"usr/bin":                          "drwxr-xr-x",
		"usr/bin/otelcol-webjourney":       "-rwxr-xr-x",
		"usr/bin/webjourneyctl":            "-rwxr-xr-x",
		"usr/share":                        "drwxr-xr-x",
		"usr/share/doc":                    "drwxr-xr-x",
		"usr/share/doc/otelcol-webjourney": "drwxr-xr-x",
		"usr/share/doc/otelcol-webjourney/changelog.Debian.gz": "-rw-r--r--",
		"usr/share/doc/otelcol-webjourney/copyright":           "-rw-r--r--",
		"usr/share/lintian":                              "drwxr-xr-x",
		"usr/share/lintian/overrides":                    "drwxr-xr-x",
		"usr/share/lintian/overrides/otelcol-webjourney": "-rw-r--r--",
	}
}

// shipped maps installed files to their source in this checkout.
var shipped = map[string]string{
	"etc/otelcol-webjourney/config.yaml":             "config/production.yaml",
	"etc/otelcol-webjourney/otelcol-webjourney.conf": "deploy/systemd/otelcol-webjourney.conf",
	"lib/systemd/system/otelcol-webjourney.service":  "deploy/systemd/otelcol-webjourney.service",
	"usr/share/doc/otelcol-webjourney/copyright":     "packaging/copyright",
}

func modes(tree map[string]entry) map[string]string {
	out := map[string]string{}
	for name, e := range tree {
		out[name] = e.mode.String()
	}
	return out
}

// The .deb holds exactly the expected tree, owned by root, with the files
// of this checkout, and the tarball is the same tree.
func TestDebAndTarballTree(t *testing.T) {
	deb := debTree(t, artefact(t, debName(t)))
	assert.Equal(t, wantTree(), modes(deb))
	for name, e := range deb {
		assert.Equal(t, "0:0", e.owner, name)
	}
	for installed, src := range shipped {
		want, err := os.ReadFile(repo(src))
		require.NoError(t, err)
		assert.Equal(t, string(want), string(deb[installed].data), "%s is not %s", installed, src)
	}
	built, err := os.ReadFile(artefact(t, "linux_"+runtime.GOARCH+"/otelcol-webjourney"))
	require.NoError(t, err)
	assert.True(t, slices.Equal(built, deb["usr/bin/otelcol-webjourney"].data), "the packaged collector is not dist/linux_%s/otelcol-webjourney", runtime.GOARCH)

	tarball := tarballTree(t, artefact(t, tarballName(t)))
	assert.Equal(t, modes(deb), modes(tarball), "the tarball's tree differs from the .deb's")
	for name, e := range deb {
		assert.Equal(t, e.owner, tarball[name].owner, name)
		assert.True(t, slices.Equal(e.data, tarball[name].data), "%s differs between the .deb and the tarball", name)
	}
}

// The control data: name, version, architecture, the two conffiles, and the
// maintainer scripts from packaging/scripts.
func TestDebControl(t *testing.T) {
	deb := artefact(t, debName(t))
	dpkgDeb := tool(t, "dpkg-deb")
	fields := output(t, dpkgDeb, "--field", deb, "Package", "Version", "Architecture", "Section", "Priority", "Maintainer")
	assert.Equal(t, []string{
		"Package: otelcol-webjourney",
		"Version: " + version(t) + "-1",
		"Architecture: " + runtime.GOARCH,
		"Section: net",
		"Priority: optional",
		"Maintainer: webjourney developers <dev@webjourney.example>",
	}, lines(fields))
	assert.Contains(t, output(t, dpkgDeb, "--field", deb, "Description"), "first-party web-journey analytics")
	assert.Equal(t, []string{"/etc/otelcol-webjourney/config.yaml", "/etc/otelcol-webjourney/otelcol-webjourney.conf"},
		lines(output(t, dpkgDeb, "--info", deb, "conffiles")))
	for control, script := range map[string]string{"preinst": "preinstall.sh", "postinst": "postinstall.sh", "prerm": "preremove.sh", "postrm": "postremove.sh"} {
		want, err := os.ReadFile(repo("packaging/scripts/" + script))
		require.NoError(t, err)
		assert.Equal(t, string(want), output(t, dpkgDeb, "--info", deb, control), control)
	}
}

// lintian, Debian's package checker, finds no error.
func TestDebLintian(t *testing.T) {
	t.Parallel() // the slowest check: let the others run meanwhile
	deb := artefact(t, debName(t))
	out, err := exec.Command(tool(t, "lintian"), "--fail-on", "error", deb).CombinedOutput()
	require.NoError(t, err, "lintian:\n%s", out)
	assert.NotContains(t, string(out), "\nE: ")
	assert.False(t, strings.HasPrefix(string(out), "E: "), "%s", out)
}

// The .rpm holds the same files (less Debian's own), marks both files in
// /etc as config(noreplace), and runs the same scripts.
func TestRPM(t *testing.T) {
	rpmFile := artefact(t, rpmName(t))
	rpm := tool(t, "rpm")
	assert.Equal(t, "otelcol-webjourney "+version(t)+" 1 "+map[string]string{"amd64": "x86_64", "arm64": "aarch64"}[runtime.GOARCH],
		output(t, rpm, "-qp", "--queryformat", "%{NAME} %{VERSION} %{RELEASE} %{ARCH}", rpmFile))
	var files []string
	for name, mode := range wantTree() {
		if mode[0] == '-' && !strings.Contains(name, "lintian") && !strings.HasSuffix(name, "changelog.Debian.gz") {
			files = append(files, "/"+name)
		}
	}
	slices.Sort(files)
	assert.Equal(t, files, lines(output(t, rpm, "-qpl", rpmFile)))
	flags := lines(output(t, rpm, "-qp", "--queryformat", "[%{FILEFLAGS:fflags} %{FILEMODES:perms} %{FILEUSERNAME} %{FILENAMES}\n]", rpmFile))
	assert.Contains(t, flags, "cn -rw-r--r-- root /etc/otelcol-webjourney/config.yaml")
	assert.Contains(t, flags, "cn -rw-r--r-- root /etc/otelcol-webjourney/otelcol-webjourney.conf")
	assert.Contains(t, flags, "-rwxr-xr-x root /usr/bin/otelcol-webjourney")
	scripts := output(t, rpm, "-qp", "--scripts", rpmFile)
	for _, s := range []string{"preinstall.sh", "postinstall.sh", "preremove.sh", "postremove.sh"} {
		want, err := os.ReadFile(repo("packaging/scripts/" + s))
		require.NoError(t, err)
		assert.Contains(t, scripts, strings.TrimSpace(string(want)), s)
	}
}

// --version says the package version, the commit and when it was made.
func TestBinaryVersions(t *testing.T) {
	v := regexp.QuoteMeta(version(t))
	out := output(t, artefact(t, "linux_"+runtime.GOARCH+"/otelcol-webjourney"), "--version")
	assert.Regexp(t, `^otelcol-webjourney version `+v+`\+[0-9a-f]{12}(-dirty)?\.\d{8}T\d{6}Z\n$`, out)
	out = output(t, artefact(t, "linux_"+runtime.GOARCH+"/webjourneyctl"), "--version")
	assert.Regexp(t, `^webjourneyctl version `+v+` \(commit [0-9a-f]{12}(-dirty)?, built \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ, go\S+ linux/`+runtime.GOARCH+`\)\n$`, out)
}

// SHA256SUMS covers every artefact and matches it.
func TestSHA256SUMS(t *testing.T) {
	sums := artefact(t, "SHA256SUMS")
	data, err := os.ReadFile(sums)
	require.NoError(t, err)
	listed := map[string]bool{}
	for _, l := range lines(string(data)) {
		sum, name, ok := strings.Cut(l, "  ")
		require.True(t, ok, "line %q", l)
		f, err := os.ReadFile(filepath.Join(filepath.Dir(sums), name))
		require.NoError(t, err)
		got := sha256.Sum256(f)
		assert.Equal(t, sum, hex.EncodeToString(got[:]), name)
		listed[name] = true
	}
	v := version(t)
	for _, name := range []string{
		debName(t), rpmName(t), tarballName(t),
		"otelcol-webjourney_" + v + "_oci.tar",
		"otelcol-webjourney_" + v + ".cdx.json", "webjourneyctl_" + v + ".cdx.json",
		"linux_" + runtime.GOARCH + "/otelcol-webjourney", "linux_" + runtime.GOARCH + "/webjourneyctl",
	} {
		assert.True(t, listed[name], "%s is not in SHA256SUMS (has %v)", name, slices.Sorted(maps.Keys(listed)))
	}
}

// The SBOMs are CycloneDX documents listing the Go modules in each binary.
func TestSBOM(t *testing.T) {
	for bin, wantModules := range map[string][]string{
		"otelcol-webjourney": {"go.opentelemetry.io/collector/otelcol", "github.com/elastic/go-elasticsearch/v8",
			"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/filestorage"},
		"webjourneyctl": {"github.com/elastic/go-elasticsearch/v8"},
	} {
		data, err := os.ReadFile(artefact(t, bin+"_"+version(t)+".cdx.json"))
		require.NoError(t, err)
		var bom struct {
			BOMFormat   string `json:"bomFormat"`
			SpecVersion string `json:"specVersion"`
			Metadata    struct {
				Component struct {
					Name, Version string
				} `json:"component"`
			} `json:"metadata"`
			Components []struct {
				Name, Version, Purl string
			} `json:"components"`
		}
		require.NoError(t, json.Unmarshal(data, &bom), bin)
		assert.Equal(t, "CycloneDX", bom.BOMFormat, bin)
		assert.NotEmpty(t, bom.SpecVersion, bin)
		assert.Equal(t, "v"+version(t), bom.Metadata.Component.Version, bin)
		names := map[string]string{}
		for _, c := range bom.Components {
			names[c.Name] = c.Version
			assert.True(t, strings.HasPrefix(c.Purl, "pkg:golang/"), "%s: %s has purl %q", bin, c.Name, c.Purl)
		}
		for _, m := range wantModules {
			assert.NotEmpty(t, names[m], "%s: the SBOM does not list %s", bin, m)
		}
	}
}
