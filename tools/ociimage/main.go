// Command ociimage builds the otelcol-webjourney container image without a
// container engine: one image per platform from scratch, holding the
// distribution's two static binaries, the production config, CA
// certificates, time zones and a non-root user, written as a multi-platform
// OCI image layout in a tar file (an "oci-archive": `podman load -i`,
// `skopeo copy oci-archive:FILE docker://REGISTRY/...`).
//
// Usage:
//
//	ociimage --out FILE --version V --created RFC3339 --config production.yaml \
//	  --ca-certs /etc/ssl/certs/ca-certificates.crt --zoneinfo $(go env GOROOT)/lib/time/zoneinfo.zip \
//	  --platform linux/amd64=dist/linux_amd64 [--platform linux/arm64=dist/linux_arm64]
//
// Each --platform directory holds otelcol-webjourney and webjourneyctl built
// for that platform. The output is byte-for-byte reproducible from the same
// inputs: every time stamp is --created.
package main

import (
	"archive/tar"
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The image's fixed facts; docs/deploy.md ("Container") documents them.
const (
	uid        = 10001
	user       = "otelcol-webjourney"
	stateDir   = "/var/lib/otelcol-webjourney"
	secretsDir = "/run/secrets/otelcol-webjourney"
	configPath = "/etc/otelcol-webjourney/config.yaml"
	zoneinfo   = "/usr/share/zoneinfo.zip"
)

// env is the image's environment: the production config's settings for a
// container (listen on every interface, the state volume, secrets from a
// mounted Secret), and time zones for the static binary.
var env = []string{
	"WEBJOURNEY_LISTEN=0.0.0.0:8090",
	"WEBJOURNEY_HEALTH=0.0.0.0:13133",
	"WEBJOURNEY_METRICS_HOST=0.0.0.0",
	"WEBJOURNEY_STATE_DIR=" + stateDir,
	"CREDENTIALS_DIRECTORY=" + secretsDir,
	"ZONEINFO=" + zoneinfo,
}

type platformFlag map[string]string

func (p platformFlag) String() string { return fmt.Sprint(map[string]string(p)) }
func (p platformFlag) Set(v string) error {
	plat, dir, ok := strings.Cut(v, "=")
	if !ok || !strings.HasPrefix(plat, "linux/") {
		return fmt.Errorf("want linux/ARCH=DIR, got %q", v)
	}
	p[plat] = dir
	return nil
}

func main() {
	platforms := platformFlag{}
	out := flag.String("out", "", "output oci-archive tar file")
	version := flag.String("version", "", "image version (org.opencontainers.image.version and the ref name)")
	revision := flag.String("revision", "", "source commit (org.opencontainers.image.revision)")
	created := flag.String("created", "", "creation time, RFC 3339 (use the commit time for reproducible images)")
	config := flag.String("config", "", "collector config to install as "+configPath)
	caCerts := flag.String("ca-certs", "/etc/ssl/certs/ca-certificates.crt", "CA bundle for TLS to Elasticsearch")
	zoneinfoZip := flag.String("zoneinfo", "", "Go's zoneinfo.zip (time zones for attribution's midnight splits)")
	flag.Var(platforms, "platform", "linux/ARCH=DIR with the binaries for that platform (repeatable)")
	flag.Parse()
	if *out == "" || *version == "" || *created == "" || *config == "" || *zoneinfoZip == "" || len(platforms) == 0 {
		flag.Usage()
		os.Exit(2)
	}
	t, err := time.Parse(time.RFC3339, *created)
	if err == nil {
		err = build(*out, *version, *revision, t, *config, *caCerts, *zoneinfoZip, platforms)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "ociimage:", err)
		os.Exit(1)
	}
}

func build(out, version, revision string, created time.Time, config, caCerts, zoneinfoZip string, platforms platformFlag) error {
	shared := []file{
		{name: "etc/passwd", mode: 0o644, data: []byte(fmt.Sprintf("root:x:0:0:root:/root:/sbin/nologin\n%s:x:%d:%d::%s:/sbin/nologin\n", user, uid, uid, stateDir))},
		{name: "etc/group", mode: 0o644, data: []byte(fmt.Sprintf("root:x:0:\n%s:x:%d:\n", user, uid))},
		{name: "tmp/", mode: 0o1777},
		{name: strings.TrimPrefix(stateDir, "/") + "/", mode: 0o750, uid: uid},
		{name: strings.TrimPrefix(secretsDir, "/") + "/", mode: 0o755},
	}
	for _, f := range []struct{ dst, src string }{{configPath, config}, {"/etc/ssl/certs/ca-certificates.crt", caCerts}, {zoneinfo, zoneinfoZip}} {
		data, err := os.ReadFile(f.src)
		if err != nil {
			return err
		}
		shared = append(shared, file{name: strings.TrimPrefix(f.dst, "/"), mode: 0o644, data: data})
	}

	names := make([]string, 0, len(platforms))
	for p := range platforms {
		names = append(names, p)
	}
	sort.Strings(names)
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, p := range names {
		files := append([]file(nil), shared...)
		for _, bin := range []string{"otelcol-webjourney", "webjourneyctl"} {
			data, err := os.ReadFile(filepath.Join(platforms[p], bin))
			if err != nil {
				return err
			}
			files = append(files, file{name: bin, mode: 0o755, data: data})
		}
		img, err := image(files, strings.TrimPrefix(p, "linux/"), version, revision, created)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add:        img,
			Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: strings.TrimPrefix(p, "linux/")}},
		})
	}

	dir, err := os.MkdirTemp("", "ociimage")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	lp, err := layout.Write(dir, empty.Index)
	if err != nil {
		return err
	}
	if err := lp.AppendIndex(idx, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": version})); err != nil {
		return err
	}
	return tarDir(out, dir, created)
}

// image makes one platform's image: a single layer with files, and the
// config that runs the collector as the unprivileged user.
func image(files []file, arch, version, revision string, created time.Time) (v1.Image, error) {
	layerTar, err := tarFiles(files, created)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, err
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.Append(img, mutate.Addendum{Layer: layer, History: v1.History{Created: v1.Time{Time: created}, CreatedBy: "ociimage (tools/ociimage)"}})
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", arch
	cf.Created = v1.Time{Time: created}
	cf.Config = v1.Config{
		User:       fmt.Sprintf("%d:%d", uid, uid),
		Entrypoint: []string{"/otelcol-webjourney"},
		Cmd:        []string{"--config=" + configPath},
		Env:        env,
		WorkingDir: "/",
		ExposedPorts: map[string]struct{}{
			"8090/tcp":  {}, // pixel and beacons
			"13133/tcp": {}, // health_check
			"8888/tcp":  {}, // the collector's Prometheus metrics
		},
		Volumes:    map[string]struct{}{stateDir: {}},
		StopSignal: "SIGTERM",
		Labels: map[string]string{
			"org.opencontainers.image.title":         "otelcol-webjourney",
			"org.opencontainers.image.description":   "OpenTelemetry Collector distribution for first-party web-journey analytics",
			"org.opencontainers.image.version":       version,
			"org.opencontainers.image.revision":      revision,
			"org.opencontainers.image.created":       created.UTC().Format(time.RFC3339),
			"org.opencontainers.image.source":        "https://github.com/webjourney/webjourney",
			"org.opencontainers.image.documentation": "https://github.com/webjourney/webjourney/blob/main/docs/deploy.md",
			// No HEALTHCHECK in OCI images: the orchestrator probes health_check.
			"io.webjourney.healthcheck": "HTTP GET http://:13133/ answers 200 when the collector is ready",
		},
	}
	return mutate.ConfigFile(img, cf)
}

type file struct {
	name string // relative path; a trailing "/" makes a directory
	mode int64
	uid  int
	data []byte
}

// tarFiles writes files, with their parent directories, as a tar with fixed
// time stamps and numeric owners.
func tarFiles(files []file, mtime time.Time) ([]byte, error) {
	dirs := map[string]bool{}
	var all []file
	for _, f := range files {
		for d := filepath.Dir(strings.TrimSuffix(f.name, "/")); d != "."; d = filepath.Dir(d) {
			if !dirs[d+"/"] {
				dirs[d+"/"] = true
				all = append(all, file{name: d + "/", mode: 0o755})
			}
		}
	}
	for _, f := range files {
		if strings.HasSuffix(f.name, "/") && dirs[f.name] {
			// An explicit directory replaces the implied one.
			for i := range all {
				if all[i].name == f.name {
					all[i] = f
				}
			}
			continue
		}
		all = append(all, f)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].name < all[j].name })
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range all {
		h := &tar.Header{Name: f.name, Mode: f.mode, Uid: f.uid, Gid: f.uid, ModTime: mtime, Format: tar.FormatPAX}
		if strings.HasSuffix(f.name, "/") {
			h.Typeflag = tar.TypeDir
		} else {
			h.Typeflag, h.Size = tar.TypeReg, int64(len(f.data))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, err
		}
	}
	return buf.Bytes(), tw.Close()
}

// tarDir writes the OCI layout in dir as the tar file out.
func tarDir(out, dir string, mtime time.Time) error {
	var files []file
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || path == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		if d.IsDir() {
			files = append(files, file{name: rel + "/", mode: 0o755})
			return nil
		}
		data, err := os.ReadFile(path)
		files = append(files, file{name: rel, mode: 0o644, data: data})
		return err
	})
	if err != nil {
		return err
	}
	data, err := tarFiles(files, mtime)
	if err != nil {
		return err
	}
	if err := os.WriteFile(out+".tmp", data, 0o644); err != nil {
		return err
	}
	return os.Rename(out+".tmp", out)
}
