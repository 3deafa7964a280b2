package consortium

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/commonshelf/commonshelf/index/files"
)

func TestLoadValidFile(t *testing.T) {
	c, err := Load("testdata/valid/consortium.yaml")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if c.File != "testdata/valid/consortium.yaml" {
		t.Errorf("File = %q", c.File)
	}
	if c.Consortium.ID != "triangle" || c.Consortium.Name != "Triangle Libraries" {
		t.Errorf("consortium = %q %q", c.Consortium.ID, c.Consortium.Name)
	}
	wantDefaults := Defaults{
		Language:      "en",
		UploadMaxMB:   UploadLimits{Instructor: 50, Student: 10},
		ExternalLinks: []ExternalLink{{Label: "Ask a librarian", URL: "https://example.org/ask"}},
		Search:        Search{TimeoutMS: 3000, MaxTimeoutMS: 10000, PageSize: 20},
		Cache:         builtInCache,
		Files:         FilePolicy{Types: files.DefaultTypes, QuotaMB: 10240},
	}
	if !reflect.DeepEqual(c.Consortium.Defaults, wantDefaults) {
		t.Errorf("defaults = %+v, want %+v", c.Consortium.Defaults, wantDefaults)
	}
	if !reflect.DeepEqual(c.Consortium.Locked, []string{"external_links"}) {
		t.Errorf("locked = %v", c.Consortium.Locked)
	}
	if c.MaxTimeout() != 10*time.Second {
		t.Errorf("MaxTimeout = %v", c.MaxTimeout())
	}
	if got, want := c.Summary(), "Triangle Libraries (triangle): 4 institutions, 3 members (local 1, primo 1, sru 1)"; got != want {
		t.Errorf("Summary = %q, want %q", got, want)
	}

	var ids []string
	for _, m := range c.Members() {
		ids = append(ids, m.ID)
	}
	if !reflect.DeepEqual(ids, []string{"north", "south", "east"}) {
		t.Errorf("members = %v, want north south east in file order", ids)
	}
	if _, ok := c.Institution("nowhere"); ok {
		t.Error("Institution(nowhere) found something")
	}
	west, ok := c.Institution("west")
	if !ok || west.Member != nil || west.Name != "West Seminary" {
		t.Errorf("west = %+v, %v; want a non-member", west, ok)
	}

	dir, _ := filepath.Abs("testdata/valid")
	north, _ := c.Institution("north")
	wantNorth := Member{
		Connector: "local",
		Files: []string{
			filepath.Join(dir, "catalog/more/a.mrc"),
			filepath.Join(dir, "catalog/more/b.mrc"),
			filepath.Join(dir, "catalog/north.xml"),
		},
		Options: map[string]any{
			"record_schema": "marcxml", "boost": 1.5, "stem": true,
			"fields": []any{"title", "author"}, "batch": 500,
		},
		Timeout:     3 * time.Second,
		MaxInFlight: 16,
		Breaker:     Breaker{Failures: 5, OpenFor: 30 * time.Second},
	}
	if !reflect.DeepEqual(*north.Member, wantNorth) {
		t.Errorf("north member =\n%+v\nwant\n%+v", *north.Member, wantNorth)
	}
	if north.Branding != (Branding{Logo: "https://north.example.edu/logo.svg", PrimaryColor: "#123456"}) {
		t.Errorf("north branding = %+v", north.Branding)
	}
	if north.APIKeys[0].SHA256 != strings.ToLower(north.APIKeys[0].SHA256) || north.APIKeys[0].Role != "admin" {
		t.Errorf("north key 0 = %+v, want lower-case hash and role admin", north.APIKeys[0])
	}

	south, _ := c.Institution("south")
	wantSouth := Member{
		Connector: "sru", URL: "http://127.0.0.1:9101/catalog",
		Timeout: 3 * time.Second, MaxInFlight: 16,
		Breaker: Breaker{Failures: 3, OpenFor: time.Minute},
	}
	if !reflect.DeepEqual(*south.Member, wantSouth) {
		t.Errorf("south member = %+v, want %+v", *south.Member, wantSouth)
	}
	east, _ := c.Institution("east")
	if east.Member.Timeout != 2500*time.Millisecond || east.Member.MaxInFlight != 4 ||
		east.Member.Breaker != (Breaker{Failures: 4, OpenFor: time.Minute}) {
		t.Errorf("east member = %+v; want 2.5s, 4 in flight, breaker merged from south's anchor with failures 4", *east.Member)
	}
}

func TestEffective(t *testing.T) {
	c, err := Load("testdata/valid/consortium.yaml")
	if err != nil {
		t.Fatal(err)
	}
	links := []ExternalLink{{Label: "Ask a librarian", URL: "https://example.org/ask"}}
	tests := []struct {
		title string
		id    string
		want  []Setting
	}{
		{"north overrides language, the student limit and search; the rest comes from the consortium", "north", []Setting{
			{Key: "language", Value: "fr", Source: "institution"},
			{Key: "upload_max_mb.instructor", Value: 50, Source: "consortium"},
			{Key: "upload_max_mb.student", Value: 5, Source: "institution"},
			{Key: "external_links", Value: links, Source: "consortium", Locked: true},
			{Key: "search.timeout_ms", Value: 1500, Source: "institution"},
			{Key: "search.page_size", Value: 10, Source: "institution"},
			{Key: "files.student_uploads", Value: false, Source: "consortium"},
			{Key: "files.types", Value: files.DefaultTypes, Source: "consortium"},
			{Key: "files.quota_mb", Value: 10240, Source: "consortium"},
		}},
		{"south overrides nothing", "south", []Setting{
			{Key: "language", Value: "en", Source: "consortium"},
			{Key: "upload_max_mb.instructor", Value: 50, Source: "consortium"},
			{Key: "upload_max_mb.student", Value: 10, Source: "consortium"},
			{Key: "external_links", Value: links, Source: "consortium", Locked: true},
			{Key: "search.timeout_ms", Value: 3000, Source: "consortium"},
			{Key: "search.page_size", Value: 20, Source: "consortium"},
			{Key: "files.student_uploads", Value: false, Source: "consortium"},
			{Key: "files.types", Value: files.DefaultTypes, Source: "consortium"},
			{Key: "files.quota_mb", Value: 10240, Source: "consortium"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.title, func(t *testing.T) {
			e, ok := c.Effective(tt.id)
			if !ok {
				t.Fatalf("Effective(%q) not found", tt.id)
			}
			if e.Institution != tt.id || !reflect.DeepEqual(e.Settings, tt.want) {
				t.Errorf("Effective(%q) =\n%+v\nwant\n%+v", tt.id, e.Settings, tt.want)
			}
		})
	}

	north, _ := c.Effective("north")
	if north.Language() != "fr" || north.UploadMaxMB("student") != 5 || north.UploadMaxMB("instructor") != 50 ||
		north.UploadMaxMB("admin") != 50 || north.UploadMaxMB("guest") != 0 ||
		north.SearchTimeout() != 1500*time.Millisecond || north.PageSize() != 10 ||
		!reflect.DeepEqual(north.ExternalLinks(), links) {
		t.Errorf("north accessors disagree with its settings: %+v", north)
	}
	north.ExternalLinks()[0].Label = "changed"
	if c.Consortium.Defaults.ExternalLinks[0].Label != "Ask a librarian" {
		t.Error("changing the effective links changed the configuration")
	}

	js, err := json.Marshal(north)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"institution":"north"`, `{"key":"language","value":"fr","source":"institution"}`,
		`{"key":"external_links","value":[{"label":"Ask a librarian","url":"https://example.org/ask"}],"source":"consortium","locked":true}`} {
		if !strings.Contains(string(js), want) {
			t.Errorf("JSON %s lacks %s", js, want)
		}
	}

	if cons, ok := c.Effective(""); !ok || cons.Language() != "en" || cons.PageSize() != 20 {
		t.Errorf(`Effective("") = %+v, %v; want the consortium defaults`, cons, ok)
	}
	if _, ok := c.Effective("nowhere"); ok {
		t.Error("Effective of an unknown institution succeeded")
	}
}

func TestEffectiveOverriddenLinksMayBeEmpty(t *testing.T) {
	c, err := Parse([]byte(head+`
  - id: north
    name: North
    overrides: {external_links: []}
`), "c.yaml", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	e, _ := c.Effective("north")
	s, _ := e.Lookup("external_links")
	if s.Source != "institution" || len(e.ExternalLinks()) != 0 {
		t.Errorf("external_links = %+v; want an institution override with no links", s)
	}
	js, _ := json.Marshal(s)
	if !strings.Contains(string(js), `"value":[]`) {
		t.Errorf("JSON %s: an empty list must encode as [], not null", js)
	}
}

func TestBuiltInDefaults(t *testing.T) {
	c, err := Parse([]byte("consortium: {id: tiny, name: Tiny}\n"), "c.yaml", "")
	if err != nil {
		t.Fatal(err)
	}
	want := Defaults{
		Language:    "en",
		UploadMaxMB: UploadLimits{Instructor: 50, Student: 10},
		Search:      Search{TimeoutMS: 3000, MaxTimeoutMS: 10000, PageSize: 20},
		Cache:       builtInCache,
		Files:       FilePolicy{Types: files.DefaultTypes, QuotaMB: 10240},
	}
	if !reflect.DeepEqual(c.Consortium.Defaults, want) {
		t.Errorf("defaults = %+v, want %+v", c.Consortium.Defaults, want)
	}
	if c.Summary() != "Tiny (tiny): 0 institutions, 0 members" {
		t.Errorf("Summary = %q", c.Summary())
	}

	// A max below the built-in timeout pulls the unset timeout down with it.
	c, err = Parse([]byte("consortium: {id: tiny, name: Tiny, defaults: {search: {max_timeout_ms: 2000}}}\n"), "c.yaml", "")
	if err != nil {
		t.Fatal(err)
	}
	if c.Consortium.Defaults.Search.TimeoutMS != 2000 {
		t.Errorf("timeout_ms = %d, want 2000", c.Consortium.Defaults.Search.TimeoutMS)
	}
}

func TestKeyRole(t *testing.T) {
	hash := func(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }
	inst := &Institution{ID: "north", APIKeys: []APIKey{
		{SHA256: hash("admin-token"), Role: "admin"},
		{SHA256: hash("student-token"), Role: "student"},
		{SHA256: hash("defaulted-token")},
	}}
	tests := []struct {
		title, token, role string
		ok                 bool
	}{
		{"the admin's token", "admin-token", "admin", true},
		{"a student's token", "student-token", "student", true},
		{"a key without a role is an admin key", "defaulted-token", "admin", true},
		{"a wrong token", "admin-token2", "", false},
		{"the hash itself is not a token", hash("admin-token"), "", false},
		{"an empty token", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.title, func(t *testing.T) {
			role, ok := inst.KeyRole(tt.token)
			if role != tt.role || ok != tt.ok {
				t.Errorf("KeyRole(%q) = %q, %v; want %q, %v", tt.token, role, ok, tt.role, tt.ok)
			}
		})
	}

	c, err := Load("testdata/valid/consortium.yaml")
	if err != nil {
		t.Fatal(err)
	}
	north, _ := c.Institution("north")
	south, _ := c.Institution("south")
	if role, ok := north.KeyRole("secret-north-admin"); !ok || role != "admin" {
		t.Errorf("north admin token (upper-case hash in the file): %q %v", role, ok)
	}
	if role, ok := north.KeyRole("secret-north-student"); !ok || role != "student" {
		t.Errorf("north student token: %q %v", role, ok)
	}
	if _, ok := south.KeyRole("secret-north-admin"); ok {
		t.Error("south accepted north's token")
	}
}

func TestFilesResolvedAgainstTheConfigDirectory(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"cat/a.mrc", "cat/b.mrc", "cat/c.xml", "cat/z/deep.mrc", "top.xml"} {
		write(t, filepath.Join(dir, f), "x")
	}
	if err := os.MkdirAll(filepath.Join(dir, "cat/dir.mrc"), 0o755); err != nil {
		t.Fatal(err)
	}
	abs := filepath.Join(dir, "top.xml")
	tests := []struct {
		title string
		files string
		want  []string
	}{
		{"a relative file is found next to the config file", `[top.xml]`, []string{"top.xml"}},
		{"a glob is expanded and sorted, directories left out", `["cat/*.mrc"]`, []string{"cat/a.mrc", "cat/b.mrc"}},
		{"overlapping globs and names give each file once", `["cat/*", cat/a.mrc, "cat/?.xml"]`, []string{"cat/a.mrc", "cat/b.mrc", "cat/c.xml"}},
		{"an absolute path is kept", `["` + abs + `"]`, []string{"top.xml"}},
		{"a glob into a subdirectory", `["cat/*/*.mrc"]`, []string{"cat/z/deep.mrc"}},
	}
	for _, tt := range tests {
		t.Run(tt.title, func(t *testing.T) {
			path := filepath.Join(dir, "consortium.yaml")
			write(t, path, head+`
  - id: north
    name: North
    member: {connector: local, files: `+tt.files+`}
`)
			c, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, f := range tt.want {
				want = append(want, filepath.Join(dir, f))
			}
			if got := c.Institutions[0].Member.Files; !reflect.DeepEqual(got, want) {
				t.Errorf("files = %v, want %v", got, want)
			}
		})
	}
}

func TestLoadUnreadableFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing.yaml")
	_, err := Load(path)
	var cerr *Error
	if !errors.As(err, &cerr) || len(cerr.Problems) != 1 {
		t.Fatalf("err = %v, want one *Error problem", err)
	}
	if want := path + ": cannot read the file: no such file or directory"; err.Error() != want {
		t.Errorf("err = %q, want %q", err, want)
	}
}

func TestProblemFormat(t *testing.T) {
	_, err := Parse([]byte(head+`
  - id: north
    name: North University
    overrides:
      upload_max_mb: {student: 80}
`), "consortium.yaml", "")
	want := `consortium.yaml:19: institution north: overrides.upload_max_mb.student: 80 exceeds the consortium ceiling of 10 MB`
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v\nwant  %s", err, want)
	}
	var p *Problem
	if !errors.As(err, &p) || p.Institution != "north" || p.Key != "institutions[north].overrides.upload_max_mb.student" || p.Line != 19 {
		t.Errorf("problem = %+v", p)
	}
}

// head is a valid consortium block; tests append institutions to it.
const head = `consortium:
  id: triangle
  name: Triangle Libraries
  defaults:
    language: en
    upload_max_mb: {instructor: 50, student: 10}
    external_links:
      - {label: "Ask a librarian", url: "https://example.org/ask"}
    search: {timeout_ms: 3000, max_timeout_ms: 10000, page_size: 20}
  locked: [language]
# padding so that institutions start on a known line
#
#
#
institutions:`

func write(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestRequestSettings(t *testing.T) {
	c, err := Parse([]byte(`consortium:
  id: t
  name: T
  defaults:
    requests: {kinds: [loan, copy, purchase]}
institutions:
  - id: north
    name: N
    requests:
      kinds: [loan]
      webhook: {url: 'https://north.example.org/hooks/commonshelf', secret_env: NORTH_HOOK_SECRET}
  - {id: south, name: S, requests: {iso18626: {url: 'https://ill.south.example.org/iso18626'}}}
  - {id: east, name: E, requests: {kinds: []}}
`), "c.yaml", "")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		title string
		inst  string
		kinds []string
	}{
		{"an institution narrows the kinds", "north", []string{"loan"}},
		{"an institution without its own kinds has the consortium's", "south", []string{"loan", "copy", "purchase"}},
		{"an empty list turns requests off for the institution", "east", []string{}},
		{"an unknown institution has none", "west", nil},
	}
	for _, tt := range tests {
		t.Run(tt.title, func(t *testing.T) {
			if got := c.RequestKinds(tt.inst); !slices.Equal(got, tt.kinds) || (got == nil) != (tt.kinds == nil) {
				t.Fatalf("kinds %#v, want %#v", got, tt.kinds)
			}
		})
	}
	n, _ := c.Institution("north")
	if w := n.Requests.Webhook; w == nil || w.URL != "https://north.example.org/hooks/commonshelf" || w.SecretEnv != "NORTH_HOOK_SECRET" {
		t.Fatalf("webhook %+v", w)
	}
	if n.Requests.ISO18626 != nil {
		t.Fatalf("north has an iso18626 endpoint %+v", n.Requests.ISO18626)
	}
	s, _ := c.Institution("south")
	if e := s.Requests.ISO18626; e == nil || e.URL != "https://ill.south.example.org/iso18626" || s.Requests.Webhook != nil {
		t.Fatalf("south: iso18626 %+v, webhook %+v", e, s.Requests.Webhook)
	}
}

func TestFilePolicy(t *testing.T) {
	c, err := Parse([]byte(`consortium:
  id: t
  name: T
  defaults:
    files: {student_uploads: true, types: [application/pdf, image/png, text/plain], quota_mb: 500}
institutions:
  - {id: north, name: N, overrides: {files: {student_uploads: false, types: [application/pdf], quota_mb: 100}}}
  - {id: south, name: S}
`), "c.yaml", "")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		title    string
		inst     string
		students bool
		types    []string
		quota    int64
	}{
		{"north turns student uploads off, narrows the types and lowers its quota", "north", false, []string{"application/pdf"}, 100 << 20},
		{"south has the consortium's policy", "south", true, []string{"application/pdf", "image/png", "text/plain"}, 500 << 20},
	}
	for _, tt := range tests {
		t.Run(tt.title, func(t *testing.T) {
			e, _ := c.Effective(tt.inst)
			if e.StudentUploads() != tt.students || !slices.Equal(e.FileTypes(), tt.types) || e.FileQuotaBytes() != tt.quota {
				t.Fatalf("students %v, types %v, quota %d", e.StudentUploads(), e.FileTypes(), e.FileQuotaBytes())
			}
		})
	}
	e, _ := c.Effective("north")
	e.FileTypes()[0] = "changed"
	if e2, _ := c.Effective("north"); e2.FileTypes()[0] != "application/pdf" {
		t.Error("changing the effective types changed the configuration")
	}
}

func TestLTIRegistrations(t *testing.T) {
	c, err := Parse([]byte(`consortium: {id: t, name: T, public_url: 'https://shelf.example.org/'}
institutions:
  - id: north
    name: N
    lti:
      course_claim: custom.lis_course_code
      platforms:
        - {name: North Moodle, issuer: 'https://moodle.north.example.org', client_id: abc, deployment_ids: ['1', '2'],
           auth_url: 'https://moodle.north.example.org/mod/lti/auth.php', jwks_url: 'https://moodle.north.example.org/mod/lti/certs.php'}
        - {issuer: 'https://canvas.instructure.com', client_id: '10000000000001', deployment_ids: ['7:abc'],
           auth_url: 'https://sso.canvaslms.com/api/lti/authorize_redirect', jwks_url: 'https://sso.canvaslms.com/api/lti/security/jwks',
           course_claim: context.title, frame_origins: ['https://north.instructure.com/']}
  - {id: south, name: S}
`), "c.yaml", "")
	if err != nil {
		t.Fatal(err)
	}
	if c.Consortium.PublicURL != "https://shelf.example.org" {
		t.Errorf("public url %q, want it without the trailing slash", c.Consortium.PublicURL)
	}
	ps := c.LTIPlatforms()
	if len(ps) != 2 {
		t.Fatalf("%d platforms, want 2: %+v", len(ps), ps)
	}
	if p := ps[0]; p.Institution != "north" || p.Name != "North Moodle" || p.CourseClaim != "custom.lis_course_code" || !slices.Equal(p.DeploymentIDs, []string{"1", "2"}) {
		t.Errorf("first platform %+v", p)
	}
	if p := ps[1]; p.Name != "https://canvas.instructure.com" || p.CourseClaim != "context.title" || !slices.Equal(p.FrameOrigins, []string{"https://north.instructure.com"}) {
		t.Errorf("second platform %+v: the name defaults to the issuer and the platform's own claim wins", p)
	}
	if s, _ := c.Institution("south"); s.LTI.CourseClaim != DefaultCourseClaim || s.LTI.Platforms != nil {
		t.Errorf("south LTI %+v, want the default claim and no platforms", s.LTI)
	}
}
