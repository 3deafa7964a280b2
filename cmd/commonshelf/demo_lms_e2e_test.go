package main

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/commonshelf/commonshelf/demo"
	"github.com/commonshelf/commonshelf/index"
)

// The demo learning platform (serve --demo, /demo-lms/) signs a person in
// through the real LTI 1.3 flow; these tests take it over HTTP with a
// cookie-keeping client that follows redirects, as a browser does.

// demoBrowser is a client with its own cookies that follows redirects.
func demoBrowser() *http.Client {
	return &http.Client{Jar: &anyCookieJar{}, Timeout: 30 * time.Second}
}

// courseLink submits the course form of course on the platform's page with
// the button as (student, instructor or setup) and follows the flow: the
// tool's login initiation, the platform's authorization endpoint, whose
// auto-posting page is checked and posted to the tool like a browser
// would. It returns the tool's page.
func courseLink(t *testing.T, c *http.Client, base, inst, course, as string) ltiPage {
	t.Helper()
	home := fetch(t, c, http.MethodGet, base+"/demo-lms/", nil)
	if home.status != http.StatusOK {
		t.Fatalf("the platform's page: %d %s", home.status, home.raw)
	}
	form := regexp.MustCompile(`<form method="get" action="([^"]+)">\s*<input type="hidden" name="i" value="` + regexp.QuoteMeta(inst) +
		`"><input type="hidden" name="c" value="` + regexp.QuoteMeta(course) + `">`)
	m := form.FindStringSubmatch(home.raw)
	if m == nil {
		t.Fatalf("no course link of %s %s on the platform's page", inst, course)
	}
	if !strings.Contains(home.raw, `name="as" value="`+as+`"`) {
		t.Fatalf("no %q button on the platform's page", as)
	}
	auth := fetch(t, c, http.MethodGet, base+m[1]+"?"+url.Values{"i": {inst}, "c": {course}, "as": {as}}.Encode(), nil)
	return postLaunch(t, c, base, auth)
}

// postLaunch checks the platform's auto-posting page and posts its form to
// the tool.
func postLaunch(t *testing.T, c *http.Client, base string, auth ltiPage) ltiPage {
	t.Helper()
	if auth.status != http.StatusOK {
		t.Fatalf("the platform's authorization endpoint: %d %s", auth.status, auth.raw)
	}
	if csp := auth.header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(auth.raw, "<script>") ||
		!strings.Contains(auth.raw, `<script src="/demo-lms/autopost.js" defer></script>`) {
		t.Errorf("the auto-posting page needs an inline script or has CSP %q:\n%s", csp, auth.raw)
	}
	action := auth.find(t, `<form method="post" action="([^"]+)"`)
	if action != base+"/lti/launch" {
		t.Fatalf("the platform posts to %s, want %s/lti/launch", action, base)
	}
	return fetch(t, c, http.MethodPost, action, url.Values{"id_token": {auth.find(t, `name="id_token" value="([^"]+)"`)}, "state": {auth.find(t, `name="state" value="([^"]+)"`)}})
}

// demoCourse is a course of north with two published lists, and its lists.
func demoCourse(t *testing.T) (code string, lists []*index.List) {
	t.Helper()
	all, err := demo.Lists()
	if err != nil {
		t.Fatal(err)
	}
	byCode := map[string][]*index.List{}
	var codes []string
	for _, l := range all {
		if l.Institution != "north" || l.Status != index.StatusPublished {
			continue
		}
		if byCode[l.Course.Code] == nil {
			codes = append(codes, l.Course.Code)
		}
		byCode[l.Course.Code] = append(byCode[l.Course.Code], l)
	}
	for _, c := range codes {
		if len(byCode[c]) >= 2 {
			return c, byCode[c]
		}
	}
	t.Fatal("no north course with two published lists")
	return "", nil
}

func TestDemoLearningPlatformSignsInAnInstructor(t *testing.T) {
	base := demoServer(t)
	code, lists := demoCourse(t)
	c := demoBrowser()

	// The gateway shows the way to the platform.
	gw := fetch(t, c, http.MethodGet, base+"/", nil)
	if !strings.Contains(gw.raw, `<a href="`+base+`/demo-lms/">`+demo.TryLinkLabel+`</a>`) {
		t.Errorf("the gateway page does not link the demo learning platform:\n%s", gw.raw)
	}

	pg := courseLink(t, c, base, "north", code, "instructor")
	if pg.status != http.StatusOK || !strings.Contains(pg.text, "Iris Instructor") || !strings.Contains(pg.text, code) {
		t.Fatalf("the course page after the launch: %d\n%s", pg.status, pg.text)
	}
	for _, l := range lists {
		if !strings.Contains(pg.text, l.Name) {
			t.Errorf("the course page does not show the course's list %q", l.Name)
		}
	}
	if sess := pg.cookie(t, sessionCookieName); sess.Value == "" || !sess.HttpOnly {
		t.Errorf("session cookie %+v", sess)
	}
	// Signed in: the gateway's results carry the instructor's actions.
	res := fetch(t, c, http.MethodGet, base+"/i/north/?q=hunger+games", nil)
	if res.status != http.StatusOK || !strings.Contains(res.text, "Iris Instructor") || !strings.Contains(res.raw, `action="/requests/new?`) {
		t.Errorf("signed-in results: %d\n%s", res.status, res.text)
	}

	// A student of the same course is another person, without the actions.
	st := demoBrowser()
	spg := courseLink(t, st, base, "north", code, "student")
	if spg.status != http.StatusOK || !strings.Contains(spg.text, "Sam Student") || strings.Contains(spg.text, "Iris Instructor") {
		t.Fatalf("the student's course page: %d\n%s", spg.status, spg.text)
	}
}

func TestDemoLearningPlatformDeepLinkingRoundTrip(t *testing.T) {
	base := demoServer(t)
	code, lists := demoCourse(t)
	chosen := lists[len(lists)-1]
	c := demoBrowser()

	chooser := courseLink(t, c, base, "north", code, "setup")
	if chooser.status != http.StatusOK || !strings.Contains(chooser.raw, `value="`+chosen.ID+`"`) {
		t.Fatalf("the list chooser: %d\n%s", chooser.status, chooser.text)
	}
	back := fetch(t, c, http.MethodPost, base+"/lti/deeplink", url.Values{
		"csrf": {chooser.find(t, `name="csrf" value="([^"]+)"`)}, "session": {chooser.find(t, `name="session" value="([^"]+)"`)}, "list": {chosen.ID}})
	if back.status != http.StatusOK {
		t.Fatalf("the chosen list: %d\n%s", back.status, back.text)
	}
	ret := back.find(t, `<form method="post" action="([^"]+)"`)
	if ret != base+"/demo-lms/deep-link-return" {
		t.Fatalf("the deep-linking response goes to %s", ret)
	}
	linked := fetch(t, c, http.MethodPost, ret, url.Values{"JWT": {back.find(t, `name="JWT" value="([^"]+)"`)}})
	if linked.status != http.StatusOK || !strings.Contains(linked.text, chosen.Name) || !strings.Contains(linked.text, chosen.ID) {
		t.Fatalf("the platform's page after deep linking: %d\n%s", linked.status, linked.text)
	}
	// The same response again is refused: its nonce was used.
	again := fetch(t, c, http.MethodPost, ret, url.Values{"JWT": {back.find(t, `name="JWT" value="([^"]+)"`)}})
	if again.status != http.StatusBadRequest || !strings.Contains(again.text, "nonce replayed") {
		t.Errorf("a replayed deep-linking response: %d\n%s", again.status, again.text)
	}

	// Open the linked list as a student: the launch carries the item's
	// custom "list", so the course page shows that list alone.
	action := linked.find(t, `<form method="get" action="([^"]+)">\s*<input type="hidden" name="link"`)
	link := linked.find(t, `name="link" value="([^"]+)"`)
	st := demoBrowser()
	auth := fetch(t, st, http.MethodGet, base+action+"?"+url.Values{"link": {link}, "as": {"student"}}.Encode(), nil)
	pg := postLaunch(t, st, base, auth)
	if pg.status != http.StatusOK || !strings.Contains(pg.text, "Sam Student") || !strings.Contains(pg.text, chosen.Name) {
		t.Fatalf("the linked list's launch: %d\n%s", pg.status, pg.text)
	}
	for _, l := range lists {
		if l.ID != chosen.ID && strings.Contains(pg.text, l.Name) {
			t.Errorf("the linked launch shows %q besides the chosen list", l.Name)
		}
	}
}
