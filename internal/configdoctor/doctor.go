package configdoctor

import (
	"cmp"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
)

// Severity says whether a finding must be fixed before production.
type Severity string

const (
	// Error: data or privacy is at risk; `webjourneyctl doctor` exits 1.
	Error Severity = "error"
	// Warning: worth a look; the exit status stays 0.
	Warning Severity = "warning"
)

// Finding is one production hazard: the key it is about, what goes wrong,
// and how to fix it.
type Finding struct {
	Severity Severity
	Key      string // collector key path, "::"-separated
	Problem  string
	Fix      string
}

// Component types the checks know (the names in builder-config.yaml).
const (
	typePixel       = "pixel"
	typeConsent     = "consent"
	typeAnonymizer  = "anonymizer"
	typeAttribution = "attribution"
	typeExporter    = "elasticsearch_journey"
	typeMemLimiter  = "memory_limiter"
)

// maxCNILRetentionMonths is the consent processor's cnil_exemption default
// and ceiling (consentprocessor.MaxCNILRetentionMonths).
const maxCNILRetentionMonths = 25

// Check returns the production hazards of c, errors first.
func Check(c *Config) []Finding {
	d := &doctor{conf: c.Resolved}
	d.queues()
	d.stateStorage()
	d.retention()
	d.consent()
	d.proxies()
	d.secretsInline(c.Raw, "")
	d.pipelines()
	slices.SortStableFunc(d.findings, func(a, b Finding) int {
		if a.Severity != b.Severity {
			return cmp.Compare(severityRank(a.Severity), severityRank(b.Severity))
		}
		return cmp.Compare(a.Key, b.Key)
	})
	return d.findings
}

func severityRank(s Severity) int {
	if s == Error {
		return 0
	}
	return 1
}

type doctor struct {
	conf     map[string]any
	findings []Finding
}

func (d *doctor) add(s Severity, key, problem, fix string) {
	d.findings = append(d.findings, Finding{Severity: s, Key: key, Problem: problem, Fix: fix})
}

// component is one configured component that the service uses.
type component struct {
	key string // e.g. "exporters::elasticsearch_journey/primary"
	cfg map[string]any
}

func (c component) k(sub ...string) string {
	return strings.Join(append([]string{c.key}, sub...), "::")
}

// used returns the components of kind ("receivers", "processors",
// "exporters", "extensions") and type typ that the service runs: listed in a
// pipeline, or in service::extensions.
func (d *doctor) used(kind, typ string) []component {
	var ids []string
	if kind == "extensions" {
		ids = strs(get(d.conf, "service", "extensions"))
	} else {
		pipes, _ := get(d.conf, "service", "pipelines").(map[string]any)
		for _, p := range pipes {
			pm, _ := p.(map[string]any)
			ids = append(ids, strs(pm[kind])...)
		}
	}
	var out []component
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] || (id != typ && !strings.HasPrefix(id, typ+"/")) {
			continue
		}
		seen[id] = true
		cfg, _ := get(d.conf, kind, id).(map[string]any)
		out = append(out, component{key: kind + "::" + id, cfg: cfg})
	}
	slices.SortFunc(out, func(a, b component) int { return cmp.Compare(a.key, b.key) })
	return out
}

const fixQueue = "sending_queue: {storage: file_storage} with a file_storage extension on a persistent disk, listed in service::extensions (docs/reliability.md, config/production.yaml)"

// queues: the exporter's sending queue must be on disk.
func (d *doctor) queues() {
	for _, c := range d.used("exporters", typeExporter) {
		q, _ := c.cfg["sending_queue"].(map[string]any)
		switch {
		case q["enabled"] == false:
			d.add(Error, c.k("sending_queue", "enabled"),
				"the sending queue is off: a batch that cannot be written while Elasticsearch is slow or away is lost after its retries, and browsers are answered before anything is stored",
				fixQueue)
		case str(q["storage"]) == "":
			d.add(Error, c.k("sending_queue", "storage"),
				"the sending queue is in memory: events acknowledged to browsers but not yet in Elasticsearch are lost when the collector stops, crashes or is killed",
				fixQueue)
		default:
			d.storageConfigured(c.k("sending_queue", "storage"), str(q["storage"]))
		}
	}
}

// stateStorage: attribution state and cookieless salts must survive a restart.
func (d *doctor) stateStorage() {
	for _, c := range d.used("processors", typeAttribution) {
		if s := str(c.cfg["storage"]); s != "" {
			d.storageConfigured(c.k("storage"), s)
			continue
		}
		d.add(Error, c.k("storage"),
			"no storage: open visits and touch histories live in memory only; every restart ends the open visits early and forgets the touches that later outcomes should be credited to",
			"storage: file_storage (a file_storage extension on a persistent disk)")
	}
	for _, c := range d.used("processors", typeAnonymizer) {
		if s := str(get(c.cfg, "cookieless", "storage")); s != "" {
			d.storageConfigured(c.k("cookieless", "storage"), s)
		} else {
			d.add(Error, c.k("cookieless", "storage"),
				"no storage for the cookieless salts: every restart draws new salts, so each anonymous browser gets a new cookieless key and its visit is split in two",
				"cookieless: {storage: file_storage}")
		}
		if env := str(get(c.cfg, "secret", "env")); env != "" {
			d.add(Warning, c.k("secret", "env"),
				"the master secret comes from the environment variable "+env+": environments are inherited by child processes and readable in /proc by the service user",
				"secret: {file: ${env:CREDENTIALS_DIRECTORY}/anonymizer.secret} (systemd LoadCredential=, a mounted Secret)")
		}
	}
}

// storageConfigured reports a storage reference to an extension the service
// does not run: the component would fail at start.
func (d *doctor) storageConfigured(key, id string) {
	if slices.Contains(strs(get(d.conf, "service", "extensions")), id) {
		return
	}
	d.add(Error, key,
		fmt.Sprintf("names the storage extension %q, which is not in service::extensions", id),
		fmt.Sprintf("configure extensions::%s (e.g. file_storage with a directory on a persistent disk) and list it in service::extensions", id))
}

var retentionFamilies = []string{"events_months", "visits_months", "visitors_months", "credits_months"}

// retention: every family ages out, within the CNIL exemption's limit when
// that is on.
func (d *doctor) retention() {
	limit, where := d.cnilLimit()
	for _, c := range d.used("exporters", typeExporter) {
		for _, f := range retentionFamilies {
			months, ok := integer(get(c.cfg, "retention", f))
			key := c.k("retention", f)
			switch {
			case !ok || months == 0:
				d.add(Error, key,
					"0 (the default) keeps "+strings.TrimSuffix(f, "_months")+" for ever; personal data must be deleted when no longer needed",
					"set a retention in months, e.g. 13 (what config/production.yaml uses)")
			case limit > 0 && months > limit:
				d.add(Error, key,
					fmt.Sprintf("%d months is longer than the %d months the CNIL exemption allows (%s)", months, limit, where),
					fmt.Sprintf("at most %d", limit))
			}
		}
	}
}

// cnilLimit returns the smallest retention_months of the consent policies
// that turn the CNIL exemption on, and where it is set; 0 when none does.
func (d *doctor) cnilLimit() (int, string) {
	limit, where := 0, ""
	for _, p := range d.policies() {
		if p.cnil && (limit == 0 || p.cnilMonths < limit) {
			limit, where = p.cnilMonths, p.key+"::cnil_exemption"+p.ofSite()
		}
	}
	return limit, where
}

// policy is one consent policy: the processor's top-level one or a site's,
// which starts from the top-level one.
type policy struct {
	key        string
	site       string // "" for the top-level policy
	def        string
	optIn      []string
	optOut     []string
	cnil       bool
	cnilMonths int
}

func (d *doctor) policies() []policy {
	var out []policy
	for _, c := range d.used("processors", typeConsent) {
		top := readPolicy(c.key, c.cfg, policy{def: "opt_in", cnilMonths: maxCNILRetentionMonths})
		out = append(out, top)
		// A list of sites with an id; the component refuses other shapes.
		sites, _ := c.cfg["sites"].([]any)
		for i, s := range sites {
			m, _ := s.(map[string]any)
			p := readPolicy(c.k("sites", strconv.Itoa(i)), m, top)
			p.site = str(m["id"])
			out = append(out, p)
		}
	}
	return out
}

// ofSite names the policy's site after a key in a message; "" for the
// top-level policy.
func (p policy) ofSite() string {
	if p.site == "" {
		return ""
	}
	return fmt.Sprintf(" (site %q)", p.site)
}

func readPolicy(key string, m map[string]any, base policy) policy {
	p := base
	p.key = key
	if v, ok := m["default"]; ok {
		p.def = str(v)
	}
	if v, ok := m["opt_in_regions"]; ok {
		p.optIn = strs(v)
	}
	if v, ok := m["opt_out_regions"]; ok {
		p.optOut = strs(v)
	}
	if v, ok := get(m, "cnil_exemption", "enabled").(bool); ok {
		p.cnil = v
	}
	if v, ok := integer(get(m, "cnil_exemption", "retention_months")); ok {
		p.cnilMonths = v
	}
	return p
}

// consent: opt_out needs opt_in regions, and regions need a geo database.
func (d *doctor) consent() {
	var geo bool
	pixels := d.used("receivers", typePixel)
	for _, c := range pixels {
		geo = geo || str(get(c.cfg, "geoip", "database")) != ""
	}
	for _, p := range d.policies() {
		if p.def == "opt_out" && len(p.optIn) == 0 {
			d.add(Error, p.key+"::default",
				"opt_out with no opt_in_regions counts silence as consent for every visitor"+p.ofSite()+", also where analytics needs prior consent (EU/EEA, UK, Switzerland)",
				"opt_in_regions: [EEA, GB, CH] (with a geo database), or default: opt_in")
		}
		if len(p.optIn)+len(p.optOut) == 0 || geo {
			continue
		}
		key := p.key + "::opt_in_regions"
		if len(p.optIn) == 0 {
			key = p.key + "::opt_out_regions"
		}
		if len(pixels) == 0 {
			d.add(Warning, key,
				"decides by the visitor's region, which the pixel receiver resolves; this collector has none, so its senders (the front tier) must set geoip::database",
				"set receivers::pixel::geoip::database on the collectors that receive the browsers' hits")
			continue
		}
		d.add(Error, key,
			"decides by the visitor's region, but no pixel receiver has a geo database: every region is unknown and the default policy applies to everyone",
			"set receivers::pixel::geoip::database to a country or city .mmdb (docs/deploy.md, \"Geo database\")")
	}
}

// proxies: a receiver on loopback sits behind a local reverse proxy, which
// must be trusted for the browser's address and scheme to count.
func (d *doctor) proxies() {
	for _, c := range d.used("receivers", typePixel) {
		endpoint := str(c.cfg["endpoint"])
		if endpoint == "" {
			endpoint = "localhost:8090" // the receiver's default
		}
		if len(strs(c.cfg["trusted_proxies"])) > 0 || !loopback(endpoint) {
			continue
		}
		d.add(Error, c.k("trusted_proxies"),
			"the receiver listens on loopback ("+endpoint+"), so browsers reach it through a reverse proxy, but no proxy is trusted: every hit gets the proxy's address (one rate limit for all visitors, no geo) and, behind HTTPS, cookies lose Secure",
			`trusted_proxies: [127.0.0.1, "::1"] (the reverse proxy's addresses)`)
	}
}

func loopback(endpoint string) bool {
	host, _, err := net.SplitHostPort(endpoint)
	if err != nil {
		host = endpoint
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// secretKeys are configuration keys whose string value is a credential.
var secretKeys = []string{"password", "api_key", "apikey", "token", "bearer_token", "client_secret", "secret", "authorization", "private_key"}

// secretsInline walks the configuration as written for credentials given as
// literal text, or as the default of an environment reference.
func (d *doctor) secretsInline(v any, key string) {
	switch v := v.(type) {
	case map[string]any:
		for k, sub := range v {
			d.secretsInline(sub, join(key, k))
		}
	case []any:
		for i, sub := range v {
			d.secretsInline(sub, join(key, strconv.Itoa(i)))
		}
	case string:
		name := strings.ToLower(key[strings.LastIndex(key, ":")+1:])
		if v == "" || !slices.Contains(secretKeys, name) {
			return
		}
		const fix = "${file:${env:CREDENTIALS_DIRECTORY}/<name>} (systemd LoadCredential=, a mounted Secret; config/production.yaml) or ${env:<NAME>} without a default"
		switch {
		case !strings.Contains(v, "${"):
			d.add(Error, key, "a secret is written into the configuration: whoever reads the file (backups, support bundles, version control) has it", fix)
		case inlineDefault(v):
			d.add(Error, key, "a secret is the default of an environment reference: whoever reads the file has it", fix)
		}
	}
}

// inlineDefault reports whether a ${env:NAME:-default} in v has a non-empty default.
func inlineDefault(v string) bool {
	for rest := v; ; {
		i := strings.Index(rest, ":-")
		if i < 0 {
			return false
		}
		rest = rest[i+2:]
		if !strings.HasPrefix(rest, "}") {
			return true
		}
	}
}

// pipelines: protections that belong in every production pipeline.
func (d *doctor) pipelines() {
	pipes, _ := get(d.conf, "service", "pipelines").(map[string]any)
	names := make([]string, 0, len(pipes))
	for n := range pipes {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		pm, _ := pipes[n].(map[string]any)
		if !slices.ContainsFunc(strs(pm["processors"]), func(id string) bool {
			return id == typeMemLimiter || strings.HasPrefix(id, typeMemLimiter+"/")
		}) {
			d.add(Warning, "service::pipelines::"+n+"::processors",
				"no memory_limiter: under a burst the collector grows until the kernel kills it, losing what it holds in memory",
				"put memory_limiter first in processors (limit_percentage: 80, spike_limit_percentage: 20)")
		}
	}
	for _, c := range d.used("exporters", typeExporter) {
		if str(get(c.cfg, "dead_letter", "index")) == "" {
			d.add(Warning, c.k("dead_letter", "index"),
				"no dead-letter index: documents Elasticsearch refuses for good are only counted and logged, then dropped",
				"dead_letter: {index: <index_prefix>-dead-letter}")
		}
	}
}

func join(key, k string) string {
	if key == "" {
		return k
	}
	return key + "::" + k
}

// get walks nested maps; nil when a step is missing.
func get(v any, path ...string) any {
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

func str(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	default:
		return fmt.Sprint(v)
	}
}

// strs reads a list of strings (or a single string).
func strs(v any) []string {
	switch v := v.(type) {
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			if s := str(e); s != "" {
				out = append(out, s)
			}
		}
		return out
	case []string:
		return v
	case string:
		if v != "" {
			return []string{v}
		}
	}
	return nil
}

func integer(v any) (int, bool) {
	switch v := v.(type) {
	case int:
		return v, true
	case int64:
		return int(v), true
	case uint64:
		return int(v), true
	case float64:
		return int(v), v == float64(int(v))
	case string:
		n, err := strconv.Atoi(strings.TrimSpace(v))
		return n, err == nil
	}
	return 0, false
}
