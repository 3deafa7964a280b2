package consortium

import (
	"slices"
	"time"
)

// Overridable keys, as written in `locked` and shown in the effective view.
// Their order is the order of Effective.Settings.
const (
	KeyLanguage         = "language"
	KeyUploadInstructor = "upload_max_mb.instructor"
	KeyUploadStudent    = "upload_max_mb.student"
	KeyExternalLinks    = "external_links"
	KeySearchTimeoutMS  = "search.timeout_ms"
	KeySearchPageSize   = "search.page_size"
	KeyStudentUploads   = "files.student_uploads"
	KeyFileTypes        = "files.types"
	KeyFileQuotaMB      = "files.quota_mb"
	keyMaxTimeoutMS     = "search.max_timeout_ms"
	sourceConsortium    = "consortium"
	sourceInstitution   = "institution"
)

// overridable lists the overridable leaf keys in effective-view order.
var overridable = []string{
	KeyLanguage, KeyUploadInstructor, KeyUploadStudent,
	KeyExternalLinks, KeySearchTimeoutMS, KeySearchPageSize,
	KeyStudentUploads, KeyFileTypes, KeyFileQuotaMB,
}

// keyGroups are the names in `locked` that stand for several leaf keys.
var keyGroups = map[string][]string{
	"upload_max_mb": {KeyUploadInstructor, KeyUploadStudent},
	"search":        {KeySearchTimeoutMS, KeySearchPageSize},
	"files":         {KeyStudentUploads, KeyFileTypes, KeyFileQuotaMB},
}

// Setting is one effective setting of an institution.
type Setting struct {
	// Key is the dotted key, e.g. "upload_max_mb.student".
	Key string `json:"key"`
	// Value is a string (language), an int (upload limits and file quota in
	// MB, search timeout in ms, page size), a bool (student uploads), a
	// []string (file types) or a []ExternalLink (never nil).
	Value any `json:"value"`
	// Source is "consortium" (the consortium's value applies) or
	// "institution" (the institution overrides it).
	Source string `json:"source"`
	// Locked says the consortium does not let institutions override the key.
	Locked bool `json:"locked,omitempty"`
}

// Effective is the configuration an institution actually gets.
type Effective struct {
	// Institution is the institution's id; "" for the consortium's own view.
	Institution string `json:"institution"`
	// Settings holds every overridable key, always in this order: language,
	// upload_max_mb.instructor, upload_max_mb.student, external_links,
	// search.timeout_ms, search.page_size, files.student_uploads,
	// files.types, files.quota_mb.
	Settings []Setting `json:"settings"`
}

// Effective computes the effective settings of the institution with the given
// id. The id "" gives the consortium's defaults (every source "consortium"),
// e.g. for the gateway page without an institution. ok is false for an
// unknown id.
func (c *Config) Effective(id string) (e Effective, ok bool) {
	var o Overrides
	if id != "" {
		inst, found := c.Institution(id)
		if !found {
			return Effective{}, false
		}
		o = inst.Overrides
	}
	d := c.Consortium.Defaults
	links := func(l []ExternalLink) []ExternalLink { return append([]ExternalLink{}, l...) }
	e = Effective{Institution: id, Settings: make([]Setting, 0, len(overridable))}
	add := func(key string, def any, over any, set bool) {
		s := Setting{Key: key, Value: def, Source: sourceConsortium, Locked: c.Consortium.IsLocked(key)}
		if set {
			s.Value, s.Source = over, sourceInstitution
		}
		e.Settings = append(e.Settings, s)
	}
	add(KeyLanguage, d.Language, deref(o.Language), o.Language != nil)
	add(KeyUploadInstructor, d.UploadMaxMB.Instructor, deref(o.UploadMaxMB.Instructor), o.UploadMaxMB.Instructor != nil)
	add(KeyUploadStudent, d.UploadMaxMB.Student, deref(o.UploadMaxMB.Student), o.UploadMaxMB.Student != nil)
	var over []ExternalLink
	if o.ExternalLinks != nil {
		over = *o.ExternalLinks
	}
	add(KeyExternalLinks, links(d.ExternalLinks), links(over), o.ExternalLinks != nil)
	add(KeySearchTimeoutMS, d.Search.TimeoutMS, deref(o.Search.TimeoutMS), o.Search.TimeoutMS != nil)
	add(KeySearchPageSize, d.Search.PageSize, deref(o.Search.PageSize), o.Search.PageSize != nil)
	add(KeyStudentUploads, d.Files.StudentUploads, deref(o.Files.StudentUploads), o.Files.StudentUploads != nil)
	var types []string
	if o.Files.Types != nil {
		types = *o.Files.Types
	}
	add(KeyFileTypes, slices.Clone(d.Files.Types), slices.Clone(types), o.Files.Types != nil)
	add(KeyFileQuotaMB, d.Files.QuotaMB, deref(o.Files.QuotaMB), o.Files.QuotaMB != nil)
	return e, true
}

func deref[T any](p *T) T {
	var v T
	if p != nil {
		v = *p
	}
	return v
}

// Lookup returns the setting with the given key.
func (e Effective) Lookup(key string) (Setting, bool) {
	i := slices.IndexFunc(e.Settings, func(s Setting) bool { return s.Key == key })
	if i < 0 {
		return Setting{}, false
	}
	return e.Settings[i], true
}

func value[T any](e Effective, key string) T {
	s, _ := e.Lookup(key)
	v, _ := s.Value.(T)
	return v
}

// Language is the institution's interface language.
func (e Effective) Language() string { return value[string](e, KeyLanguage) }

// UploadMaxMB is the upload limit in megabytes for a role: student gets the
// student limit, instructor and admin the instructor limit; any other role 0.
func (e Effective) UploadMaxMB(role string) int {
	switch role {
	case RoleStudent:
		return value[int](e, KeyUploadStudent)
	case RoleInstructor, RoleAdmin:
		return value[int](e, KeyUploadInstructor)
	}
	return 0
}

// SearchTimeout is the budget of a search made from the institution.
func (e Effective) SearchTimeout() time.Duration {
	return time.Duration(value[int](e, KeySearchTimeoutMS)) * time.Millisecond
}

// PageSize is the institution's default number of results per page.
func (e Effective) PageSize() int { return value[int](e, KeySearchPageSize) }

// ExternalLinks are the links shown on the institution's gateway page; the
// caller may modify the returned slice.
func (e Effective) ExternalLinks() []ExternalLink {
	return slices.Clone(value[[]ExternalLink](e, KeyExternalLinks))
}

// StudentUploads reports whether the institution's students may attach files.
func (e Effective) StudentUploads() bool { return value[bool](e, KeyStudentUploads) }

// FileTypes are the media types the institution accepts; the caller may
// modify the returned slice.
func (e Effective) FileTypes() []string { return slices.Clone(value[[]string](e, KeyFileTypes)) }

// FileQuotaBytes is the institution's storage quota for attached files.
func (e Effective) FileQuotaBytes() int64 { return int64(value[int](e, KeyFileQuotaMB)) << 20 }

// UploadMaxBytes is the upload limit in bytes for a role (see UploadMaxMB).
func (e Effective) UploadMaxBytes(role string) int64 { return int64(e.UploadMaxMB(role)) << 20 }
