package deploy

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/webjourney/webjourney/internal/configdoctor"
	"github.com/webjourney/webjourney/test/estest"
	"github.com/webjourney/webjourney/test/testenv"
)

// throwaway is a copy-on-write view of this machine's root file system in a
// mount namespace of its own: dpkg installs into it, maintainer scripts run
// in it, and everything it wrote disappears with the namespace. The network
// is this machine's, so Elasticsearch and the test reach the collector.
type throwaway struct {
	t      *testing.T
	root   string
	holder *exec.Cmd // keeps the namespace (and its mounts) alive
}

func newThrowaway(t *testing.T) *throwaway {
	t.Helper()
	needRoot(t)
	tool(t, "unshare")
	tool(t, "nsenter")
	dir := t.TempDir()
	root := filepath.Join(dir, "root")
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "layer"), 0o700))
	require.NoError(t, os.MkdirAll(root, 0o755))
	// Writes go to a tmpfs upper layer; /dev, /proc and /sys are the
	// machine's (the collector reads /proc and the cgroup's memory limit);
	// /run starts empty, as at boot, so no systemd seems to be running.
	const script = `set -e
mount -t tmpfs tmpfs "$1/layer"
mkdir "$1/layer/upper" "$1/layer/work"
mount -t overlay overlay -o "lowerdir=/,upperdir=$1/layer/upper,workdir=$1/layer/work" "$1/root"
mount --rbind /dev "$1/root/dev"
mount -t proc proc "$1/root/proc"
mount --rbind /sys "$1/root/sys"
mount -t tmpfs tmpfs "$1/root/run"
echo ready
exec sleep 3600`
	holder := exec.Command("unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", dir)
	stdout, err := holder.StdoutPipe()
	require.NoError(t, err)
	var stderr bytes.Buffer
	holder.Stderr = &stderr
	require.NoError(t, holder.Start())
	t.Cleanup(func() { _ = holder.Process.Kill(); _ = holder.Wait() })
	line, _ := bufio.NewReader(stdout).ReadString('\n')
	if strings.TrimSpace(line) != "ready" {
		_ = holder.Wait()
		unavailable(t, "cannot make a throw-away root (overlay mount): "+stderr.String())
	}
	return &throwaway{t: t, root: root, holder: holder}
}

// command runs name in the throw-away root as root.
func (r *throwaway) command(name string, args ...string) *exec.Cmd {
	return exec.Command("nsenter", append([]string{"--target", strconv.Itoa(r.holder.Process.Pid), "--mount",
		"chroot", r.root, name}, args...)...)
}

// run runs a command in the root and returns its output; a failure ends the test.
func (r *throwaway) run(name string, args ...string) string {
	r.t.Helper()
	out, err := r.command(name, args...).CombinedOutput()
	require.NoError(r.t, err, "%s %s:\n%s", name, strings.Join(args, " "), out)
	return string(out)
}

// exists reports whether path exists in the root.
func (r *throwaway) exists(path string) bool {
	return r.command("test", "-e", path).Run() == nil
}

// stat returns "owner group mode size" of path in the root.
func (r *throwaway) stat(path string) string {
	r.t.Helper()
	return strings.TrimSpace(r.run("stat", "-c", "%U %G %a %s", path))
}

func (r *throwaway) read(path string) string {
	r.t.Helper()
	return r.run("cat", path)
}

func (r *throwaway) write(path, content string) {
	r.t.Helper()
	cmd := r.command("sh", "-c", `cat >"$1"`, "sh", path)
	cmd.Stdin = strings.NewReader(content)
	out, err := cmd.CombinedOutput()
	require.NoError(r.t, err, "write %s: %s", path, out)
}

// previousPackage repacks deb as the version before it (same files), to
// test an upgrade.
func previousPackage(t *testing.T, deb string) string {
	t.Helper()
	dpkgDeb := tool(t, "dpkg-deb")
	dir := filepath.Join(t.TempDir(), "pkg")
	output(t, dpkgDeb, "--raw-extract", deb, dir)
	control := filepath.Join(dir, "DEBIAN", "control")
	data, err := os.ReadFile(control)
	require.NoError(t, err)
	data = regexp.MustCompile(`(?m)^Version: .*$`).ReplaceAll(data, []byte("Version: 0.0.1-1"))
	require.NoError(t, os.WriteFile(control, data, 0o644))
	prev := filepath.Join(t.TempDir(), "otelcol-webjourney_0.0.1-1.deb")
	output(t, dpkgDeb, "-Znone", "--root-owner-group", "--build", dir, prev)
	return prev
}

// Install the previous package into a throw-away root, edit its config,
// upgrade to this one, then run the installed collector as systemd would
// (the unit's user, environment file, credentials and command line) against
// the test Elasticsearch; remove, then purge.
func TestDebInstallUpgradeRunPurge(t *testing.T) {
	esURL := estest.URL(t)
	geoDB := testenv.Fetched(t, testenv.GeoCountryDB)
	deb := artefact(t, debName(t))
	prev := previousPackage(t, deb)
	r := newThrowaway(t)

	// Install: user, secrets and state directory made by postinst.
	r.run("dpkg", "--install", prev)
	passwd := strings.Split(strings.TrimSpace(r.run("getent", "passwd", "otelcol-webjourney")), ":")
	require.Len(t, passwd, 7)
	assert.Equal(t, "/var/lib/otelcol-webjourney", passwd[5])
	assert.Equal(t, "/usr/sbin/nologin", passwd[6])
	secretsDir := "/etc/otelcol-webjourney/secrets"
	assert.True(t, strings.HasPrefix(r.stat(secretsDir), "otelcol-webjourney otelcol-webjourney 700 "), r.stat(secretsDir))
	assert.Equal(t, "otelcol-webjourney otelcol-webjourney 600 64", r.stat(secretsDir+"/anonymizer.secret"))
	secret := r.read(secretsDir + "/anonymizer.secret")
	assert.Regexp(t, `^[0-9a-f]{64}$`, secret)
	for _, f := range []string{"elasticsearch.password", "elasticsearch.api_key"} {
		assert.Equal(t, "otelcol-webjourney otelcol-webjourney 600 0", r.stat(secretsDir+"/"+f))
	}
	assert.True(t, strings.HasPrefix(r.stat("/var/lib/otelcol-webjourney"), "otelcol-webjourney otelcol-webjourney 750 "))

	// The operator edits the config and the environment file.
	const edit = "\n# edited by the operator\n"
	r.write("/etc/otelcol-webjourney/config.yaml", r.read("/etc/otelcol-webjourney/config.yaml")+edit)
	listen, health, metrics := freePort(t), freePort(t), freePort(t)
	prefix := estest.UniquePrefix(t)
	t.Cleanup(func() { deleteIndices(t, esURL, prefix) })
	env := r.read("/etc/otelcol-webjourney/otelcol-webjourney.conf")
	for k, v := range map[string]string{
		"WEBJOURNEY_LISTEN":         fmt.Sprintf("127.0.0.1:%d", listen),
		"WEBJOURNEY_HEALTH":         fmt.Sprintf("127.0.0.1:%d", health),
		"WEBJOURNEY_METRICS_PORT":   strconv.Itoa(metrics),
		"WEBJOURNEY_SITE":           "deploytest",
		"WEBJOURNEY_GEOIP_DATABASE": geoDB,
		"ELASTICSEARCH_URL":         esURL,
		"WEBJOURNEY_INDEX_PREFIX":   prefix,
	} {
		env = setEnv(t, env, k, v)
	}
	r.write("/etc/otelcol-webjourney/otelcol-webjourney.conf", env)

	// Upgrade: the edits, the secret and the state directory stay.
	r.run("dpkg", "--install", deb)
	assert.Equal(t, version(t)+"-1", strings.TrimSpace(r.run("dpkg-query", "--showformat=${Version}", "--show", "otelcol-webjourney")))
	assert.True(t, strings.HasSuffix(r.read("/etc/otelcol-webjourney/config.yaml"), edit), "the upgrade replaced the edited config")
	assert.Equal(t, env, r.read("/etc/otelcol-webjourney/otelcol-webjourney.conf"), "the upgrade replaced the edited environment file")
	assert.Equal(t, secret, r.read(secretsDir+"/anonymizer.secret"), "the upgrade replaced the anonymizer secret")

	// The unit is valid for systemd, with the installed binary.
	if out, err := r.command("systemd-analyze", "verify", "/lib/systemd/system/otelcol-webjourney.service").CombinedOutput(); err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	// The installed config passes the doctor with the installed environment.
	r.run("webjourneyctl", "doctor", "--config", "/etc/otelcol-webjourney/config.yaml", "--env-file", "/etc/otelcol-webjourney/otelcol-webjourney.conf")

	// Run the installed collector as the unit does, send a hit, find it.
	svc := startService(t, r)
	hitURL := "https://shop.example/installed?from=deb"
	req, err := http.NewRequest(http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d/p.gif?", listen)+
		url.Values{"s": {"deploytest"}, "url": {hitURL}, "t": {"Installed"}}.Encode(), http.NoBody)
	require.NoError(t, err)
	req.Header.Set("User-Agent", browserUA)
	// Through the trusted local proxy: the address it forwards counts.
	req.Header.Set("X-Forwarded-For", "193.0.6.139")
	waitHealthy(t, health, svc)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	doc := waitForEvent(t, esURL, prefix, hitURL)
	assert.Equal(t, "deploytest", doc["webjourney.site.id"])
	assert.Equal(t, "NL", doc["geo.country.iso_code"], "the client address from the trusted proxy, resolved with the configured geo database")
	metricsBody := httpGet(t, fmt.Sprintf("http://127.0.0.1:%d/metrics", metrics))
	assert.Contains(t, metricsBody, "otelcol_receiver_accepted_log_records")
	svc.stop(t)
	// file_storage wrote the queue, attribution state and salts as the service user.
	state := r.run("find", "/var/lib/otelcol-webjourney", "-type", "f", "-printf", "%u %f\n")
	assert.Contains(t, state, "otelcol-webjourney processor_attribution_")
	assert.Contains(t, state, "otelcol-webjourney processor_anonymizer_")
	assert.Contains(t, state, "otelcol-webjourney exporter_elasticsearch_journey_")

	// Remove: binaries go; config, secrets and state stay.
	r.run("dpkg", "--remove", "otelcol-webjourney")
	assert.False(t, r.exists("/usr/bin/otelcol-webjourney"))
	assert.True(t, strings.HasSuffix(r.read("/etc/otelcol-webjourney/config.yaml"), edit))
	assert.Equal(t, secret, r.read(secretsDir+"/anonymizer.secret"))
	assert.True(t, r.exists("/var/lib/otelcol-webjourney/"+strings.Fields(state)[1]))

	// Purge: config, secrets and state go; the system user stays.
	r.run("dpkg", "--purge", "otelcol-webjourney")
	assert.False(t, r.exists("/etc/otelcol-webjourney"))
	assert.False(t, r.exists("/var/lib/otelcol-webjourney"))
	r.run("getent", "passwd", "otelcol-webjourney")
}

// service is the installed collector running in the throw-away root.
type service struct {
	cmd    *exec.Cmd
	output *bytes.Buffer
	done   chan error
}

// startService starts ExecStart of the installed unit the way systemd
// would: as its User and Group, with its EnvironmentFile, and with each
// LoadCredential= file copied into $CREDENTIALS_DIRECTORY, readable by the
// service only.
func startService(t *testing.T, r *throwaway) *service {
	t.Helper()
	unit := parseUnit(t, r.read("/lib/systemd/system/otelcol-webjourney.service"))
	env, err := configdoctor.ParseEnvFile(strings.NewReader(r.read(unit["EnvironmentFile"][0])))
	require.NoError(t, err)
	user, group := unit["User"][0], unit["Group"][0]
	creds := "/run/credentials/otelcol-webjourney.service"
	r.run("install", "-d", "-m", "0500", "-o", user, "-g", group, creds)
	for _, lc := range unit["LoadCredential"] {
		id, src, ok := strings.Cut(lc, ":")
		require.True(t, ok, lc)
		r.run("install", "-m", "0400", "-o", user, "-g", group, src, creds+"/"+id)
	}
	uid := strings.TrimSpace(r.run("id", "-u", user))
	gid := strings.TrimSpace(r.run("id", "-g", user))
	argv := []string{}
	for _, w := range strings.Fields(unit["ExecStart"][0]) {
		if strings.HasPrefix(w, "$") {
			argv = append(argv, strings.Fields(env[w[1:]])...)
		} else {
			argv = append(argv, w)
		}
	}
	envv := []string{"CREDENTIALS_DIRECTORY=" + creds, "HOME=/var/lib/otelcol-webjourney"}
	for k, v := range env {
		envv = append(envv, k+"="+v)
	}
	cmd := r.command("chroot", append([]string{"--userspec=" + uid + ":" + gid, "/", "env", "-i"}, append(envv, argv...)...)...)
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
	return s
}

// stop sends SIGTERM, as systemctl stop does, and expects a clean exit.
func (s *service) stop(t *testing.T) {
	t.Helper()
	require.NoError(t, s.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-s.done:
		require.NoError(t, err, "the collector did not exit cleanly:\n%s", s.output)
	case <-time.After(60 * time.Second):
		t.Fatalf("the collector did not stop within 60s:\n%s", s.output)
	}
}

// parseUnit reads the [Service] section of a unit file: key to values.
func parseUnit(t *testing.T, text string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	section := ""
	for _, l := range lines(text) {
		if strings.HasPrefix(l, "#") {
			continue
		}
		if strings.HasPrefix(l, "[") {
			section = l
			continue
		}
		if k, v, ok := strings.Cut(l, "="); ok && section == "[Service]" {
			out[k] = append(out[k], v)
		}
	}
	for _, k := range []string{"ExecStart", "User", "Group", "EnvironmentFile"} {
		require.Len(t, out[k], 1, k)
	}
	return out
}

// setEnv sets KEY=value in an environment file's text (replacing its line).
func setEnv(t *testing.T, text, key, value string) string {
	t.Helper()
	re := regexp.MustCompile(`(?m)^` + key + `=.*$`)
	require.True(t, re.MatchString(text), "%s is not in the environment file", key)
	return re.ReplaceAllLiteralString(text, key+"="+value)
}

const browserUA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// waitHealthy waits for the health_check extension to answer 200, or for
// the process to exit.
func waitHealthy(t *testing.T, port int, s *service) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-s.done:
			t.Fatalf("the collector exited: %v\n%s", err, s.output)
		default:
		}
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/", port))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("the collector did not become healthy:\n%s", s.output)
}

func httpGet(t *testing.T, u string) string {
	t.Helper()
	resp, err := http.Get(u)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s: %s", u, body)
	return string(body)
}
