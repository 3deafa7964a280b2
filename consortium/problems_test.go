package consortium

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

// TestProblems loads one broken file per case and checks that the report
// names the file, the institution and the key, and says what is wrong.
func TestProblems(t *testing.T) {
	const hash = "947c03df05d71c15233a39e21c3fc53b35cee139d5d75493884b9e93c3d7da9e"
	tests := []struct {
		title string
		yaml  string // the whole file; "{{head}}" stands for a valid consortium block ending in "institutions:"
		want  []string
	}{
		// The file itself.
		{"an empty file", "", []string{"consortium.yaml: the file is empty"}},
		{"a file of comments only", "# nothing yet\n", []string{"consortium.yaml: the file is empty"}},
		{"a YAML syntax error names its line", "consortium:\n  id: x\n name: y\n", []string{"consortium.yaml:2: YAML syntax:"}},
		{"a tab in the indentation", "consortium:\n\tid: x\n", []string{"consortium.yaml:2: YAML syntax:", "indent with spaces"}},
		{"a number too large", "consortium: {id: t, name: T, defaults: {search: {timeout_ms: 99999999999999999999999}}}\n", []string{"consortium.defaults.search.timeout_ms: 99999999999999999999999 is out of range"}},
		{"the consortium is a string", "consortium: triangle\n", []string{`consortium.yaml:1: consortium: must be a mapping (key: value lines), not "triangle"`}},
		{"an unclosed flow mapping", "consortium: {id: x\n", []string{"consortium.yaml:", "YAML syntax:"}},
		{"two YAML documents", "consortium: {id: a, name: A}\n---\nconsortium: {id: b, name: B}\n", []string{"consortium.yaml:2: ", "more than one YAML document"}},
		{"the top level is a list", "- a\n- b\n", []string{"consortium.yaml:1: must be a mapping"}},
		{"unknown top-level key", "consortium: {id: a, name: A}\nmembers: []\n", []string{`consortium.yaml:2: members: unknown key "members"`}},
		{"a repeated key", "consortium: {id: a, name: A}\nconsortium: {id: b, name: B}\n", []string{`consortium.yaml:2: consortium: key "consortium" is repeated (first on line 1)`}},

		// Consortium level.
		{"consortium missing", "institutions: []\n", []string{"consortium.yaml:1: consortium: required"}},
		{"consortium id and name missing", "consortium: {defaults: {}}\n", []string{"consortium.id: required", "consortium.name: required"}},
		{"bad consortium id", "consortium: {id: Triangle_Libs, name: T}\n", []string{`consortium.yaml:1: consortium.id: "Triangle_Libs" is not a valid id`}},
		{"unknown key in the defaults", "consortium:\n  id: t\n  name: T\n  defaults: {langauge: fr}\n", []string{`consortium.yaml:4: consortium.defaults.langauge: unknown key "langauge"`}},
		{"bad default language", "consortium: {id: t, name: T, defaults: {language: French}}\n", []string{`consortium.defaults.language: "French" is not a language code`}},
		{"default upload limit zero", "consortium: {id: t, name: T, defaults: {upload_max_mb: {student: 0}}}\n", []string{"consortium.defaults.upload_max_mb.student: an upload limit must be positive, not 0"}},
		{"default upload limit is text", "consortium: {id: t, name: T, defaults: {upload_max_mb: {student: \"10\"}}}\n", []string{`consortium.defaults.upload_max_mb.student: must be a whole number, not "10"`}},
		{"default page size too large", "consortium: {id: t, name: T, defaults: {search: {page_size: 500}}}\n", []string{"consortium.defaults.search.page_size: 500 is outside 1..100"}},
		{"default page size zero", "consortium: {id: t, name: T, defaults: {search: {page_size: 0}}}\n", []string{"consortium.defaults.search.page_size: 0 is outside 1..100"}},
		{"default timeout above the max", "consortium: {id: t, name: T, defaults: {search: {timeout_ms: 20000}}}\n", []string{"consortium.defaults.search.timeout_ms: 20000 exceeds search.max_timeout_ms (10000)"}},
		{"default timeout negative", "consortium: {id: t, name: T, defaults: {search: {timeout_ms: -1}}}\n", []string{"consortium.defaults.search.timeout_ms: timeout_ms must be positive, not -1"}},
		{"search is a list", "consortium: {id: t, name: T, defaults: {search: [1, 2]}}\n", []string{"consortium.defaults.search: must be a mapping (key: value lines), not a list"}},
		{"external link with a relative url and no label", "consortium:\n  id: t\n  name: T\n  defaults:\n    external_links:\n      - {url: /ask}\n", []string{
			"consortium.yaml:6: consortium.defaults.external_links[0].label: required",
			`consortium.yaml:6: consortium.defaults.external_links[0].url: "/ask" is not an absolute http(s) URL`,
		}},
		{"external link with an ftp url", "consortium: {id: t, name: T, defaults: {external_links: [{label: A, url: 'ftp://x.org/a'}]}}\n", []string{`external_links[0].url: "ftp://x.org/a" is not an absolute http(s) URL`}},
		{"locking an unknown key", "consortium: {id: t, name: T, locked: [colour]}\n", []string{`consortium.locked[0]: "colour" is not an overridable key`}},
		{"locking the consortium-only max", "consortium: {id: t, name: T, locked: [search.max_timeout_ms]}\n", []string{"consortium.locked[0]: search.max_timeout_ms is set by the consortium only"}},

		// Institutions.
		{"institutions is a mapping", "{{head}} {north: {}}\n", []string{"institutions: must be a list"}},
		{"institution without id or name", "{{head}}\n  - overrides: {}\n", []string{"institution #1: id: required", "institution #1: name: required"}},
		{"institution with a bad id", "{{head}}\n  - {id: North Uni, name: N}\n", []string{`institution #1: id: "North Uni" is not a valid id`}},
		{"duplicate institution ids", "{{head}}\n  - {id: north, name: N}\n  - {id: north, name: N2}\n", []string{`consortium.yaml:17: institution north: id: duplicate institution id "north" (first on line 16)`}},
		{"unknown institution key", "{{head}}\n  - {id: north, name: N, colour: red}\n", []string{`consortium.yaml:16: institution north: colour: unknown key "colour"`}},
		{"an empty institution entry", "{{head}}\n  -\n", []string{"institution #1: an empty entry"}},

		// Overrides.
		{"overriding a locked key", "{{head}}\n  - id: north\n    name: N\n    overrides: {language: fr}\n", []string{`consortium.yaml:18: institution north: overrides.language: the consortium locks "language"`}},
		{"raising an upload limit above the ceiling", "{{head}}\n  - id: north\n    name: N\n    overrides:\n      upload_max_mb: {instructor: 200}\n", []string{"consortium.yaml:19: institution north: overrides.upload_max_mb.instructor: 200 exceeds the consortium ceiling of 50 MB"}},
		{"an upload limit of zero", "{{head}}\n  - {id: north, name: N, overrides: {upload_max_mb: {student: 0}}}\n", []string{"institution north: overrides.upload_max_mb.student: an upload limit must be positive, not 0"}},
		{"overriding the max timeout", "{{head}}\n  - {id: north, name: N, overrides: {search: {max_timeout_ms: 60000}}}\n", []string{"institution north: overrides.search.max_timeout_ms: search.max_timeout_ms is set by the consortium only"}},
		{"an institution timeout above the max", "{{head}}\n  - {id: north, name: N, overrides: {search: {timeout_ms: 12000}}}\n", []string{"institution north: overrides.search.timeout_ms: 12000 exceeds the consortium's search.max_timeout_ms of 10000"}},
		{"an institution timeout of zero", "{{head}}\n  - {id: north, name: N, overrides: {search: {timeout_ms: 0}}}\n", []string{"institution north: overrides.search.timeout_ms: must be positive"}},
		{"an institution page size of 101", "{{head}}\n  - {id: north, name: N, overrides: {search: {page_size: 101}}}\n", []string{"institution north: overrides.search.page_size: 101 is outside 1..100"}},
		{"an overridden link without a url", "{{head}}\n  - {id: north, name: N, overrides: {external_links: [{label: Ask}]}}\n", []string{"institution north: overrides.external_links[0].url: required"}},
		{"an unknown request kind", "consortium: {id: t, name: T, defaults: {requests: {kinds: [loan, borrow]}}}\n", []string{`consortium.defaults.requests.kinds[1]: unknown request kind "borrow" (expected one of: loan, copy, purchase)`}},
		{"an unknown key under the consortium's requests", "consortium: {id: t, name: T, defaults: {requests: {webhook: {url: 'https://x.org/'}}}}\n", []string{`consortium.defaults.requests.webhook: unknown key "webhook" (expected one of: kinds)`}},
		{"an institution enabling a kind the consortium does not", "{{head}}\n  - {id: north, name: N, requests: {kinds: [loan]}}\n", []string{`institution north: requests.kinds[0]: request kind "loan" is not enabled by the consortium`}},
		{"a webhook with a relative url", "{{head}}\n  - {id: north, name: N, requests: {webhook: {url: /hook}}}\n", []string{`institution north: requests.webhook.url: "/hook" is not an absolute http(s) URL`}},
		{"a webhook without a url", "{{head}}\n  - {id: north, name: N, requests: {webhook: {secret_env: HOOK_SECRET}}}\n", []string{"institution north: requests.webhook.url: required"}},
		{"a webhook secret that is not a variable name", "{{head}}\n  - {id: north, name: N, requests: {webhook: {url: 'https://x.org/h', secret_env: 'my-secret'}}}\n", []string{`institution north: requests.webhook.secret_env: "my-secret" is not an environment variable name`}},
		{"an iso18626 endpoint with a relative url", "{{head}}\n  - {id: north, name: N, requests: {iso18626: {url: /ill}}}\n", []string{`institution north: requests.iso18626.url: "/ill" is not an absolute http(s) URL`}},
		{"an iso18626 endpoint with an ftp url", "{{head}}\n  - {id: north, name: N, requests: {iso18626: {url: 'ftp://x.org/ill'}}}\n", []string{`institution north: requests.iso18626.url: "ftp://x.org/ill" is not an absolute http(s) URL`}},
		{"an iso18626 endpoint without a url", "{{head}}\n  - {id: north, name: N, requests: {iso18626: {}}}\n", []string{"institution north: requests.iso18626.url: required"}},
		{"an iso18626 endpoint with an unknown key", "{{head}}\n  - {id: north, name: N, requests: {iso18626: {url: 'https://x.org/ill', secret_env: S}}}\n", []string{`institution north: requests.iso18626.secret_env: unknown key "secret_env" (expected one of: url)`}},
		{"both a webhook and an iso18626 endpoint", "{{head}}\n  - {id: north, name: N, requests: {webhook: {url: 'https://x.org/h'}, iso18626: {url: 'https://x.org/ill'}}}\n", []string{"institution north: requests.webhook: an institution hears of requests by webhook or by iso18626, not both"}},
		{"a webhook secret written in the file", "{{head}}\n  - {id: north, name: N, requests: {webhook: {url: 'https://x.org/h', secret: abc}}}\n", []string{`institution north: requests.webhook.secret: unknown key "secret" (expected one of: url, secret_env)`}},
		{"an unknown override", "{{head}}\n  - {id: north, name: N, overrides: {theme: dark}}\n", []string{`institution north: overrides.theme: unknown key "theme"`}},

		// Files.
		{"a default file type that is not a media type", "consortium: {id: t, name: T, defaults: {files: {types: [pdf]}}}\n", []string{`consortium.defaults.files.types[0]: "pdf" is not a media type like application/pdf`}},
		{"student uploads written as yes-ish text", "consortium: {id: t, name: T, defaults: {files: {student_uploads: 'yes'}}}\n", []string{`consortium.defaults.files.student_uploads: must be true or false, not "yes"`}},
		{"an empty type list", "consortium: {id: t, name: T, defaults: {files: {types: []}}}\n", []string{"consortium.defaults.files.types: must list at least one media type"}},
		{"an institution allowing a type the consortium does not", "{{head}}\n  - {id: north, name: N, overrides: {files: {types: [application/x-msdownload]}}}\n", []string{`institution north: overrides.files.types[0]: "application/x-msdownload" is not allowed by the consortium`}},
		{"an institution raising its quota", "{{head}}\n  - {id: north, name: N, overrides: {files: {quota_mb: 999999}}}\n", []string{"institution north: overrides.files.quota_mb: 999999 exceeds the consortium ceiling of 10240 MB"}},

		// LTI.
		{"a platform without deployment ids or jwks", "{{head}}\n  - {id: north, name: N, lti: {platforms: [{issuer: 'https://lms.example.org', client_id: c, auth_url: 'https://lms.example.org/auth'}]}}\n", []string{
			"institution north: lti.platforms[0].deployment_ids: required", "institution north: lti.platforms[0].jwks_url: required"}},
		{"a platform with a relative auth url", "{{head}}\n  - {id: north, name: N, lti: {platforms: [{issuer: 'https://lms.example.org', client_id: c, deployment_ids: ['1'], auth_url: /auth, jwks_url: 'https://lms.example.org/jwks'}]}}\n", []string{
			`institution north: lti.platforms[0].auth_url: "/auth" is not an absolute http(s) URL`}},
		{"an unknown course claim", "{{head}}\n  - {id: north, name: N, lti: {course_claim: context.code}}\n", []string{`institution north: lti.course_claim: "context.code" is not a course claim`}},
		{"one registration twice", "{{head}}\n  - {id: north, name: N, lti: {platforms: [{issuer: 'https://lms.example.org', client_id: c, deployment_ids: ['1'], auth_url: 'https://lms.example.org/a', jwks_url: 'https://lms.example.org/j'}]}}\n  - {id: south, name: S, lti: {platforms: [{issuer: 'https://lms.example.org', client_id: c, deployment_ids: ['2'], auth_url: 'https://lms.example.org/a', jwks_url: 'https://lms.example.org/j'}]}}\n",
			[]string{`institution south: lti.platforms[0].client_id: issuer "https://lms.example.org" with client_id "c" is already registered on line 16`}},
		{"a frame origin with a path", "{{head}}\n  - {id: north, name: N, lti: {platforms: [{issuer: 'https://lms.example.org', client_id: c, deployment_ids: ['1'], auth_url: 'https://lms.example.org/a', jwks_url: 'https://lms.example.org/j', frame_origins: ['https://lms.example.org/courses']}]}}\n",
			[]string{`institution north: lti.platforms[0].frame_origins[0]: "https://lms.example.org/courses" is not an origin`}},
		{"a public url that is a path", "consortium: {id: t, name: T, public_url: /shelf}\n", []string{`consortium.public_url: "/shelf" is not an absolute http(s) URL`}},

		// Branding.
		{"a colour that is not hex", "{{head}}\n  - {id: north, name: N, branding: {primary_color: 'navy'}}\n", []string{`institution north: branding.primary_color: "navy" is not a colour`}},
		{"a colour of four digits", "{{head}}\n  - {id: north, name: N, branding: {primary_color: '#1234'}}\n", []string{`branding.primary_color: "#1234" is not a colour`}},
		{"a javascript logo", "{{head}}\n  - {id: north, name: N, branding: {logo: 'javascript:alert(1)'}}\n", []string{`institution north: branding.logo: "javascript:alert(1)" is neither`}},

		// Members.
		{"a member without a connector", "{{head}}\n  - {id: north, name: N, member: {url: 'http://x.org/'}}\n", []string{"institution north: member.connector: required"}},
		{"an unknown connector", "{{head}}\n  - {id: north, name: N, member: {connector: z3950, url: 'http://x.org/'}}\n", []string{`institution north: member.connector: unknown connector "z3950" (expected one of: local, sru, primo, solr, opensearch)`}},
		{"an sru member without url", "{{head}}\n  - {id: north, name: N, member: {connector: sru}}\n", []string{"institution north: member.url: required for the sru connector"}},
		{"a solr member with a relative url", "{{head}}\n  - {id: north, name: N, member: {connector: solr, url: 'solr/core'}}\n", []string{`institution north: member.url: "solr/core" is not an absolute http(s) URL`}},
		{"a local member without files", "{{head}}\n  - {id: north, name: N, member: {connector: local}}\n", []string{"institution north: member.files: required for the local connector"}},
		{"a local member with an empty file list", "{{head}}\n  - {id: north, name: N, member: {connector: local, files: []}}\n", []string{"institution north: member.files: required for the local connector"}},
		{"a local member whose file is missing", "{{head}}\n  - {id: north, name: N, member: {connector: local, files: [gone.xml]}}\n", []string{"institution north: member.files[0]: gone.xml (", "gone.xml): no such file or directory"}},
		{"a local member whose glob matches nothing", "{{head}}\n  - {id: north, name: N, member: {connector: local, files: [present.xml, 'none/*.mrc']}}\n", []string{"institution north: member.files[1]: none/*.mrc (", "matches no file"}},
		{"a local member with a url", "{{head}}\n  - {id: north, name: N, member: {connector: local, url: 'http://x.org/', files: [present.xml]}}\n", []string{"institution north: member.url: the local connector takes no url"}},
		{"an sru member with files", "{{head}}\n  - {id: north, name: N, member: {connector: sru, url: 'http://x.org/', files: [present.xml]}}\n", []string{"institution north: member.files: only the local connector reads files"}},
		{"a negative member timeout", "{{head}}\n  - {id: north, name: N, member: {connector: sru, url: 'http://x.org/', timeout_ms: -5}}\n", []string{"institution north: member.timeout_ms: -5 is negative"}},
		{"a member timeout above the max", "{{head}}\n  - {id: north, name: N, member: {connector: sru, url: 'http://x.org/', timeout_ms: 10001}}\n", []string{"institution north: member.timeout_ms: 10001 exceeds the consortium's search.max_timeout_ms of 10000"}},
		{"a negative max_in_flight", "{{head}}\n  - {id: north, name: N, member: {connector: sru, url: 'http://x.org/', max_in_flight: -1}}\n", []string{"institution north: member.max_in_flight: -1 is negative"}},
		{"negative breaker failures", "{{head}}\n  - {id: north, name: N, member: {connector: sru, url: 'http://x.org/', breaker: {failures: -2}}}\n", []string{"institution north: member.breaker.failures: -2 is negative"}},
		{"an unparsable open_for", "{{head}}\n  - {id: north, name: N, member: {connector: sru, url: 'http://x.org/', breaker: {open_for: 30}}}\n", []string{`institution north: member.breaker.open_for: "30" is not a duration like 30s`}},
		{"a negative open_for", "{{head}}\n  - {id: north, name: N, member: {connector: sru, url: 'http://x.org/', breaker: {open_for: -1s}}}\n", []string{"institution north: member.breaker.open_for: -1s is negative"}},
		{"an unknown key deep inside the breaker", "{{head}}\n  - id: north\n    name: N\n    member:\n      connector: sru\n      url: http://x.org/\n      breaker:\n        failures: 3\n        retries: 2\n", []string{
			`consortium.yaml:23: institution north: member.breaker.retries: unknown key "retries" (expected one of: failures, open_for)`,
		}},
		{"an option holding a mapping", "{{head}}\n  - {id: north, name: N, member: {connector: sru, url: 'http://x.org/', options: {auth: {user: u}}}}\n", []string{"institution north: member.options.auth: must be a string, number or true/false"}},

		// API keys.
		{"a short sha256", "{{head}}\n  - {id: north, name: N, api_keys: [{sha256: abc123}]}\n", []string{"institution north: api_keys[0].sha256: must be 64 hex digits"}},
		{"a sha256 with non-hex digits", "{{head}}\n  - {id: north, name: N, api_keys: [{sha256: " + strings.Repeat("g", 64) + "}]}\n", []string{"institution north: api_keys[0].sha256: must be 64 hex digits"}},
		{"a key without sha256", "{{head}}\n  - {id: north, name: N, api_keys: [{role: admin}]}\n", []string{"institution north: api_keys[0].sha256: required"}},
		{"an unknown role", "{{head}}\n  - {id: north, name: N, api_keys: [{sha256: " + hash + ", role: owner}]}\n", []string{`institution north: api_keys[0].role: unknown role "owner"`}},
		{"one key for two institutions", "{{head}}\n  - {id: north, name: N, api_keys: [{sha256: " + hash + "}]}\n  - {id: south, name: S, api_keys: [{sha256: " + strings.ToUpper(hash) + "}]}\n", []string{"institution south: api_keys[0].sha256: the same key is already given to institution north on line 16"}},
	}
	for _, tt := range tests {
		t.Run(tt.title, func(t *testing.T) {
			dir := t.TempDir()
			write(t, filepath.Join(dir, "present.xml"), "<collection/>")
			path := filepath.Join(dir, "consortium.yaml")
			write(t, path, strings.Replace(tt.yaml, "{{head}}", head, 1))
			c, err := Load(path)
			if err == nil {
				t.Fatalf("Load succeeded: %s", c.Summary())
			}
			var cerr *Error
			if !errors.As(err, &cerr) {
				t.Fatalf("err is %T, want *Error", err)
			}
			msg := strings.ReplaceAll(err.Error(), dir+string(filepath.Separator), "")
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("the report lacks %q:\n%s", w, msg)
				}
			}
			for _, line := range strings.Split(msg, "\n") {
				if !strings.HasPrefix(line, "consortium.yaml") {
					t.Errorf("a line does not start with the file name: %q", line)
				}
			}
		})
	}
}

func TestAllProblemsAreReported(t *testing.T) {
	_, err := Parse([]byte(`consortium:
  id: Bad_Id
  name: T
  defaults:
    search: {page_size: 0}
  locked: [language, nonsense]
institutions:
  - id: north
    name: North
    overrides: {language: fr, upload_max_mb: {student: 99}}
    member: {connector: sru, breaker: {failures: 2, retries: 1}}
  - id: north
    branding: {primary_color: red}
    api_keys: [{sha256: nope, role: owner}]
`), "consortium.yaml", "")
	var cerr *Error
	if !errors.As(err, &cerr) {
		t.Fatalf("err = %v, want *Error", err)
	}
	want := []string{
		"consortium.yaml:2: consortium.id: ",
		"consortium.yaml:5: consortium.defaults.search.page_size: ",
		"consortium.yaml:6: consortium.locked[1]: ",
		"consortium.yaml:10: institution north: overrides.language: ",
		"consortium.yaml:10: institution north: overrides.upload_max_mb.student: ",
		"consortium.yaml:11: institution north: member.url: ",
		"consortium.yaml:11: institution north: member.breaker.retries: ",
		"consortium.yaml:12: institution north: id: duplicate",
		"consortium.yaml:12: institution north: name: required",
		"consortium.yaml:13: institution north: branding.primary_color: ",
		"consortium.yaml:14: institution north: api_keys[0].sha256: ",
		"consortium.yaml:14: institution north: api_keys[0].role: ",
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != len(want) {
		t.Errorf("%d problems, want %d:\n%s", len(lines), len(want), err)
	}
	for i := range min(len(lines), len(want)) {
		if !strings.HasPrefix(lines[i], want[i]) {
			t.Errorf("problem %d = %q, want it to start with %q", i, lines[i], want[i])
		}
	}
}
