package consortium

import (
	"regexp"
	"slices"
	"strings"

	"github.com/commonshelf/commonshelf/index/files"
	"go.yaml.in/yaml/v3"
)

var mediaTypePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$`)

// boolean reads true or false.
func (p *parser) boolean(n *yaml.Node, path string) (bool, bool) {
	n = resolve(n)
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" {
		p.add(n, path, "must be true or false, not %s", describe(n))
		return false, false
	}
	var v bool
	if err := n.Decode(&v); err != nil {
		p.add(n, path, "must be true or false")
		return false, false
	}
	return v, true
}

// fileTypes reads a list of media types; with allowed not nil, each must be
// in it (the consortium's types).
func (p *parser) fileTypes(n *yaml.Node, path string, allowed []string) ([]string, bool) {
	items, ok := p.list(n, path)
	if !ok {
		return nil, false
	}
	out := []string{}
	for i, item := range items {
		ip := index(path, i)
		s, sok := p.str(item, ip)
		if !sok {
			ok = false
			continue
		}
		t := strings.ToLower(strings.TrimSpace(s))
		switch {
		case !mediaTypePattern.MatchString(t):
			p.add(resolve(item), ip, "%q is not a media type like application/pdf", s)
			ok = false
		case allowed != nil && !slices.Contains(allowed, t):
			p.add(resolve(item), ip, "%q is not allowed by the consortium (consortium.defaults.files.types)", t)
			ok = false
		case slices.Contains(out, t):
			p.add(resolve(item), ip, "%q is repeated", t)
			ok = false
		default:
			out = append(out, t)
		}
	}
	if ok && len(out) == 0 {
		p.add(resolve(n), path, "must list at least one media type (to stop uploads, set upload limits or student_uploads instead)")
		ok = false
	}
	return out, ok
}

// filePolicy reads consortium.defaults.files.
func (p *parser) filePolicy(n *yaml.Node, path string, f *FilePolicy) {
	*f = FilePolicy{Types: slices.Clone(files.DefaultTypes), QuotaMB: DefaultFileQuotaMB}
	m, _ := p.mapping(n, path, "student_uploads", "types", "quota_mb")
	if sn := m.get("student_uploads"); present(sn) {
		if v, ok := p.boolean(sn, join(path, "student_uploads")); ok {
			f.StudentUploads = v
		}
	}
	if tn := m.get("types"); present(tn) {
		if v, ok := p.fileTypes(tn, join(path, "types"), nil); ok {
			f.Types = v
		} else {
			p.badDefault[KeyFileTypes] = true
		}
	}
	if qn := m.get("quota_mb"); present(qn) {
		if v, ok := p.positive(qn, join(path, "quota_mb"), "a quota"); ok {
			f.QuotaMB = v
		} else {
			p.badDefault[KeyFileQuotaMB] = true
		}
	}
}

// fileOverrides reads an institution's overrides.files; allowed reports
// (and refuses) a locked key.
func (p *parser) fileOverrides(n *yaml.Node, path string, o *FileOverrides, allowed func(*yaml.Node, string) bool) {
	d := p.cons.Defaults.Files
	m, _ := p.mapping(n, path, "student_uploads", "types", "quota_mb")
	if sn := m.get("student_uploads"); present(sn) && allowed(sn, KeyStudentUploads) {
		if v, ok := p.boolean(sn, join(path, "student_uploads")); ok {
			o.StudentUploads = &v
		}
	}
	if tn := m.get("types"); present(tn) && allowed(tn, KeyFileTypes) {
		var within []string
		if !p.badDefault[KeyFileTypes] {
			within = d.Types
		}
		if v, ok := p.fileTypes(tn, join(path, "types"), within); ok {
			o.Types = &v
		}
	}
	if qn := m.get("quota_mb"); present(qn) && allowed(qn, KeyFileQuotaMB) {
		v, ok := p.positive(qn, join(path, "quota_mb"), "a quota")
		switch {
		case !ok:
		case v > d.QuotaMB && !p.badDefault[KeyFileQuotaMB]:
			p.add(resolve(qn), join(path, "quota_mb"), "%d exceeds the consortium ceiling of %d MB", v, d.QuotaMB)
		default:
			o.QuotaMB = &v
		}
	}
}
