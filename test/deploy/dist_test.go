// Package deploy tests the release artefacts of `make dist` (dist/): the
// packages, tarball, SBOMs and container image, installed and run the way a
// site owner would, and the Kubernetes manifests in deploy/kubernetes.
//
// The artefacts come from `make dist` or `make dist-host` (what `make test`
// builds: this machine's architecture only). Without them, or without the
// tools that check them (dpkg-deb, lintian, rpm, systemd-analyze, unshare,
// root), the tests skip; `make test` sets WEBJOURNEY_REQUIRE_DIST=1, which
// turns a skip into a failure.
package deploy

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// Variables `make test` sets.
const (
	envRequire = "WEBJOURNEY_REQUIRE_DIST"
	envDistDir = "WEBJOURNEY_DIST_DIR" // default: dist/ of this checkout
)

// unavailable skips the test, or fails it under WEBJOURNEY_REQUIRE_DIST=1,
// because an artefact or tool it needs is missing.
func unavailable(tb testing.TB, why string) {
	tb.Helper()
	if os.Getenv(envRequire) == "1" {
		tb.Fatal(why)
	}
	tb.Skip(why)
}

// repo returns a path in this checkout.
func repo(rel string) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", rel)
}

// version is dist.version of builder-config.yaml: the packages' version.
func version(tb testing.TB) string {
	tb.Helper()
	data, err := os.ReadFile(repo("builder-config.yaml"))
	if err != nil {
		tb.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^  version: (\S+)$`).FindSubmatch(data)
	if m == nil {
		tb.Fatal("builder-config.yaml: no dist version")
	}
	return string(m[1])
}

// artefact returns the path of a file in dist/, or skips when it is missing.
func artefact(tb testing.TB, name string) string {
	tb.Helper()
	dir := os.Getenv(envDistDir)
	if dir == "" {
		dir = repo("dist")
	}
	p := filepath.Join(dir, name)
	if _, err := os.Stat(p); err != nil {
		unavailable(tb, "release artefact missing ("+err.Error()+"); run make dist-host")
	}
	return p
}

// Names of this machine's artefacts.
func debName(tb testing.TB) string {
	return "otelcol-webjourney_" + version(tb) + "-1_" + runtime.GOARCH + ".deb"
}

func rpmName(tb testing.TB) string {
	arch := map[string]string{"amd64": "x86_64", "arm64": "aarch64"}[runtime.GOARCH]
	return "otelcol-webjourney-" + version(tb) + "-1." + arch + ".rpm"
}

func tarballName(tb testing.TB) string {
	return "otelcol-webjourney_" + version(tb) + "_linux_" + runtime.GOARCH + ".tar.gz"
}

// tool returns the path of a command, or skips when it is not installed.
func tool(tb testing.TB, name string) string {
	tb.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		unavailable(tb, name+" is not installed; scripts/install-deps.sh test installs it")
	}
	return p
}

// needRoot skips unless the test runs as root (installing a package and
// making mount namespaces need it).
func needRoot(tb testing.TB) {
	tb.Helper()
	if os.Geteuid() != 0 {
		unavailable(tb, "needs root (dpkg, mount namespaces)")
	}
}

// output runs a command and returns its standard output; a failure ends the test.
func output(tb testing.TB, name string, args ...string) string {
	tb.Helper()
	cmd := exec.Command(name, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		tb.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, out, stderr.Bytes())
	}
	return string(out)
}

// entry is one file or directory of a package's tree.
type entry struct {
	mode  os.FileMode // type and permission bits
	owner string      // uid:gid
	data  []byte      // regular files only
}

// readTree reads a tar stream into a map from the path (without the leading
// "./" or "/") to its entry.
func readTree(tb testing.TB, r io.Reader) map[string]entry {
	tb.Helper()
	tree := map[string]entry{}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return tree
		}
		if err != nil {
			tb.Fatal(err)
		}
		name := strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(h.Name, "."), "/"), "/")
		if name == "" {
			continue
		}
		e := entry{mode: h.FileInfo().Mode(), owner: strconv.Itoa(h.Uid) + ":" + strconv.Itoa(h.Gid)}
		if h.Typeflag == tar.TypeReg {
			if e.data, err = io.ReadAll(tr); err != nil {
				tb.Fatal(err)
			}
		}
		tree[name] = e
	}
}

// debTree is the tree a .deb installs.
func debTree(tb testing.TB, deb string) map[string]entry {
	tb.Helper()
	return readTree(tb, strings.NewReader(output(tb, tool(tb, "dpkg-deb"), "--fsys-tarfile", deb)))
}

// tarballTree is the tree in a .tar.gz.
func tarballTree(tb testing.TB, path string) map[string]entry {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		tb.Fatal(err)
	}
	return readTree(tb, zr)
}

// lines splits command output into non-empty lines.
func lines(s string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			out = append(out, l)
		}
	}
	return out
}
