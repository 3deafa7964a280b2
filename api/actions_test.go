package api

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/commonshelf/commonshelf/consortium"
	"github.com/commonshelf/commonshelf/federate"
	"github.com/commonshelf/commonshelf/index"
	"github.com/commonshelf/commonshelf/index/files"
	"github.com/commonshelf/commonshelf/lti"
	"github.com/commonshelf/commonshelf/requests"
	"github.com/prometheus/client_golang/prometheus"
)

const actionsConfig = `
consortium:
  id: test
  name: Test Consortium
  defaults:
    requests: {kinds: [loan, copy, purchase]}
institutions:
  - {id: north, name: North University, member: {connector: sru, url: 'http://127.0.0.1:1/north'}}
  - {id: south, name: South College, member: {connector: sru, url: 'http://127.0.0.1:1/south'}}
`

type actionsServer struct {
	base     string
	sessions *lti.Sessions
	lists    *index.Store
	reqs     *requests.BoltStore
}

// startActionsServer serves two members that both hold Dune, a list for
// north's CHEM 101, requests, and LTI sessions (made directly, as a
// validated launch would).
func startActionsServer(t *testing.T) *actionsServer {
	t.Helper()
	cfg, err := consortium.Parse([]byte(actionsConfig), "test.yaml", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var ms []federate.Member
	for _, in := range cfg.Institutions {
		rec := dune(in.ID, in.ID+"-1")
		rec.Links = []federate.Link{{URL: "https://" + in.ID + ".example.org/record/1", Label: "record"}}
		ms = append(ms, federate.Member{ID: in.ID, Name: in.Name, Connector: &fakeConnector{records: []federate.Record{rec}}, Timeout: 300 * time.Millisecond})
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	reg := prometheus.NewRegistry()
	engine, err := federate.NewEngine(logger, federate.EngineConfig{DefaultTimeout: 400 * time.Millisecond, MaxTimeout: time.Second}, federate.NewMetrics(reg), ms)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	blobs, err := files.OpenDisk(filepath.Join(dir, "files"))
	if err != nil {
		t.Fatal(err)
	}
	lists, err := index.OpenWithOptions(logger, filepath.Join(dir, "lists"), index.Options{Files: blobs})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lists.Close() })
	l := &index.List{Institution: "north", ID: "chem101", Name: "Chemistry readings", Status: index.StatusPublished, Visibility: index.VisibilityPublic,
		Course:   index.Course{Code: "CHEM 101", Name: "General Chemistry"},
		Sections: []index.Section{{Title: "Week 1", Citations: []index.Citation{{ID: "c1", Type: index.TypeBook, Title: "Chemical Principles"}}}}}
	if _, err := lists.Put(context.Background(), l); err != nil {
		t.Fatal(err)
	}
	other := &index.List{Institution: "north", ID: "hist210", Name: "History draft", Status: index.StatusDraft, Visibility: index.VisibilityPublic,
		Course:   index.Course{Code: "HIST 210", Name: "Modern History"},
		Sections: []index.Section{{Title: "Week 1", Citations: []index.Citation{{ID: "h1", Type: index.TypeBook, Title: "The Age of Revolution"}}}}}
	if _, err := lists.Put(context.Background(), other); err != nil {
		t.Fatal(err)
	}
	reqs, err := requests.OpenBolt(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reqs.Close() })
	sessions := lti.NewSessions(lti.SessionOptions{})
	srv := New(logger, cfg, engine, reg)
	srv.SetLists(lists)
	srv.SetRequests(reqs)
	srv.SetLTI(LTI{Sessions: sessions})
	srv.SetReady(true)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return &actionsServer{base: "http://" + ln.Addr().String(), sessions: sessions, lists: lists, reqs: reqs}
}

func (as *actionsServer) session(role string) *lti.Session {
	return as.sessions.Create(&lti.Launch{Platform: &lti.Platform{Name: "North Moodle", Institution: "north"},
		Subject: "u-" + role, Name: "Ada " + role, Role: role, CourseCode: "CHEM 101", ContextTitle: "General Chemistry"})
}

// fetch sends a request with the session's cookie (nil: none) and does not
// follow redirects.
func (as *actionsServer) fetch(t *testing.T, method, path string, sess *lti.Session, form url.Values) (*http.Response, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, as.base+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if sess != nil {
		req.AddCookie(&http.Cookie{Name: sessionCookie, Value: sess.ID})
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// location is a redirect's target without scheme and host.
func location(resp *http.Response) string {
	u, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		return ""
	}
	if u.Fragment != "" {
		return u.RequestURI() + "#" + u.Fragment
	}
	return u.RequestURI()
}

var formAction = regexp.MustCompile(`<form method="post" action="([^"]+)">`)

func TestSignedInStaffRequestAndAddToAListFromAResult(t *testing.T) {
	as := startActionsServer(t)
	inst := as.session(lti.RoleInstructor)

	_, anon := as.fetch(t, "GET", "/i/north/?q=dune", nil, nil)
	if strings.Contains(anon, `name="csrf"`) {
		t.Fatal("an anonymous visitor is offered request forms")
	}
	resp, page := as.fetch(t, "GET", "/i/north/?q=dune", inst, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("result page %d", resp.StatusCode)
	}
	for _, want := range []string{"Signed in as Ada instructor (instructor, North University) from the course CHEM 101 General Chemistry.",
		`name="kind" value="loan"`, `<option value="south">South College</option>`, `name="kind" value="purchase"`, `<option value="chem101">Chemistry readings</option>`} {
		if !strings.Contains(page, want) {
			t.Errorf("the signed-in result page lacks %q", want)
		}
	}
	if i := strings.Index(page, `value="loan"`); i < 0 || strings.Contains(page[i:i+strings.Index(page[i:], "</select>")], `value="north"`) {
		t.Error("a loan may be asked of the viewer's own library")
	}
	actions := formAction.FindAllStringSubmatch(page, -1)
	if len(actions) != 3 {
		t.Fatalf("%d action forms, want loan, purchase and add: %q", len(actions), actions)
	}
	requestURL := strings.ReplaceAll(actions[0][1], "&amp;", "&")
	addURL := strings.ReplaceAll(actions[2][1], "&amp;", "&")

	t.Run("an interlibrary loan from south lands on the request's page", func(t *testing.T) {
		form := url.Values{"csrf": {inst.CSRF}, "nonce": {"n1"}, "kind": {"loan"}, "member": {"south"}, "pickup_location": {"Chemistry library"}, "needed_by": {"2027-03-01"}}
		resp, body := as.fetch(t, "POST", requestURL, inst, form)
		loc := location(resp)
		if resp.StatusCode != http.StatusSeeOther {
			t.Logf("%s", body)
		}
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/requests/") {
			t.Fatalf("POST %s: %d Location %q", requestURL, resp.StatusCode, loc)
		}
		again, _ := as.fetch(t, "POST", requestURL, inst, form) // a double click
		if location(again) != loc {
			t.Errorf("the same form twice made two requests: %q, %q", loc, location(again))
		}
		id := strings.TrimPrefix(loc, "/requests/")
		r, err := as.reqs.Get(context.Background(), id)
		if err != nil || r.Requester != "north" || r.PickupLocation != "Chemistry library" || r.NeededBy != "2027-03-01" || r.Supplier != "south" || r.Source.RecordID != "south-1" || r.Metadata.Title != "Dune" ||
			r.Course == nil || r.Course.CourseCode != "CHEM 101" {
			t.Fatalf("stored request %+v, %v", r, err)
		}
		_, page := as.fetch(t, "GET", loc, inst, nil)
		for _, want := range []string{"Interlibrary loan", "South College", "Request received", "Dune"} {
			if !strings.Contains(page, want) {
				t.Errorf("the request page lacks %q", want)
			}
		}
		if resp, _ := as.fetch(t, "GET", loc, nil, nil); resp.StatusCode != 404 {
			t.Errorf("an anonymous visitor sees the request page: %d", resp.StatusCode)
		}
	})
	t.Run("a purchase suggestion uses the chosen member's record", func(t *testing.T) {
		resp, _ := as.fetch(t, "POST", requestURL, inst, url.Values{"csrf": {inst.CSRF}, "nonce": {"n2"}, "kind": {"purchase"}, "member": {"south"}})
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("purchase: %d", resp.StatusCode)
		}
		r, _ := as.reqs.Get(context.Background(), strings.TrimPrefix(location(resp), "/requests/"))
		if r == nil || r.Kind != requests.KindPurchase || r.Supplier != "" || r.Metadata.RecordID != "south-1" || r.Metadata.Link != "https://south.example.org/record/1" {
			t.Fatalf("stored purchase %+v", r)
		}
	})
	t.Run("adding the work to the course list appends a linked citation", func(t *testing.T) {
		resp, _ := as.fetch(t, "POST", addURL, inst, url.Values{"csrf": {inst.CSRF}, "list": {"chem101"}})
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(location(resp), "/lists/north/chem101#c-cat-") {
			t.Fatalf("add: %d %q", resp.StatusCode, location(resp))
		}
		l, _, _ := as.lists.Get("north", "chem101")
		cs := l.Sections[0].Citations
		if len(cs) != 2 || cs[1].Title != "Dune" || cs[1].Record == nil || cs[1].Record.Member != "north" || cs[1].Record.RecordID != "north-1" {
			t.Fatalf("citations after adding: %+v", cs)
		}
	})
	for _, tc := range []struct {
		title  string
		sess   *lti.Session
		form   url.Values
		status int
		has    string
	}{
		{"without the form token", inst, url.Values{"kind": {"loan"}, "member": {"south"}}, 403, "form token"},
		{"a student", as.session(lti.RoleStudent), nil, 403, "Only instructors and library staff"},
		{"nobody signed in", nil, url.Values{"kind": {"loan"}, "member": {"south"}}, 401, "Sign in through your course page"},
		{"a member that does not hold the work", inst, url.Values{"csrf": {inst.CSRF}, "kind": {"loan"}, "member": {"west"}}, 400, "west does not hold this work"},
		{"asking one's own library for a loan", inst, url.Values{"csrf": {inst.CSRF}, "kind": {"loan"}, "member": {"north"}, "pickup_location": {"x"}}, 400, "supplier"},
		{"a loan without a pickup location", inst, url.Values{"csrf": {inst.CSRF}, "kind": {"loan"}, "member": {"south"}}, 400, "pickup_location"},
	} {
		t.Run("refused: "+tc.title, func(t *testing.T) {
			form := tc.form
			if tc.sess != nil && form == nil {
				form = url.Values{"csrf": {tc.sess.CSRF}, "kind": {"loan"}, "member": {"south"}}
			}
			resp, page := as.fetch(t, "POST", requestURL, tc.sess, form)
			if resp.StatusCode != tc.status || !strings.Contains(page, tc.has) || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
				t.Fatalf("%d %s, want %d with %q:\n%.400s", resp.StatusCode, resp.Header.Get("Content-Type"), tc.status, tc.has, page)
			}
		})
	}
	t.Run("a browser route called with GET is an HTML 405", func(t *testing.T) {
		resp, page := as.fetch(t, "GET", "/requests/new", inst, nil)
		if resp.StatusCode != 405 || resp.Header.Get("Allow") != "POST" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || !strings.Contains(page, "POST") {
			t.Fatalf("%d %s Allow %q", resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Allow"))
		}
	})
}

// An instructor signed in from one course manages that course's lists only:
// another course's draft, its files and its citations are not theirs.
func TestAnInstructorManagesOnlyTheirCourseLists(t *testing.T) {
	as := startActionsServer(t)
	chem := as.session(lti.RoleInstructor) // CHEM 101
	hist := as.sessions.Create(&lti.Launch{Platform: &lti.Platform{Name: "North Moodle", Issuer: "https://lms.north.example", Institution: "north"},
		Subject: "u-hist", Name: "Hal Historian", Role: lti.RoleInstructor, CourseCode: "HIST 210"})
	pdf := []byte("%PDF-1.7\nscan of chapter 1\n%%EOF\n")
	upload := func(sess *lti.Session, list, citation string) (int, string) {
		req, _ := http.NewRequest("POST", as.base+"/api/v1/lists/north/"+list+"/citations/"+citation+"/files?filename=ch1.pdf", bytes.NewReader(pdf))
		req.Header.Set("Content-Type", "application/pdf")
		req.Header.Set("X-CSRF-Token", sess.CSRF)
		req.AddCookie(&http.Cookie{Name: sessionCookie, Value: sess.ID})
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := upload(hist, "hist210", "h1"); code != 201 {
		t.Fatalf("the history instructor's upload to their own draft: %d %s", code, body)
	}
	for _, tc := range []struct {
		title, method, path string
		sess                *lti.Session
		want                int
	}{
		{"the history instructor sees their course's draft", "GET", "/api/v1/lists/north/hist210", hist, 200},
		{"the chemistry instructor does not see it", "GET", "/api/v1/lists/north/hist210", chem, 404},
		{"nor its page", "GET", "/lists/north/hist210", chem, 404},
	} {
		t.Run(tc.title, func(t *testing.T) {
			resp, _ := as.fetch(t, tc.method, tc.path, tc.sess, nil)
			if resp.StatusCode != tc.want {
				t.Fatalf("%s %s: %d, want %d", tc.method, tc.path, resp.StatusCode, tc.want)
			}
		})
	}
	t.Run("the chemistry instructor may not attach files to the history list", func(t *testing.T) {
		if code, body := upload(chem, "hist210", "h1"); code != 404 {
			t.Fatalf("%d %s", code, body)
		}
	})
	t.Run("nor add a result to it", func(t *testing.T) {
		_, page := as.fetch(t, "GET", "/i/north/?q=dune", chem, nil)
		if strings.Contains(page, `value="hist210"`) {
			t.Error("the chemistry instructor is offered the history list")
		}
		add := strings.ReplaceAll(formAction.FindAllStringSubmatch(page, -1)[2][1], "&amp;", "&")
		resp, _ := as.fetch(t, "POST", add, chem, url.Values{"csrf": {chem.CSRF}, "list": {"hist210"}})
		if resp.StatusCode != 404 {
			t.Fatalf("adding to another course's list: %d", resp.StatusCode)
		}
		if l, _, _ := as.lists.Get("north", "hist210"); len(l.Sections[0].Citations) != 1 {
			t.Error("the history list changed")
		}
	})
}
