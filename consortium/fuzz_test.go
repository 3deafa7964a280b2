package consortium

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse checks that Parse never panics and that it either returns a
// complete configuration or an *Error with at least one problem.
func FuzzParse(f *testing.F) {
	valid, err := os.ReadFile("testdata/valid/consortium.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(valid)
	f.Add([]byte(head + "\n  - {id: north, name: N, member: {connector: local, files: [present.xml]}}\n"))
	f.Add([]byte(head + "\n  - {id: north, name: N, overrides: {language: fr, upload_max_mb: {student: 80}}}\n"))
	f.Add([]byte("consortium: &c {id: a, name: A}\ninstitutions: [{<<: *c, member: {connector: sru, url: 'http://x/', breaker: {open_for: 1h}}}]\n"))
	f.Add([]byte("consortium: {id: t, name: T, defaults: {search: {max_timeout_ms: 2000}}, locked: [search, upload_max_mb]}\n"))
	f.Add([]byte("a: &a [*a]\n"))
	f.Add([]byte(""))
	f.Add([]byte("---\n---\n"))
	dir := f.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "present.xml"), []byte("x"), 0o644); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data, "fuzz.yaml", dir)
		if err != nil {
			var cerr *Error
			if c != nil || !errors.As(err, &cerr) || len(cerr.Problems) == 0 {
				t.Fatalf("Parse = %v, %#v", c, err)
			}
			_ = err.Error()
			return
		}
		_ = c.Summary()
		if c.Consortium.ID == "" || c.MaxTimeout() <= 0 {
			t.Fatalf("incomplete consortium: %+v", c.Consortium)
		}
		for _, inst := range c.Institutions {
			e, ok := c.Effective(inst.ID)
			if !ok || e.PageSize() < 1 || e.SearchTimeout() <= 0 || e.SearchTimeout() > c.MaxTimeout() || e.Language() == "" ||
				e.UploadMaxMB(RoleStudent) > c.Consortium.Defaults.UploadMaxMB.Student {
				t.Fatalf("effective config of %s breaks a rule: %+v", inst.ID, e)
			}
			if m := inst.Member; m != nil && (m.Timeout <= 0 || m.Timeout > c.MaxTimeout() || m.MaxInFlight <= 0 ||
				m.Breaker.Failures == 0 || m.Breaker.OpenFor <= 0) {
				t.Fatalf("member %s not resolved: %+v", inst.ID, m)
			}
			inst.KeyRole("token")
		}
	})
}
