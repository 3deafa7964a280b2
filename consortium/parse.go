package consortium

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Load reads, parses and validates the configuration file at path. Relative
// member files are resolved against the file's directory. On any problem it
// returns a nil *Config and an *Error listing every problem found (an
// unreadable file is one problem naming the file and the OS error).
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		msg := err.Error()
		if pe, ok := errors.AsType[*fs.PathError](err); ok {
			msg = pe.Err.Error()
		}
		return nil, &Error{Problems: []*Problem{{File: path, Message: "cannot read the file: " + msg}}}
	}
	return Parse(data, path, filepath.Dir(path))
}

// Parse parses and validates a configuration held in memory. file names it
// in problems and becomes Config.File; relative member files are resolved
// against baseDir ("" means the process's working directory). Member files
// and globs are checked against the file system. Errors are as for Load.
//
// In the file, a key with an empty value (`key:` or `key: ~`) is the same as
// leaving the key out.
func Parse(data []byte, file, baseDir string) (*Config, error) {
	p := &parser{file: file, baseDir: baseDir, locks: map[string]string{}, lines: map[string]int{}, keyOwner: map[string]keyPlace{}}
	var c *Config
	if root := p.document(data); root != nil {
		c = p.config(root)
	}
	if len(p.problems) > 0 || c == nil {
		sortProblems(p.problems)
		return nil, &Error{Problems: p.problems}
	}
	c.File = file
	c.lines = p.lines
	return c, nil
}

var (
	idPattern       = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,39}$`)
	languagePattern = regexp.MustCompile(`^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$`)
	colorPattern    = regexp.MustCompile(`^#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$`)
	hexPattern      = regexp.MustCompile(`^[0-9a-fA-F]{64}$`)
	yamlLinePattern = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)
	wholePattern    = regexp.MustCompile(`^[-+]?[0-9_]+$`)
)

// maxWork bounds the mapping entries visited, so that a file full of aliases
// and merge keys cannot make validation run away.
const maxWork = 1 << 20

// parser walks the YAML node tree, building the Config and collecting
// problems with their lines and key paths.
type parser struct {
	file, baseDir string
	problems      []*Problem
	// inst labels problems with the institution being read ("" at the
	// consortium level).
	inst string
	// cons is the consortium read so far; institutions are checked against it.
	cons *Consortium
	// locks maps each locked leaf key to the name written in `locked`.
	locks map[string]string
	// badDefault marks consortium keys whose value was invalid, so that
	// institutions are not also compared against them.
	badDefault map[string]bool
	// keyOwner maps an API key hash to the institution and line that has it.
	keyOwner map[string]keyPlace
	// ltiOwner maps an LTI issuer and client id to the line registering it.
	ltiOwner map[string]int
	work     int
	tooMuch  bool
	// lines maps the key path of every key and list item read to its line,
	// for problems found after Load (see Config.Problem).
	lines map[string]int
}

type keyPlace struct {
	inst string
	line int
}

func (p *parser) add(n *yaml.Node, key, format string, args ...any) {
	line := 0
	if n != nil {
		line = n.Line
	}
	p.problems = append(p.problems, &Problem{
		File: p.file, Line: line, Institution: p.inst, Key: key,
		Message: fmt.Sprintf(format, args...),
	})
}

// document decodes the single YAML document into a node tree; nil if there
// is nothing usable.
func (p *parser) document(data []byte) (root *yaml.Node) {
	defer func() {
		// The YAML library is not ours; a panic on odd input becomes a
		// problem rather than a crash of the process that loads the file.
		if r := recover(); r != nil {
			p.add(nil, "", "the YAML parser failed: %v", r)
			root = nil
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			p.add(nil, "", "the file is empty")
		} else {
			p.syntax(err, data)
		}
		return nil
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		p.add(&extra, "", "the file holds more than one YAML document (a second \"---\"); it must hold one")
	case !errors.Is(err, io.EOF):
		p.syntax(err, data)
		return nil
	}
	root = &doc
	if doc.Kind == yaml.DocumentNode {
		if len(doc.Content) == 0 {
			p.add(nil, "", "the file is empty")
			return nil
		}
		root = doc.Content[0]
	}
	if isNull(resolve(root)) {
		p.add(nil, "", "the file is empty")
		return nil
	}
	return root
}

func (p *parser) syntax(err error, data []byte) {
	msg := err.Error()
	if m := yamlLinePattern.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		msg := "YAML syntax: " + m[2]
		if lines := bytes.Split(data, []byte("\n")); line >= 1 && line <= len(lines) && bytes.Contains(lines[line-1], []byte("\t")) {
			msg += " (the line holds a tab: indent with spaces)"
		}
		p.problems = append(p.problems, &Problem{File: p.file, Line: line, Message: msg})
		return
	}
	p.add(nil, "", "YAML syntax: %s", strings.TrimPrefix(msg, "yaml: "))
}

// ---- node helpers ----

func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 100; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n == nil || n.Kind == 0 || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null")
}

// present reports whether a key was given a (non-empty) value.
func present(n *yaml.Node) bool { return n != nil && !isNull(resolve(n)) }

func describe(n *yaml.Node) string {
	n = resolve(n)
	switch {
	case n == nil || isNull(n):
		return "empty"
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	}
	switch n.ShortTag() {
	case "!!int":
		return "the integer " + n.Value
	case "!!float":
		return "the number " + n.Value
	case "!!bool":
		return "the boolean " + n.Value
	}
	return strconv.Quote(n.Value)
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func index(path string, i int) string { return fmt.Sprintf("%s[%d]", path, i) }

// mapping is a YAML mapping whose keys have been checked.
type mapping struct {
	node *yaml.Node
	vals map[string]*yaml.Node
}

func (m mapping) get(key string) *yaml.Node { return m.vals[key] }

// mapping reads n as a mapping with the given known keys, reporting unknown,
// repeated and non-scalar keys. An empty value is an empty mapping. ok is
// false (and a problem reported) when n is not a mapping.
func (p *parser) mapping(n *yaml.Node, path string, known ...string) (mapping, bool) {
	m := mapping{node: n, vals: map[string]*yaml.Node{}}
	n = resolve(n)
	if isNull(n) {
		return m, true
	}
	m.node = n
	if n.Kind != yaml.MappingNode {
		p.add(n, path, "must be a mapping (key: value lines), not %s", describe(n))
		return m, false
	}
	first := map[string]int{}
	for _, kv := range p.entries(n, path, 0) {
		k, v := kv[0], kv[1]
		if k.Kind != yaml.ScalarNode {
			p.add(k, path, "keys must be plain names, not %s", describe(k))
			continue
		}
		if line, dup := first[k.Value]; dup {
			p.add(k, join(path, k.Value), "key %q is repeated (first on line %d)", k.Value, line)
			continue
		}
		first[k.Value] = k.Line
		p.lines[join(path, k.Value)] = k.Line
		if known != nil && !slices.Contains(known, k.Value) {
			p.add(k, join(path, k.Value), "unknown key %q (expected one of: %s)", k.Value, strings.Join(known, ", "))
			continue
		}
		m.vals[k.Value] = v
	}
	return m, true
}

// entries lists a mapping's key/value pairs with merge keys ("<<: *anchor")
// expanded: explicit keys win over merged ones, earlier merges over later.
func (p *parser) entries(n *yaml.Node, path string, depth int) [][2]*yaml.Node {
	var explicit, merged [][2]*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		p.work++
		if p.work > maxWork {
			if !p.tooMuch {
				p.tooMuch = true
				p.add(n, path, "the file expands to too many values (aliases and merges); write it out plainly")
			}
			return nil
		}
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			v = resolve(v)
			srcs := []*yaml.Node{v}
			if v != nil && v.Kind == yaml.SequenceNode {
				srcs = v.Content
			}
			for _, s := range srcs {
				s = resolve(s)
				if s == nil || s.Kind != yaml.MappingNode || depth > 8 {
					p.add(k, path, "a merge key (<<) must name a mapping")
					continue
				}
				merged = append(merged, p.entries(s, path, depth+1)...)
			}
			continue
		}
		explicit = append(explicit, [2]*yaml.Node{k, v})
	}
	seen := map[string]bool{}
	for _, kv := range explicit {
		seen[kv[0].Value] = true
	}
	out := explicit
	for _, kv := range merged {
		if !seen[kv[0].Value] {
			seen[kv[0].Value] = true
			out = append(out, kv)
		}
	}
	return out
}

// list reads n as a sequence; an empty value is an empty list.
func (p *parser) list(n *yaml.Node, path string) ([]*yaml.Node, bool) {
	n = resolve(n)
	if isNull(n) {
		return nil, true
	}
	if n.Kind != yaml.SequenceNode {
		p.add(n, path, "must be a list, not %s", describe(n))
		return nil, false
	}
	for i, item := range n.Content {
		if item = resolve(item); item != nil {
			p.lines[index(path, i)] = item.Line
		}
	}
	return n.Content, true
}

// str reads a scalar as text.
func (p *parser) str(n *yaml.Node, path string) (string, bool) {
	n = resolve(n)
	if n.Kind != yaml.ScalarNode {
		p.add(n, path, "must be a single value, not %s", describe(n))
		return "", false
	}
	return n.Value, true
}

// integer reads a whole number.
func (p *parser) integer(n *yaml.Node, path string) (int, bool) {
	n = resolve(n)
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!float" && wholePattern.MatchString(n.Value) {
		p.add(n, path, "%s is out of range", n.Value)
		return 0, false
	}
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
		p.add(n, path, "must be a whole number, not %s", describe(n))
		return 0, false
	}
	var v int
	if err := n.Decode(&v); err != nil {
		p.add(n, path, "%s is out of range", n.Value)
		return 0, false
	}
	return v, true
}

// required reads a required, non-empty text value.
func (p *parser) required(m mapping, key, path string) (string, *yaml.Node, bool) {
	n := m.get(key)
	if !present(n) {
		p.add(m.node, join(path, key), "required")
		return "", m.node, false
	}
	s, ok := p.str(n, join(path, key))
	if ok && strings.TrimSpace(s) == "" {
		p.add(n, join(path, key), "required, and must not be blank")
		ok = false
	}
	return s, resolve(n), ok
}

func (p *parser) id(m mapping, path string) string {
	s, n, ok := p.required(m, "id", path)
	if ok && !idPattern.MatchString(s) {
		p.add(n, join(path, "id"), "%q is not a valid id: use 1 to 40 lower-case letters, digits and '-', starting with a letter or digit", s)
		return ""
	}
	return s
}

func httpURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

func (p *parser) url(n *yaml.Node, path string) (string, bool) {
	s, ok := p.str(n, path)
	if !ok {
		return "", false
	}
	if !httpURL(s) {
		p.add(resolve(n), path, "%q is not an absolute http(s) URL", s)
		return "", false
	}
	return s, true
}

// ---- settings shared by defaults and overrides ----

func (p *parser) language(n *yaml.Node, path string) (string, bool) {
	s, ok := p.str(n, path)
	if ok && !languagePattern.MatchString(s) {
		p.add(resolve(n), path, "%q is not a language code like en, fr or pt-BR", s)
		return "", false
	}
	return s, ok
}

func (p *parser) positive(n *yaml.Node, path, what string) (int, bool) {
	v, ok := p.integer(n, path)
	if ok && v <= 0 {
		p.add(resolve(n), path, "%s must be positive, not %d", what, v)
		return 0, false
	}
	return v, ok
}

func (p *parser) pageSize(n *yaml.Node, path string) (int, bool) {
	v, ok := p.integer(n, path)
	if ok && (v < 1 || v > MaxPageSize) {
		p.add(resolve(n), path, "%d is outside 1..%d", v, MaxPageSize)
		return 0, false
	}
	return v, ok
}

func (p *parser) links(n *yaml.Node, path string) ([]ExternalLink, bool) {
	items, ok := p.list(n, path)
	if !ok {
		return nil, false
	}
	links := make([]ExternalLink, 0, len(items))
	for i, item := range items {
		ip := index(path, i)
		m, ok := p.mapping(item, ip, "label", "url")
		if !ok {
			continue
		}
		if isNull(resolve(item)) {
			p.add(resolve(item), ip, "an empty link; write {label: …, url: …}")
			continue
		}
		var l ExternalLink
		label, _, okL := p.required(m, "label", ip)
		l.Label = label
		okU := false
		if !present(m.get("url")) {
			p.add(m.node, join(ip, "url"), "required")
		} else {
			l.URL, okU = p.url(m.get("url"), join(ip, "url"))
		}
		if okL && okU {
			links = append(links, l)
		}
	}
	return links, true
}

// ---- the file ----

func (p *parser) config(root *yaml.Node) *Config {
	m, ok := p.mapping(root, "", "consortium", "institutions", "server")
	if !ok {
		return nil
	}
	c := &Config{}
	if sn := m.get("server"); present(sn) {
		p.server(sn, &c.Server)
	}
	p.cons = &c.Consortium
	if cn := m.get("consortium"); present(cn) {
		p.consortium(cn, &c.Consortium)
	} else {
		p.add(m.node, "consortium", "required: the consortium block with id, name and defaults")
		p.consortium(nil, &c.Consortium) // fill in the defaults to check institutions against
	}
	if in := m.get("institutions"); present(in) {
		c.Institutions = p.institutions(in)
	}
	return c
}

func (p *parser) consortium(n *yaml.Node, c *Consortium) {
	const path = "consortium"
	m, ok := p.mapping(n, path, "id", "name", "public_url", "defaults", "locked")
	if n != nil && ok {
		c.ID = p.id(m, path)
		c.Name, _, _ = p.required(m, "name", path)
		if un := m.get("public_url"); present(un) {
			if u, ok := p.url(un, join(path, "public_url")); ok {
				c.PublicURL = strings.TrimRight(u, "/")
			}
		}
	}
	p.badDefault = map[string]bool{}
	p.defaults(m.get("defaults"), join(path, "defaults"), &c.Defaults)
	if ln := m.get("locked"); present(ln) {
		p.locked(ln, join(path, "locked"), c)
	}
}

func (p *parser) defaults(n *yaml.Node, path string, d *Defaults) {
	*d = Defaults{
		Language:    DefaultLanguage,
		UploadMaxMB: UploadLimits{Instructor: DefaultUploadInstructor, Student: DefaultUploadStudent},
		Search:      Search{TimeoutMS: DefaultSearchTimeoutMS, MaxTimeoutMS: DefaultMaxTimeoutMS, PageSize: DefaultPageSize},
	}
	m, _ := p.mapping(n, path, "language", "upload_max_mb", "external_links", "search", "cache", "requests", "files")
	p.cache(m.get("cache"), join(path, "cache"), &d.Cache)
	p.filePolicy(m.get("files"), join(path, "files"), &d.Files)
	if rn := m.get("requests"); present(rn) {
		rm, _ := p.mapping(rn, join(path, "requests"), "kinds")
		if kn := rm.get("kinds"); present(kn) {
			d.Requests.Kinds = p.kinds(kn, join(path, "requests.kinds"), nil)
		}
	}
	setInt := func(n *yaml.Node, key string, dst *int, read func(*yaml.Node, string) (int, bool)) {
		if !present(n) {
			return
		}
		if v, ok := read(n, join(path, key)); ok {
			*dst = v
		} else {
			p.badDefault[key] = true
		}
	}
	if ln := m.get("language"); present(ln) {
		if v, ok := p.language(ln, join(path, "language")); ok {
			d.Language = v
		}
	}
	upload, _ := p.mapping(m.get("upload_max_mb"), join(path, "upload_max_mb"), "instructor", "student")
	limit := func(what string) func(*yaml.Node, string) (int, bool) {
		return func(n *yaml.Node, path string) (int, bool) { return p.positive(n, path, what) }
	}
	setInt(upload.get("instructor"), KeyUploadInstructor, &d.UploadMaxMB.Instructor, limit("an upload limit"))
	setInt(upload.get("student"), KeyUploadStudent, &d.UploadMaxMB.Student, limit("an upload limit"))
	if ln := m.get("external_links"); present(ln) {
		d.ExternalLinks, _ = p.links(ln, join(path, "external_links"))
		if len(d.ExternalLinks) == 0 {
			d.ExternalLinks = nil
		}
	}
	search, _ := p.mapping(m.get("search"), join(path, "search"), "timeout_ms", "max_timeout_ms", "page_size")
	setInt(search.get("max_timeout_ms"), keyMaxTimeoutMS, &d.Search.MaxTimeoutMS, limit("max_timeout_ms"))
	setInt(search.get("timeout_ms"), KeySearchTimeoutMS, &d.Search.TimeoutMS, limit("timeout_ms"))
	setInt(search.get("page_size"), KeySearchPageSize, &d.Search.PageSize, p.pageSize)
	if p.badDefault[keyMaxTimeoutMS] {
		return
	}
	if tn := search.get("timeout_ms"); !present(tn) {
		d.Search.TimeoutMS = min(d.Search.TimeoutMS, d.Search.MaxTimeoutMS)
	} else if !p.badDefault[KeySearchTimeoutMS] && d.Search.TimeoutMS > d.Search.MaxTimeoutMS {
		p.add(resolve(tn), join(path, "search.timeout_ms"), "%d exceeds search.max_timeout_ms (%d)", d.Search.TimeoutMS, d.Search.MaxTimeoutMS)
		p.badDefault[KeySearchTimeoutMS] = true
	}
}

// cache reads consortium.defaults.cache.
func (p *parser) cache(n *yaml.Node, path string, c *Cache) {
	*c = Cache{MaxEntries: DefaultCacheMaxEntries, MaxMB: DefaultCacheMaxMB, TTL: DefaultCacheTTL,
		PartialTTL: DefaultCachePartialTTL, StaleGrace: DefaultCacheStaleGrace}
	m, _ := p.mapping(n, path, "max_entries", "max_mb", "ttl", "partial_ttl", "stale_grace")
	if en := m.get("max_entries"); present(en) {
		if v, ok := p.positive(en, join(path, "max_entries"), "max_entries"); ok {
			c.MaxEntries = v
		}
	}
	if mn := m.get("max_mb"); present(mn) {
		if v, ok := p.positive(mn, join(path, "max_mb"), "max_mb"); ok {
			c.MaxMB = v
		}
	}
	for _, d := range []struct {
		key string
		dst *time.Duration
	}{{"ttl", &c.TTL}, {"partial_ttl", &c.PartialTTL}, {"stale_grace", &c.StaleGrace}} {
		if dn := m.get(d.key); present(dn) {
			if v, ok := p.duration(dn, join(path, d.key)); ok {
				*d.dst = v
			}
		}
	}
	if pn := m.get("partial_ttl"); c.PartialTTL > c.TTL {
		if present(pn) && c.TTL > 0 {
			p.add(resolve(pn), join(path, "partial_ttl"), "%s exceeds ttl (%s): a partial answer may not live longer than a complete one", c.PartialTTL, c.TTL)
		}
		c.PartialTTL = c.TTL
	}
}

// duration reads a duration such as 30s or 5m; 0 is allowed, negative
// values are not.
func (p *parser) duration(n *yaml.Node, path string) (time.Duration, bool) {
	n = resolve(n)
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!int" && n.Value == "0" {
		return 0, true
	}
	s, ok := p.str(n, path)
	if !ok {
		return 0, false
	}
	d, err := time.ParseDuration(s)
	switch {
	case err != nil:
		p.add(n, path, "%q is not a duration like 30s, 5m or 1h30m", s)
		return 0, false
	case d < 0:
		p.add(n, path, "%s is negative", s)
		return 0, false
	}
	return d, true
}

func (p *parser) locked(n *yaml.Node, path string, c *Consortium) {
	items, _ := p.list(n, path)
	for i, item := range items {
		ip := index(path, i)
		name, ok := p.str(item, ip)
		if !ok {
			continue
		}
		var leaves []string
		switch {
		case slices.Contains(overridable, name):
			leaves = []string{name}
		case keyGroups[name] != nil:
			leaves = keyGroups[name]
		case name == keyMaxTimeoutMS:
			p.add(resolve(item), ip, "search.max_timeout_ms is set by the consortium only; there is nothing to lock")
			continue
		default:
			p.add(resolve(item), ip, "%q is not an overridable key (lockable: %s, upload_max_mb, search, files)", name, strings.Join(overridable, ", "))
			continue
		}
		for _, l := range leaves {
			if _, dup := p.locks[l]; !dup {
				p.locks[l] = name
			}
		}
	}
	for _, k := range overridable {
		if _, ok := p.locks[k]; ok {
			c.Locked = append(c.Locked, k)
		}
	}
}

func (p *parser) institutions(n *yaml.Node) []Institution {
	const path = "institutions"
	items, _ := p.list(n, path)
	insts := make([]Institution, 0, len(items))
	firstLine := map[string]int{}
	p.ltiOwner = map[string]int{}
	for i, item := range items {
		label := fmt.Sprintf("#%d", i+1)
		if im := resolve(item); im != nil && im.Kind == yaml.MappingNode {
			for j := 0; j+1 < len(im.Content); j += 2 {
				if im.Content[j].Value == "id" {
					if v := resolve(im.Content[j+1]); v != nil && v.Kind == yaml.ScalarNode && idPattern.MatchString(v.Value) {
						label = v.Value
					}
				}
			}
		}
		p.inst = label
		ip := "institutions[" + label + "]"
		if isNull(resolve(item)) {
			p.add(resolve(item), ip, "an empty entry; each institution needs at least id and name")
			continue
		}
		m, ok := p.mapping(item, ip, "id", "name", "overrides", "branding", "member", "api_keys", "requests", "lti")
		if !ok {
			continue
		}
		inst := Institution{ID: p.id(m, ip)}
		if inst.ID != "" {
			if line, dup := firstLine[inst.ID]; dup {
				p.add(resolve(m.get("id")), join(ip, "id"), "duplicate institution id %q (first on line %d)", inst.ID, line)
			} else {
				firstLine[inst.ID] = resolve(m.get("id")).Line
			}
		}
		inst.Name, _, _ = p.required(m, "name", ip)
		p.overrides(m.get("overrides"), join(ip, "overrides"), &inst.Overrides)
		p.branding(m.get("branding"), join(ip, "branding"), &inst.Branding)
		if mn := m.get("member"); present(mn) {
			inst.Member = p.member(mn, join(ip, "member"))
		}
		if kn := m.get("api_keys"); present(kn) {
			inst.APIKeys = p.apiKeys(kn, join(ip, "api_keys"), label)
		}
		if rn := m.get("requests"); present(rn) {
			p.instRequests(rn, join(ip, "requests"), &inst.Requests)
		}
		p.lti(m.get("lti"), join(ip, "lti"), &inst.LTI)
		insts = append(insts, inst)
	}
	p.inst = ""
	return insts
}

func (p *parser) overrides(n *yaml.Node, path string, o *Overrides) {
	d := p.cons.Defaults
	m, _ := p.mapping(n, path, "language", "upload_max_mb", "external_links", "search", "files")
	// allowed reports a locked key overridden.
	allowed := func(n *yaml.Node, key string) bool {
		if name, locked := p.locks[key]; locked {
			p.add(resolve(n), join(path, key), "the consortium locks %q", name)
			return false
		}
		return true
	}
	if ln := m.get("language"); present(ln) && allowed(ln, KeyLanguage) {
		if v, ok := p.language(ln, join(path, KeyLanguage)); ok {
			o.Language = &v
		}
	}
	upload, _ := p.mapping(m.get("upload_max_mb"), join(path, "upload_max_mb"), "instructor", "student")
	for _, u := range []struct {
		key     string
		node    *yaml.Node
		ceiling int
		dst     **int
	}{
		{KeyUploadInstructor, upload.get("instructor"), d.UploadMaxMB.Instructor, &o.UploadMaxMB.Instructor},
		{KeyUploadStudent, upload.get("student"), d.UploadMaxMB.Student, &o.UploadMaxMB.Student},
	} {
		if !present(u.node) || !allowed(u.node, u.key) {
			continue
		}
		v, ok := p.positive(u.node, join(path, u.key), "an upload limit")
		if !ok {
			continue
		}
		if v > u.ceiling && !p.badDefault[u.key] {
			p.add(resolve(u.node), join(path, u.key), "%d exceeds the consortium ceiling of %d MB", v, u.ceiling)
			continue
		}
		*u.dst = &v
	}
	if ln := m.get("external_links"); present(ln) && allowed(ln, KeyExternalLinks) {
		if links, ok := p.links(ln, join(path, KeyExternalLinks)); ok {
			o.ExternalLinks = &links
		}
	}
	search, _ := p.mapping(m.get("search"), join(path, "search"), "timeout_ms", "page_size", "max_timeout_ms")
	if mt := search.get("max_timeout_ms"); mt != nil {
		p.add(resolve(mt), join(path, keyMaxTimeoutMS), "search.max_timeout_ms is set by the consortium only")
	}
	if tn := search.get("timeout_ms"); present(tn) && allowed(tn, KeySearchTimeoutMS) {
		if v, ok := p.timeoutMS(tn, join(path, KeySearchTimeoutMS), false); ok {
			o.Search.TimeoutMS = &v
		}
	}
	if pn := search.get("page_size"); present(pn) && allowed(pn, KeySearchPageSize) {
		if v, ok := p.pageSize(pn, join(path, KeySearchPageSize)); ok {
			o.Search.PageSize = &v
		}
	}
	p.fileOverrides(m.get("files"), join(path, "files"), &o.Files, allowed)
}

// timeoutMS reads a timeout in milliseconds capped by the consortium's
// max_timeout_ms; zero is allowed only where it means "the consortium's".
func (p *parser) timeoutMS(n *yaml.Node, path string, zeroOK bool) (int, bool) {
	v, ok := p.integer(n, path)
	if !ok {
		return 0, false
	}
	switch max := p.cons.Defaults.Search.MaxTimeoutMS; {
	case v < 0:
		p.add(resolve(n), path, "%d is negative", v)
		return 0, false
	case v == 0 && !zeroOK:
		p.add(resolve(n), path, "must be positive (leave it out to use the consortium's)")
		return 0, false
	case v > max && !p.badDefault[keyMaxTimeoutMS]:
		p.add(resolve(n), path, "%d exceeds the consortium's search.max_timeout_ms of %d", v, max)
		return 0, false
	}
	return v, true
}

func (p *parser) branding(n *yaml.Node, path string, b *Branding) {
	m, _ := p.mapping(n, path, "logo", "primary_color")
	if ln := m.get("logo"); present(ln) {
		if s, ok := p.str(ln, join(path, "logo")); ok {
			if s == "" || (strings.HasPrefix(s, "/") && !strings.HasPrefix(s, "//") && validPath(s)) || httpURL(s) {
				b.Logo = s // "" means no logo
			} else {
				p.add(resolve(ln), join(path, "logo"), "%q is neither an absolute http(s) URL nor a path starting with /", s)
			}
		}
	}
	if cn := m.get("primary_color"); present(cn) {
		if s, ok := p.str(cn, join(path, "primary_color")); ok {
			if colorPattern.MatchString(s) {
				b.PrimaryColor = s
			} else {
				p.add(resolve(cn), join(path, "primary_color"), "%q is not a colour like #123456 or #abc (quote it: a bare # starts a comment)", s)
			}
		}
	}
}

func validPath(s string) bool {
	u, err := url.Parse(s)
	return err == nil && u.Scheme == "" && u.Host == ""
}

func (p *parser) member(n *yaml.Node, path string) *Member {
	m, ok := p.mapping(n, path, "connector", "url", "files", "options", "timeout_ms", "max_in_flight", "breaker")
	if !ok {
		return nil
	}
	mem := &Member{
		MaxInFlight: DefaultMaxInFlight,
		Breaker:     Breaker{Failures: DefaultBreakerFailures, OpenFor: DefaultBreakerOpenFor},
		Timeout:     time.Duration(p.cons.Defaults.Search.TimeoutMS) * time.Millisecond,
	}
	kind, kn, ok := p.required(m, "connector", path)
	if ok && !slices.Contains(connectorKinds, kind) {
		p.add(kn, join(path, "connector"), "unknown connector %q (expected one of: %s)", kind, strings.Join(connectorKinds, ", "))
		ok = false
	}
	if ok {
		mem.Connector = kind
	}
	un, fn := m.get("url"), m.get("files")
	switch {
	case !ok: // without a known connector, url and files cannot be judged
	case kind == ConnectorLocal:
		if present(un) {
			p.add(resolve(un), join(path, "url"), "the local connector takes no url; it reads files")
		}
		if !present(fn) {
			p.add(m.node, join(path, "files"), "required for the local connector: the catalogue files to read")
		} else {
			mem.Files = p.files(fn, join(path, "files"))
		}
	default:
		if !present(un) {
			p.add(m.node, join(path, "url"), "required for the %s connector", kind)
		} else {
			mem.URL, _ = p.url(un, join(path, "url"))
		}
		if present(fn) {
			p.add(resolve(fn), join(path, "files"), "only the local connector reads files")
		}
	}
	if on := m.get("options"); present(on) {
		mem.Options = p.options(on, join(path, "options"))
	}
	if tn := m.get("timeout_ms"); present(tn) {
		if v, ok := p.timeoutMS(tn, join(path, "timeout_ms"), true); ok && v > 0 {
			mem.Timeout = time.Duration(v) * time.Millisecond
		}
	}
	if mn := m.get("max_in_flight"); present(mn) {
		if v, ok := p.integer(mn, join(path, "max_in_flight")); ok {
			switch {
			case v < 0:
				p.add(resolve(mn), join(path, "max_in_flight"), "%d is negative", v)
			case v > 0:
				mem.MaxInFlight = v
			}
		}
	}
	if bn := m.get("breaker"); present(bn) {
		p.breaker(bn, join(path, "breaker"), &mem.Breaker)
	}
	return mem
}

func (p *parser) breaker(n *yaml.Node, path string, b *Breaker) {
	m, _ := p.mapping(n, path, "failures", "open_for")
	if fn := m.get("failures"); present(fn) {
		if v, ok := p.integer(fn, join(path, "failures")); ok {
			switch {
			case v < 0:
				p.add(resolve(fn), join(path, "failures"), "%d is negative", v)
			case v > math.MaxUint32:
				p.add(resolve(fn), join(path, "failures"), "%d is too large", v)
			case v > 0:
				b.Failures = uint32(v)
			}
		}
	}
	if on := m.get("open_for"); present(on) {
		on = resolve(on)
		key := join(path, "open_for")
		if on.Kind == yaml.ScalarNode && on.ShortTag() == "!!int" && on.Value == "0" {
			return
		}
		s, ok := p.str(on, key)
		if !ok {
			return
		}
		d, err := time.ParseDuration(s)
		switch {
		case err != nil:
			p.add(on, key, "%q is not a duration like 30s or 1m30s", s)
		case d < 0:
			p.add(on, key, "%s is negative", s)
		case d > 0:
			b.OpenFor = d
		}
	}
}

// files resolves a local member's files and globs against the base directory.
func (p *parser) files(n *yaml.Node, path string) []string {
	items, ok := p.list(n, path)
	if !ok {
		return nil
	}
	if len(items) == 0 {
		p.add(resolve(n), path, "required for the local connector: the catalogue files to read")
		return nil
	}
	var out []string
	for i, item := range items {
		ip := index(path, i)
		if !present(item) {
			p.add(resolve(item), ip, "an empty file name")
			continue
		}
		name, ok := p.str(item, ip)
		if !ok {
			continue
		}
		full := name
		if !filepath.IsAbs(full) {
			full = filepath.Join(p.baseDir, full)
		}
		full, err := filepath.Abs(full)
		if err != nil {
			p.add(resolve(item), ip, "%s: %v", name, err)
			continue
		}
		if !strings.ContainsAny(name, "*?[") {
			st, err := os.Stat(full)
			switch {
			case err != nil:
				msg := err.Error()
				if pe, ok := errors.AsType[*fs.PathError](err); ok {
					msg = pe.Err.Error()
				}
				p.add(resolve(item), ip, "%s (%s): %s", name, full, msg)
			case st.IsDir():
				p.add(resolve(item), ip, "%s (%s) is a directory; name the files, or a glob such as %s", name, full, filepath.Join(name, "*.xml"))
			default:
				out = append(out, full)
			}
			continue
		}
		matches, err := filepath.Glob(full)
		if err != nil {
			p.add(resolve(item), ip, "%q is not a valid glob: %v", name, err)
			continue
		}
		found := 0
		for _, f := range matches {
			if st, err := os.Stat(f); err == nil && !st.IsDir() {
				out = append(out, f)
				found++
			}
		}
		if found == 0 {
			p.add(resolve(item), ip, "%s (%s) matches no file", name, full)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// options keeps a member's connector options as plain values.
func (p *parser) options(n *yaml.Node, path string) map[string]any {
	m, ok := p.mapping(n, path) // any key
	if !ok || len(m.vals) == 0 {
		return nil
	}
	opts := make(map[string]any, len(m.vals))
	for k, v := range m.vals {
		kp := join(path, k)
		if k == "" {
			p.add(resolve(v), path, "an option needs a name")
			continue
		}
		v = resolve(v)
		if v.Kind == yaml.SequenceNode {
			list := make([]any, 0, len(v.Content))
			for i, e := range v.Content {
				if x, ok := p.optionScalar(e, index(kp, i)); ok {
					list = append(list, x)
				}
			}
			opts[k] = list
			continue
		}
		if x, ok := p.optionScalar(v, kp); ok {
			opts[k] = x
		}
	}
	return opts
}

func (p *parser) optionScalar(n *yaml.Node, path string) (any, bool) {
	n = resolve(n)
	if n.Kind != yaml.ScalarNode || isNull(n) {
		p.add(n, path, "must be a string, number or true/false (or a list of them), not %s", describe(n))
		return nil, false
	}
	switch n.ShortTag() {
	case "!!int":
		var v int
		if err := n.Decode(&v); err == nil {
			return v, true
		}
		var f float64
		if err := n.Decode(&f); err == nil {
			return f, true
		}
	case "!!float":
		var f float64
		if err := n.Decode(&f); err == nil {
			return f, true
		}
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err == nil {
			return b, true
		}
	}
	return n.Value, true
}

// keyDigest reads the sha256 of a key entry at path ip: 64 hex digits,
// lower-cased, given to no other key in the file (owner names who holds
// it: an institution id, or "" for the operator).
func (p *parser) keyDigest(m mapping, ip, owner string) (string, bool) {
	sum, sn, ok := p.required(m, "sha256", ip)
	if !ok {
		return "", false
	}
	if !hexPattern.MatchString(sum) {
		p.add(sn, join(ip, "sha256"), "must be 64 hex digits (the SHA-256 of the token, e.g. from sha256sum), got %d characters", len(sum))
		return "", false
	}
	sum = strings.ToLower(sum)
	if prev, dup := p.keyOwner[sum]; dup {
		who := "institution " + prev.inst
		if prev.inst == "" {
			who = "the operator"
		}
		p.add(sn, join(ip, "sha256"), "the same key is already given to %s on line %d; each key must be unique", who, prev.line)
		return "", false
	}
	p.keyOwner[sum] = keyPlace{inst: owner, line: sn.Line}
	return sum, true
}

func (p *parser) apiKeys(n *yaml.Node, path, inst string) []APIKey {
	items, _ := p.list(n, path)
	var keys []APIKey
	for i, item := range items {
		ip := index(path, i)
		m, ok := p.mapping(item, ip, "sha256", "role")
		if !ok {
			continue
		}
		k := APIKey{Role: RoleAdmin}
		k.SHA256, ok = p.keyDigest(m, ip, inst)
		if rn := m.get("role"); present(rn) {
			role, rok := p.str(rn, join(ip, "role"))
			switch {
			case !rok:
				ok = false
			case role == RoleAdmin || role == RoleInstructor || role == RoleStudent:
				k.Role = role
			default:
				p.add(resolve(rn), join(ip, "role"), "unknown role %q (expected admin, instructor or student)", role)
				ok = false
			}
		}
		if ok {
			keys = append(keys, k)
		}
	}
	return keys
}

var envPattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// kinds reads a list of request kinds; with allowed not nil, each must be
// in it (the consortium's kinds). An empty list is an empty, non-nil slice.
func (p *parser) kinds(n *yaml.Node, path string, allowed []string) []string {
	items, _ := p.list(n, path)
	out := []string{}
	for i, item := range items {
		ip := index(path, i)
		k, ok := p.str(item, ip)
		switch {
		case !ok:
		case !slices.Contains(requestKinds, k):
			p.add(resolve(item), ip, "unknown request kind %q (expected one of: %s)", k, strings.Join(requestKinds, ", "))
		case allowed != nil && !slices.Contains(allowed, k):
			p.add(resolve(item), ip, "request kind %q is not enabled by the consortium (consortium.defaults.requests.kinds: [%s])", k, strings.Join(allowed, ", "))
		case slices.Contains(out, k):
			p.add(resolve(item), ip, "request kind %q is repeated", k)
		default:
			out = append(out, k)
		}
	}
	return out
}

// instRequests reads an institution's requests block.
func (p *parser) instRequests(n *yaml.Node, path string, r *InstitutionRequests) {
	m, _ := p.mapping(n, path, "kinds", "webhook", "iso18626")
	if kn := m.get("kinds"); kn != nil && !isNull(resolve(kn)) {
		allowed := p.cons.Defaults.Requests.Kinds
		if allowed == nil {
			allowed = []string{} // nothing enabled consortium-wide: nothing may be enabled here
		}
		r.Kinds = p.kinds(kn, join(path, "kinds"), allowed)
	}
	p.instISO18626(m.get("iso18626"), join(path, "iso18626"), r)
	wn := m.get("webhook")
	if !present(wn) {
		return
	}
	if present(m.get("iso18626")) {
		p.add(resolve(wn), join(path, "webhook"), "an institution hears of requests by webhook or by iso18626, not both")
		r.ISO18626 = nil
		return
	}
	wp := join(path, "webhook")
	wm, ok := p.mapping(wn, wp, "url", "secret_env")
	if !ok {
		return
	}
	w := &Webhook{}
	if un := wm.get("url"); !present(un) {
		p.add(wm.node, join(wp, "url"), "required: the absolute http(s) URL requests are POSTed to")
		ok = false
	} else if w.URL, ok = p.url(un, join(wp, "url")); !ok {
		ok = false
	}
	if sn := wm.get("secret_env"); present(sn) {
		s, sok := p.str(sn, join(wp, "secret_env"))
		if sok && !envPattern.MatchString(s) {
			p.add(resolve(sn), join(wp, "secret_env"), "%q is not an environment variable name (letters, digits and _, not starting with a digit)", s)
			sok = false
		}
		ok = ok && sok
		w.SecretEnv = s
	}
	if ok {
		r.Webhook = w
	}
}

// instISO18626 reads an institution's requests.iso18626 block.
func (p *parser) instISO18626(n *yaml.Node, path string, r *InstitutionRequests) {
	if !present(n) {
		return
	}
	m, ok := p.mapping(n, path, "url")
	if !ok {
		return
	}
	un := m.get("url")
	if !present(un) {
		p.add(m.node, join(path, "url"), "required: the absolute http(s) URL ISO 18626 messages are POSTed to")
		return
	}
	if u, ok := p.url(un, join(path, "url")); ok {
		r.ISO18626 = &ISO18626Endpoint{URL: u}
	}
}
