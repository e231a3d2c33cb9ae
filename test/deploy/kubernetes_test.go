package deploy

import (
	"bytes"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	"github.com/webjourney/webjourney/internal/configdoctor"
)

// imageEnv is the container image's environment (tools/ociimage;
// TestOCIImage checks it), under the manifests' own.
var imageEnv = map[string]string{
	"WEBJOURNEY_LISTEN":       "0.0.0.0:8090",
	"WEBJOURNEY_HEALTH":       "0.0.0.0:13133",
	"WEBJOURNEY_METRICS_HOST": "0.0.0.0",
	"WEBJOURNEY_STATE_DIR":    "/var/lib/otelcol-webjourney",
	"CREDENTIALS_DIRECTORY":   "/run/secrets/otelcol-webjourney",
}

// objects is a rendered set of manifests, decoded strictly into the
// Kubernetes API types.
type objects struct {
	deployments  map[string]*appsv1.Deployment
	statefulSets map[string]*appsv1.StatefulSet
	services     map[string]*corev1.Service
	configMaps   map[string]*corev1.ConfigMap
	secrets      map[string]*corev1.Secret
	ingresses    map[string]*networkingv1.Ingress
	hpas         map[string]*autoscalingv2.HorizontalPodAutoscaler
	namespaces   map[string]*corev1.Namespace
}

// decodeStrict decodes one manifest into its API type: an unknown or
// misspelt field fails, as `kubectl apply --validate=strict` would.
func (o *objects) decodeStrict(t *testing.T, doc []byte) {
	t.Helper()
	var tm metav1.TypeMeta
	require.NoError(t, yaml.Unmarshal(doc, &tm))
	switch tm.APIVersion + " " + tm.Kind {
	case "apps/v1 Deployment":
		put(t, doc, o.deployments)
	case "apps/v1 StatefulSet":
		put(t, doc, o.statefulSets)
	case "v1 Service":
		put(t, doc, o.services)
	case "v1 ConfigMap":
		put(t, doc, o.configMaps)
	case "v1 Secret":
		put(t, doc, o.secrets)
	case "v1 Namespace":
		put(t, doc, o.namespaces)
	case "networking.k8s.io/v1 Ingress":
		put(t, doc, o.ingresses)
	case "autoscaling/v2 HorizontalPodAutoscaler":
		put(t, doc, o.hpas)
	default:
		t.Fatalf("unexpected manifest %s %s", tm.APIVersion, tm.Kind)
	}
}

// put decodes doc strictly into a T and files it by name.
func put[T any, PT interface {
	*T
	GetName() string
}](t *testing.T, doc []byte, m map[string]PT) {
	t.Helper()
	var v T
	require.NoError(t, yaml.UnmarshalStrict(doc, &v), "%s", doc)
	m[PT(&v).GetName()] = &v
}

func decodeAll(t *testing.T, stream []byte) *objects {
	t.Helper()
	o := &objects{
		deployments: map[string]*appsv1.Deployment{}, statefulSets: map[string]*appsv1.StatefulSet{},
		services: map[string]*corev1.Service{}, configMaps: map[string]*corev1.ConfigMap{},
		secrets: map[string]*corev1.Secret{}, ingresses: map[string]*networkingv1.Ingress{},
		hpas: map[string]*autoscalingv2.HorizontalPodAutoscaler{}, namespaces: map[string]*corev1.Namespace{},
	}
	for _, doc := range bytes.Split(stream, []byte("\n---\n")) {
		if len(bytes.TrimSpace(doc)) > 0 {
			o.decodeStrict(t, doc)
		}
	}
	return o
}

// render builds an overlay with kustomize, as `kubectl apply -k` does, from
// a copy of deploy/kubernetes with placeholder files for its git-ignored
// secrets.
func render(t *testing.T, overlay string) []byte {
	t.Helper()
	mem := filesys.MakeFsInMemory()
	src := repo("deploy/kubernetes")
	require.NoError(t, filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return mem.WriteFile(filepath.Join("/k8s", rel), data)
	}))
	kust, err := os.ReadFile(filepath.Join(src, "overlays", overlay, "kustomization.yaml"))
	require.NoError(t, err)
	for _, l := range lines(string(kust)) {
		if f, ok := strings.CutPrefix(l, "- secrets/"); ok {
			require.NoError(t, mem.WriteFile(filepath.Join("/k8s/overlays", overlay, "secrets", f), []byte("placeholder")))
		}
	}
	res, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(mem, "/k8s/overlays/"+overlay)
	require.NoError(t, err)
	out, err := res.AsYaml()
	require.NoError(t, err)
	return out
}

// Every file under deploy/kubernetes that is a Kubernetes object decodes
// strictly into its API type.
func TestKubernetesManifestsDecodeStrictly(t *testing.T) {
	for _, f := range []string{"base/front.yaml", "base/back.yaml", "overlays/production/namespace.yaml"} {
		data, err := os.ReadFile(repo("deploy/kubernetes/" + f))
		require.NoError(t, err)
		decodeAll(t, data)
	}
}

func TestKubernetesOverlays(t *testing.T) {
	for _, overlay := range []string{"production", "single-node"} {
		t.Run(overlay, func(t *testing.T) {
			o := decodeAll(t, render(t, overlay))
			require.Len(t, o.deployments, 1)
			require.Len(t, o.statefulSets, 1)
			checkReferences(t, o)
			checkFront(t, o)
			checkBack(t, o)
		})
	}
}

// checkReferences: every ConfigMap and Secret a pod uses is in the set,
// with the keys it uses; so is the HPA's target. An Ingress TLS Secret is
// cert-manager's to make when the Ingress asks cert-manager for it.
func checkReferences(t *testing.T, o *objects) {
	pods := map[string]corev1.PodSpec{}
	for n, d := range o.deployments {
		pods["Deployment "+n] = d.Spec.Template.Spec
	}
	for n, s := range o.statefulSets {
		pods["StatefulSet "+n] = s.Spec.Template.Spec
	}
	for owner, spec := range pods {
		for _, v := range spec.Volumes {
			if v.ConfigMap != nil {
				assert.Contains(t, o.configMaps, v.ConfigMap.Name, "%s: volume %s", owner, v.Name)
			}
			if v.Secret != nil {
				assert.Contains(t, o.secrets, v.Secret.SecretName, "%s: volume %s", owner, v.Name)
			}
		}
		for _, c := range spec.Containers {
			for _, e := range c.EnvFrom {
				if e.ConfigMapRef != nil {
					assert.Contains(t, o.configMaps, e.ConfigMapRef.Name, "%s: envFrom", owner)
				}
				if e.SecretRef != nil {
					assert.Contains(t, o.secrets, e.SecretRef.Name, "%s: envFrom", owner)
				}
			}
		}
	}
	for n, h := range o.hpas {
		assert.Equal(t, "Deployment", h.Spec.ScaleTargetRef.Kind, n)
		assert.Contains(t, o.deployments, h.Spec.ScaleTargetRef.Name, "HPA %s", n)
	}
	for n, ing := range o.ingresses {
		for _, tls := range ing.Spec.TLS {
			if _, ok := o.secrets[tls.SecretName]; !ok {
				assert.NotEmpty(t, ing.Annotations["cert-manager.io/cluster-issuer"]+ing.Annotations["cert-manager.io/issuer"],
					"Ingress %s: TLS Secret %s is neither in the manifests nor made by cert-manager", n, tls.SecretName)
			}
		}
	}
}

// container returns a pod's only container and the environment the
// collector sees in it: the image's, then envFrom ConfigMaps, then env.
func container(t *testing.T, o *objects, spec corev1.PodSpec) (corev1.Container, map[string]string) {
	t.Helper()
	require.Len(t, spec.Containers, 1)
	c := spec.Containers[0]
	env := map[string]string{}
	for k, v := range imageEnv {
		env[k] = v
	}
	for _, e := range c.EnvFrom {
		require.NotNil(t, e.ConfigMapRef)
		for k, v := range o.configMaps[e.ConfigMapRef.Name].Data {
			env[k] = v
		}
	}
	for _, e := range c.Env {
		env[e.Name] = e.Value
	}
	return c, env
}

// tierConfig writes the files a container's --config flags name (the
// image's production config, or a key of a mounted ConfigMap) and loads
// them as the collector would, with env.
func tierConfig(t *testing.T, o *objects, spec corev1.PodSpec, c corev1.Container, env map[string]string) ([]string, *configdoctor.Config) {
	t.Helper()
	mounts := map[string]string{} // mount path -> ConfigMap
	for _, m := range c.VolumeMounts {
		for _, v := range spec.Volumes {
			if v.Name == m.Name && v.ConfigMap != nil {
				mounts[m.MountPath] = v.ConfigMap.Name
			}
		}
	}
	dir := t.TempDir()
	var paths []string
	for _, a := range c.Args {
		p, ok := strings.CutPrefix(a, "--config=")
		require.True(t, ok, "argument %q", a)
		local := filepath.Join(dir, strconv.Itoa(len(paths))+".yaml")
		if p == "/etc/otelcol-webjourney/config.yaml" {
			data, err := os.ReadFile(repo("config/production.yaml"))
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(local, data, 0o600))
		} else {
			cm, ok := o.configMaps[mounts[filepath.Dir(p)]]
			require.True(t, ok, "--config=%s is not in a mounted ConfigMap", p)
			data, ok := cm.Data[filepath.Base(p)]
			require.True(t, ok, "ConfigMap %s has no key %s", cm.Name, filepath.Base(p))
			require.NoError(t, os.WriteFile(local, []byte(data), 0o600))
		}
		paths = append(paths, local)
	}
	cfg, err := configdoctor.Load(paths, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	require.NoError(t, err)
	return paths, cfg
}

// port returns the container port named name.
func port(t *testing.T, c corev1.Container, name string) int32 {
	t.Helper()
	for _, p := range c.Ports {
		if p.Name == name {
			return p.ContainerPort
		}
	}
	t.Fatalf("container %s has no port %q", c.Name, name)
	return 0
}

// endpointPort is the port of a host:port setting.
func endpointPort(t *testing.T, endpoint any) int32 {
	t.Helper()
	_, p, err := net.SplitHostPort(fmt.Sprint(endpoint))
	require.NoError(t, err, "endpoint %v", endpoint)
	n, err := strconv.Atoi(p)
	require.NoError(t, err)
	return int32(n)
}

func dig(m map[string]any, path ...string) any {
	var v any = m
	for _, p := range path {
		mm, _ := v.(map[string]any)
		v = mm[p]
	}
	return v
}

// checkProbes: liveness and readiness ask health_check, on its port and path.
func checkProbes(t *testing.T, c corev1.Container, cfg map[string]any) {
	t.Helper()
	health := port(t, c, "health")
	assert.Equal(t, health, endpointPort(t, dig(cfg, "extensions", "health_check", "endpoint")))
	path := "/"
	if p, ok := dig(cfg, "extensions", "health_check", "path").(string); ok {
		path = p
	}
	for name, probe := range map[string]*corev1.Probe{"liveness": c.LivenessProbe, "readiness": c.ReadinessProbe} {
		require.NotNil(t, probe, name)
		require.NotNil(t, probe.HTTPGet, name)
		assert.Equal(t, path, probe.HTTPGet.Path, name)
		assert.Equal(t, intstr.FromString("health"), probe.HTTPGet.Port, name)
	}
	assert.Equal(t, port(t, c, "metrics"), int32(mustInt(t, dig(cfg, "service", "telemetry", "metrics", "readers").([]any)[0].(map[string]any)["pull"].(map[string]any)["exporter"].(map[string]any)["prometheus"].(map[string]any)["port"])))
	assert.Equal(t, "0.0.0.0", dig(cfg, "service", "telemetry", "metrics", "readers").([]any)[0].(map[string]any)["pull"].(map[string]any)["exporter"].(map[string]any)["prometheus"].(map[string]any)["host"])
}

// checkResources: memory_limiter's percentages are of the container's
// memory limit, which must therefore be set (else they are of the node's).
func checkResources(t *testing.T, c corev1.Container, cfg map[string]any) {
	t.Helper()
	ml, ok := dig(cfg, "processors", "memory_limiter").(map[string]any)
	require.True(t, ok, "no memory_limiter")
	limit, ok := c.Resources.Limits[corev1.ResourceMemory]
	require.True(t, ok, "container %s has no memory limit for memory_limiter to work off", c.Name)
	if mib, ok := ml["limit_mib"]; ok {
		assert.Less(t, int64(mustInt(t, mib))<<20, limit.Value())
	} else {
		assert.Equal(t, 80, mustInt(t, ml["limit_percentage"]))
		assert.Less(t, mustInt(t, ml["spike_limit_percentage"]), mustInt(t, ml["limit_percentage"]))
	}
	req := c.Resources.Requests[corev1.ResourceMemory]
	assert.LessOrEqual(t, req.Value(), limit.Value())
	sc := c.SecurityContext
	require.NotNil(t, sc)
	assert.False(t, *sc.AllowPrivilegeEscalation)
	assert.True(t, *sc.ReadOnlyRootFilesystem)
	assert.Equal(t, []corev1.Capability{"ALL"}, sc.Capabilities.Drop)
}

func mustInt(t *testing.T, v any) int {
	t.Helper()
	n, err := strconv.Atoi(fmt.Sprint(v))
	require.NoError(t, err, "%v is not a number", v)
	return n
}

// checkFront: Ingress -> Service -> pixel receiver, all on one port and
// under one path; the load_balancing exporter resolves the back's headless
// Service.
func checkFront(t *testing.T, o *objects) {
	var d *appsv1.Deployment
	for _, v := range o.deployments {
		d = v
	}
	spec := d.Spec.Template.Spec
	c, env := container(t, o, spec)
	paths, cfg := tierConfig(t, o, spec, c, env)
	conf := cfg.Resolved
	pixel := dig(conf, "receivers", "pixel").(map[string]any)
	assert.Equal(t, port(t, c, "http"), endpointPort(t, pixel["endpoint"]))
	checkProbes(t, c, conf)
	checkResources(t, c, conf)

	svc := serviceFor(t, o, d.Spec.Template.Labels)
	require.Len(t, svc.Spec.Ports, 1)
	assert.Equal(t, intstr.FromString("http"), svc.Spec.Ports[0].TargetPort)
	require.Len(t, o.ingresses, 1)
	for _, ing := range o.ingresses {
		require.Len(t, ing.Spec.Rules, 1)
		for _, p := range ing.Spec.Rules[0].HTTP.Paths {
			assert.Equal(t, svc.Name, p.Backend.Service.Name)
			assert.Equal(t, svc.Spec.Ports[0].Name, p.Backend.Service.Port.Name)
			for _, k := range []string{"pixel_path", "iframe_path", "beacon_path", "tag_path", "config_path"} {
				assert.True(t, strings.HasPrefix(fmt.Sprint(pixel[k]), p.Path), "receivers::pixel::%s %v is not under the Ingress path %s", k, pixel[k], p.Path)
			}
		}
	}
	assert.NotEmpty(t, pixel["trusted_proxies"], "behind the Ingress, its controller must be a trusted proxy")
	assert.Equal(t, true, pixel["routing_key"])

	dns := dig(conf, "exporters", "load_balancing", "resolver", "dns").(map[string]any)
	host := strings.Split(fmt.Sprint(dns["hostname"]), ".")[0]
	back, ok := o.services[host]
	require.True(t, ok, "the resolver's hostname %v is no Service", dns["hostname"])
	assert.Equal(t, corev1.ClusterIPNone, back.Spec.ClusterIP, "Service %s must be headless: the resolver needs one record per back pod", host)
	var sts *appsv1.StatefulSet
	for _, v := range o.statefulSets {
		sts = v
	}
	assert.Equal(t, host, sts.Spec.ServiceName)
	assert.Equal(t, back, serviceFor(t, o, sts.Spec.Template.Labels))
	backC, _ := container(t, o, sts.Spec.Template.Spec)
	require.Len(t, back.Spec.Ports, 1)
	assert.EqualValues(t, mustInt(t, dns["port"]), back.Spec.Ports[0].Port)
	assert.Equal(t, port(t, backC, "otlp"), back.Spec.Ports[0].Port)

	assert.Empty(t, configdoctor.Check(cfg), "doctor findings on the front config")
	validate(t, env, paths)
}

// checkBack: the OTLP receiver on the Service's port, file_storage on the
// state volume, secrets where the config reads them.
func checkBack(t *testing.T, o *objects) {
	var sts *appsv1.StatefulSet
	for _, v := range o.statefulSets {
		sts = v
	}
	spec := sts.Spec.Template.Spec
	c, env := container(t, o, spec)
	paths, cfg := tierConfig(t, o, spec, c, env)
	conf := cfg.Resolved
	assert.Equal(t, []any{"otlp"}, dig(conf, "service", "pipelines", "logs", "receivers"))
	assert.Equal(t, port(t, c, "otlp"), endpointPort(t, dig(conf, "receivers", "otlp", "protocols", "grpc", "endpoint")))
	checkProbes(t, c, conf)
	checkResources(t, c, conf)
	assert.Equal(t, int64(10001), *spec.SecurityContext.FSGroup, "the state volume must be writable by the image's user")

	mounts := map[string]corev1.VolumeMount{}
	for _, m := range c.VolumeMounts {
		mounts[m.MountPath] = m
	}
	state, ok := mounts[fmt.Sprint(dig(conf, "extensions", "file_storage", "directory"))]
	require.True(t, ok, "file_storage's directory is not a mounted volume")
	require.Len(t, sts.Spec.VolumeClaimTemplates, 1)
	assert.Equal(t, sts.Spec.VolumeClaimTemplates[0].Name, state.Name, "file_storage must be on the StatefulSet's persistent volume")

	secretMount, ok := mounts[env["CREDENTIALS_DIRECTORY"]]
	require.True(t, ok, "no volume at $CREDENTIALS_DIRECTORY")
	var secret *corev1.Secret
	for _, v := range spec.Volumes {
		if v.Name == secretMount.Name && v.Secret != nil {
			secret = o.secrets[v.Secret.SecretName]
		}
	}
	require.NotNil(t, secret, "the volume at $CREDENTIALS_DIRECTORY is not a Secret")
	// Every file the config reads from $CREDENTIALS_DIRECTORY is a key of the Secret.
	data, err := os.ReadFile(repo("config/production.yaml"))
	require.NoError(t, err)
	for _, part := range strings.Split(string(data), "${env:CREDENTIALS_DIRECTORY}/")[1:] {
		key := strings.FieldsFunc(part, func(r rune) bool { return r == '}' || r == '\n' || r == ' ' })[0]
		assert.Contains(t, secret.Data, key, "Secret %s", secret.Name)
	}
	if ca := env["ELASTICSEARCH_CA_FILE"]; ca != "" {
		assert.Equal(t, env["CREDENTIALS_DIRECTORY"], filepath.Dir(ca))
		assert.Contains(t, secret.Data, filepath.Base(ca))
	}

	assert.Empty(t, configdoctor.Check(cfg), "doctor findings on the back config")
	creds := t.TempDir()
	for k := range secret.Data {
		content := ""
		switch {
		case k == "anonymizer.secret":
			content = strings.Repeat("ab", 32)
		case k == "elasticsearch.password" && env["ELASTICSEARCH_USER"] != "":
			// The overlay names a user, so its Secret must hold the
			// password: a user without one is refused at start.
			content = "test-password"
		}
		require.NoError(t, os.WriteFile(filepath.Join(creds, k), []byte(content), 0o600))
	}
	env["CREDENTIALS_DIRECTORY"] = creds
	env["ELASTICSEARCH_CA_FILE"] = ""
	validate(t, env, paths)
}

// serviceFor returns the one Service selecting pods with labels.
func serviceFor(t *testing.T, o *objects, labels map[string]string) *corev1.Service {
	t.Helper()
	var found []*corev1.Service
	for _, s := range o.services {
		match := len(s.Spec.Selector) > 0
		for k, v := range s.Spec.Selector {
			match = match && labels[k] == v
		}
		if match {
			found = append(found, s)
		}
	}
	require.Len(t, found, 1, "Services selecting %v", labels)
	return found[0]
}

// validate runs `otelcol-webjourney validate` on a tier's configs when the
// built collector is at hand (make test).
func validate(t *testing.T, env map[string]string, paths []string) {
	t.Helper()
	bin := os.Getenv("WEBJOURNEY_COLLECTOR_BIN")
	if bin == "" {
		return
	}
	args := []string{"validate"}
	for _, p := range paths {
		args = append(args, "--config="+p)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	assert.NoError(t, err, "validate %v:\n%s", paths, out)
}

// The Helm values run the same tiers with the upstream chart: only keys
// the chart (0.170.0) has, our image and command, the front config the
// kustomize base uses, ports and probes matching the configs.
func TestHelmValues(t *testing.T) {
	chartKeys := strings.Fields(`nameOverride fullnameOverride mode apiVersion namespaceOverride presets configMap
		internalTelemetryViaOTLP rewriteDeprecatedComponentNames config alternateConfig image imagePullSecrets command
		serviceAccount clusterRole podSecurityContext securityContext nodeSelector tolerations affinity
		topologySpreadConstraints priorityClassName runtimeClassName terminationGracePeriodSeconds extraEnvs
		extraEnvsFrom extraVolumes extraVolumeMounts extraManifests ports useGOMEMLIMIT resizePolicy resources
		enableConfigChecksumAnnotation podAnnotations podLabels additionalLabels hostNetwork hostPID hostAliases
		dnsPolicy dnsConfig schedulerName replicaCount revisionHistoryLimit annotations extraContainers
		initContainers lifecycleHooks livenessProbe readinessProbe startupProbe service ingress httproute
		podMonitor serviceMonitor podDisruptionBudget autoscaling rollout prometheusRule statefulset networkPolicy
		shareProcessNamespace`)
	front, err := os.ReadFile(repo("deploy/kubernetes/base/front-config.yaml"))
	require.NoError(t, err)
	back, err := os.ReadFile(repo("deploy/kubernetes/base/back-config.yaml"))
	require.NoError(t, err)
	for file, want := range map[string]struct {
		mode, configMap, key, config string
		ports                        []string
	}{
		"values-front.yaml": {"deployment", "otelcol-webjourney-front", "front.yaml", string(front), []string{"http", "metrics"}},
		"values-back.yaml":  {"statefulset", "otelcol-webjourney-back", "back.yaml", string(back), []string{"otlp", "metrics"}},
	} {
		t.Run(file, func(t *testing.T) {
			data, err := os.ReadFile(repo("deploy/helm/" + file))
			require.NoError(t, err)
			var values map[string]any
			require.NoError(t, yaml.UnmarshalStrict(data, &values))
			for k := range values {
				assert.Contains(t, chartKeys, k, "not a value of the chart")
			}
			assert.Equal(t, want.mode, values["mode"])
			assert.Equal(t, "otelcol-webjourney", dig(values, "command", "name"))
			assert.Equal(t, false, dig(values, "configMap", "create"), "the chart's own config would replace ours")
			for _, probe := range []string{"livenessProbe", "readinessProbe"} {
				assert.EqualValues(t, 13133, dig(values, probe, "httpGet", "port"))
			}
			assert.NotEmpty(t, dig(values, "resources", "limits", "memory"))
			var enabled []string
			for name, p := range dig(values, "ports").(map[string]any) {
				if dig(p.(map[string]any), "enabled") == true {
					enabled = append(enabled, name)
				}
			}
			slices.Sort(enabled)
			assert.ElementsMatch(t, want.ports, enabled)
			// The tier's config ConfigMap is in extraManifests, with the kustomize base's text.
			var found bool
			for _, m := range dig(values, "extraManifests").([]any) {
				mm := m.(map[string]any)
				if dig(mm, "metadata", "name") == want.configMap {
					found = true
					var got, wantCfg any
					require.NoError(t, yaml.Unmarshal([]byte(fmt.Sprint(dig(mm, "data", want.key))), &got))
					require.NoError(t, yaml.Unmarshal([]byte(want.config), &wantCfg))
					assert.Equal(t, wantCfg, got)
				}
			}
			assert.True(t, found, "extraManifests has no ConfigMap %s", want.configMap)
		})
	}
}
