package deploy

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/webjourney/webjourney/test/estest"
)

// ociArchive is an OCI image layout read from a tar file.
type ociArchive struct {
	t     *testing.T
	files map[string][]byte
}

// archives caches the files of each archive read: the tests share them.
var archives sync.Map // path -> map[string][]byte

func readOCIArchive(t *testing.T, path string) *ociArchive {
	t.Helper()
	if files, ok := archives.Load(path); ok {
		return &ociArchive{t: t, files: files.(map[string][]byte)}
	}
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	a := &ociArchive{t: t, files: map[string][]byte{}}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			archives.Store(path, a.files)
			return a
		}
		require.NoError(t, err)
		if h.Typeflag == tar.TypeReg {
			a.files[h.Name], err = io.ReadAll(tr)
			require.NoError(t, err)
		}
	}
}

type descriptor struct {
	MediaType   string            `json:"mediaType"`
	Digest      string            `json:"digest"`
	Size        int64             `json:"size"`
	Annotations map[string]string `json:"annotations"`
	Platform    *struct {
		OS           string `json:"os"`
		Architecture string `json:"architecture"`
	} `json:"platform"`
}

// blob returns a blob by digest, checking the digest.
func (a *ociArchive) blob(d descriptor) []byte {
	a.t.Helper()
	algo, hexsum, _ := strings.Cut(d.Digest, ":")
	require.Equal(a.t, "sha256", algo)
	data, ok := a.files["blobs/sha256/"+hexsum]
	require.True(a.t, ok, "blob %s missing", d.Digest)
	sum := sha256.Sum256(data)
	require.Equal(a.t, hexsum, hex.EncodeToString(sum[:]), "blob %s is corrupt", d.Digest)
	require.EqualValues(a.t, d.Size, len(data))
	return data
}

func (a *ociArchive) json(data []byte, v any) {
	a.t.Helper()
	require.NoError(a.t, json.Unmarshal(data, v))
}

// imageConfig is the part of the OCI image config the tests read.
type imageConfig struct {
	Architecture string `json:"architecture"`
	OS           string `json:"os"`
	Config       struct {
		User         string              `json:"User"`
		Entrypoint   []string            `json:"Entrypoint"`
		Cmd          []string            `json:"Cmd"`
		Env          []string            `json:"Env"`
		ExposedPorts map[string]struct{} `json:"ExposedPorts"`
		Volumes      map[string]struct{} `json:"Volumes"`
		Labels       map[string]string   `json:"Labels"`
	} `json:"config"`
}

// image returns the config and layers of the archive's image for one
// architecture, checking the layout on the way: index.json names the
// multi-platform index with the version as ref name.
func (a *ociArchive) image(arch string) (imageConfig, [][]byte) {
	a.t.Helper()
	assert.JSONEq(a.t, `{"imageLayoutVersion":"1.0.0"}`, string(a.files["oci-layout"]))
	var top struct{ Manifests []descriptor }
	a.json(a.files["index.json"], &top)
	require.Len(a.t, top.Manifests, 1)
	require.Equal(a.t, "application/vnd.oci.image.index.v1+json", top.Manifests[0].MediaType)
	assert.Equal(a.t, version(a.t), top.Manifests[0].Annotations["org.opencontainers.image.ref.name"])
	var index struct{ Manifests []descriptor }
	a.json(a.blob(top.Manifests[0]), &index)
	var platforms []string
	var found *descriptor
	for i, m := range index.Manifests {
		require.NotNil(a.t, m.Platform)
		platforms = append(platforms, m.Platform.OS+"/"+m.Platform.Architecture)
		if m.Platform.Architecture == arch {
			found = &index.Manifests[i]
		}
	}
	require.NotNil(a.t, found, "no linux/%s image (has %v)", arch, platforms)
	require.Equal(a.t, "application/vnd.oci.image.manifest.v1+json", found.MediaType)
	var manifest struct {
		Config descriptor
		Layers []descriptor
	}
	a.json(a.blob(*found), &manifest)
	var cfg imageConfig
	a.json(a.blob(manifest.Config), &cfg)
	var layers [][]byte
	for _, l := range manifest.Layers {
		require.Equal(a.t, "application/vnd.oci.image.layer.v1.tar+gzip", l.MediaType)
		zr, err := gzip.NewReader(bytes.NewReader(a.blob(l)))
		require.NoError(a.t, err)
		data, err := io.ReadAll(zr)
		require.NoError(a.t, err)
		layers = append(layers, data)
	}
	return cfg, layers
}

// The image for this machine's architecture: from scratch, the two static
// binaries, the production config, CA certificates and time zones, run as
// an unprivileged user with the state directory as a volume.
func TestOCIImage(t *testing.T) {
	a := readOCIArchive(t, artefact(t, "otelcol-webjourney_"+version(t)+"_oci.tar"))
	cfg, layers := a.image(runtime.GOARCH)
	assert.Equal(t, "linux", cfg.OS)
	assert.Equal(t, runtime.GOARCH, cfg.Architecture)
	c := cfg.Config
	assert.Equal(t, "10001:10001", c.User)
	assert.Equal(t, []string{"/otelcol-webjourney"}, c.Entrypoint)
	assert.Equal(t, []string{"--config=/etc/otelcol-webjourney/config.yaml"}, c.Cmd)
	for _, e := range []string{"WEBJOURNEY_LISTEN=0.0.0.0:8090", "WEBJOURNEY_HEALTH=0.0.0.0:13133", "WEBJOURNEY_METRICS_HOST=0.0.0.0",
		"WEBJOURNEY_STATE_DIR=/var/lib/otelcol-webjourney", "CREDENTIALS_DIRECTORY=/run/secrets/otelcol-webjourney"} {
		assert.Contains(t, c.Env, e)
	}
	assert.Equal(t, map[string]struct{}{"8090/tcp": {}, "13133/tcp": {}, "8888/tcp": {}}, c.ExposedPorts)
	assert.Equal(t, map[string]struct{}{"/var/lib/otelcol-webjourney": {}}, c.Volumes)
	assert.Equal(t, version(t), c.Labels["org.opencontainers.image.version"])

	require.Len(t, layers, 1)
	tree := readTree(t, bytes.NewReader(layers[0]))
	var names []string
	for n, e := range tree {
		if e.mode.IsRegular() {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	assert.Equal(t, []string{
		"etc/group", "etc/otelcol-webjourney/config.yaml", "etc/passwd", "etc/ssl/certs/ca-certificates.crt",
		"otelcol-webjourney", "usr/share/zoneinfo.zip", "webjourneyctl",
	}, names)
	production, err := os.ReadFile(repo("config/production.yaml"))
	require.NoError(t, err)
	assert.Equal(t, string(production), string(tree["etc/otelcol-webjourney/config.yaml"].data))
	built, err := os.ReadFile(artefact(t, "linux_"+runtime.GOARCH+"/otelcol-webjourney"))
	require.NoError(t, err)
	assert.True(t, slices.Equal(built, tree["otelcol-webjourney"].data), "the image's collector is not dist/linux_%s/otelcol-webjourney", runtime.GOARCH)
	assert.Equal(t, "-rwxr-xr-x", tree["otelcol-webjourney"].mode.String())
	assert.Equal(t, "drwxr-x---", tree["var/lib/otelcol-webjourney"].mode.String())
	assert.Equal(t, "10001:10001", tree["var/lib/otelcol-webjourney"].owner)
	assert.Contains(t, string(tree["etc/passwd"].data), "otelcol-webjourney:x:10001:10001:")
	assert.Contains(t, string(tree["etc/ssl/certs/ca-certificates.crt"].data), "-----BEGIN CERTIFICATE-----")
}

// The image runs: its filesystem unpacked as a container runtime would,
// the entrypoint started as the image's user in a chroot with the image's
// environment, a read-only root, the state volume and a mounted secret; it
// becomes healthy and a hit lands in Elasticsearch. (podman cannot run containers in this sandbox, see
// docs/deploy.md; this is what it would do.)
func TestOCIImageRuns(t *testing.T) {
	needRoot(t)
	tool(t, "unshare")
	esURL := estest.URL(t)
	a := readOCIArchive(t, artefact(t, "otelcol-webjourney_"+version(t)+"_oci.tar"))
	cfg, layers := a.image(runtime.GOARCH)
	rootfs := filepath.Join(t.TempDir(), "rootfs")
	unpack(t, layers[0], rootfs)
	// What the runtime provides: /proc, /sys, /dev, and the Secret mounted
	// at $CREDENTIALS_DIRECTORY.
	for _, d := range []string{"proc", "sys", "dev"} {
		require.NoError(t, os.Mkdir(filepath.Join(rootfs, d), 0o755))
	}
	secrets := filepath.Join(rootfs, "run/secrets/otelcol-webjourney")
	for name, content := range map[string]string{"anonymizer.secret": strings.Repeat("5a", 32), "elasticsearch.password": "", "elasticsearch.api_key": ""} {
		require.NoError(t, os.WriteFile(filepath.Join(secrets, name), []byte(content), 0o644))
	}

	health, listen := freePort(t), freePort(t)
	prefix := estest.UniquePrefix(t)
	t.Cleanup(func() { deleteIndices(t, esURL, prefix) })
	env := append(slices.Clone(cfg.Config.Env),
		"ELASTICSEARCH_URL="+esURL, "WEBJOURNEY_INDEX_PREFIX="+prefix, "WEBJOURNEY_SITE=imagetest",
		fmt.Sprintf("WEBJOURNEY_LISTEN=127.0.0.1:%d", listen), fmt.Sprintf("WEBJOURNEY_HEALTH=127.0.0.1:%d", health),
		fmt.Sprintf("WEBJOURNEY_METRICS_PORT=%d", freePort(t)))
	// A read-only root file system, as `podman run --read-only` or
	// readOnlyRootFilesystem in Kubernetes, with the state volume on it.
	state := filepath.Join(t.TempDir(), "state")
	require.NoError(t, os.Mkdir(state, 0o750))
	require.NoError(t, os.Chown(state, 10001, 10001))
	const script = `set -e
root=$1 state=$2 user=$3; shift 3
mount --bind "$root" "$root"
mount -t proc proc "$root/proc"
mount --rbind /sys "$root/sys"
mount --rbind /dev "$root/dev"
mount --bind "$state" "$root/var/lib/otelcol-webjourney"
mount -o remount,bind,ro "$root"
exec chroot --userspec="$user" "$root" "$@"`
	// The image has no shell: the environment goes to the entrypoint
	// through sh and chroot (PATH is theirs).
	args := append([]string{"--mount", "--propagation", "private", "sh", "-c", script, "sh", rootfs, state, cfg.Config.User}, cfg.Config.Entrypoint...)
	cmd := exec.Command("unshare", append(args, cfg.Config.Cmd...)...)
	cmd.Env = append(env, "PATH=/usr/sbin:/usr/bin:/sbin:/bin")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())
	s := &service{cmd: cmd, output: &out, done: make(chan error, 1)}
	go func() { s.done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		if t.Failed() {
			t.Logf("collector output:\n%s", out.String())
		}
	})
	waitHealthy(t, health, s)

	hitURL := "https://shop.example/from-the-image"
	req, err := http.NewRequest(http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d/p.gif?", listen)+
		url.Values{"s": {"imagetest"}, "url": {hitURL}}.Encode(), http.NoBody)
	require.NoError(t, err)
	req.Header.Set("User-Agent", browserUA)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "imagetest", waitForEvent(t, esURL, prefix, hitURL)["webjourney.site.id"])
	s.stop(t)
	// The state volume holds file_storage's files, owned by the image's user.
	entries, err := os.ReadDir(state)
	require.NoError(t, err)
	require.NotEmpty(t, entries)
	for _, e := range entries {
		info, err := e.Info()
		require.NoError(t, err)
		assert.EqualValues(t, 10001, info.Sys().(*syscall.Stat_t).Uid, e.Name())
	}
}

// unpack extracts a layer tar into dir with its modes and owners.
func unpack(t *testing.T, layer []byte, dir string) {
	t.Helper()
	tr := tar.NewReader(bytes.NewReader(layer))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return
		}
		require.NoError(t, err)
		p := filepath.Join(dir, filepath.Clean("/"+h.Name))
		switch h.Typeflag {
		case tar.TypeDir:
			require.NoError(t, os.MkdirAll(p, 0o755))
		case tar.TypeReg:
			require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
			data, err := io.ReadAll(tr)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(p, data, 0o600))
		default:
			t.Fatalf("%s: unexpected entry type %c", h.Name, h.Typeflag)
		}
		require.NoError(t, os.Lchown(p, h.Uid, h.Gid))
		require.NoError(t, os.Chmod(p, h.FileInfo().Mode()))
	}
}
