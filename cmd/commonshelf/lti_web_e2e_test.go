package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/commonshelf/commonshelf/index"
	"github.com/commonshelf/commonshelf/lti"
	"github.com/commonshelf/commonshelf/lti/ltitest"
)

// The signed-in browser test: an instructor launched from a fake learning
// platform (ltitest) into headless Chromium, the server in a child process,
// everything on plain http over loopback as in `make run`. Through the
// pages only: the launch, the new-window link, a file upload on a
// citation, a catalogue search with the staff actions, an interlibrary
// loan request and an addition to the course list.

const ltiWebNorthKey = "north-lti-web-admin-key"

// ltiWebReadings is north's published CHEM 101 list, seen by members of
// north only.
var ltiWebReadings = ltiList("chem101-readings", "General Chemistry: core readings", "CHEM 101", index.StatusPublished,
	"Why atoms bond", "Spectroscopy for beginners")

// ltiWebBook is the catalogue record both members hold.
const ltiWebBook = "Chemistry: the central science"

// ltiWebConsortium writes a consortium where north registers platform p
// and north and south are searchable members holding the same book, with
// loans, copies and purchases on.
func ltiWebConsortium(t *testing.T, p *ltitest.Platform) (cfg, data string) {
	t.Helper()
	dir := t.TempDir()
	for inst, id := range map[string]string{"north": "n1", "south": "s-41"} {
		col := `<?xml version="1.0"?><collection xmlns="http://www.loc.gov/MARC21/slim">` +
			marcRecord(id, "9780134414232", "Brown, Theodore L.", ltiWebBook, "14th ed.", "Pearson", "2017") + `</collection>`
		if err := os.WriteFile(filepath.Join(dir, inst+".xml"), []byte(col), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg = filepath.Join(dir, "c.yaml")
	err := os.WriteFile(cfg, []byte(fmt.Sprintf(`consortium:
  id: c
  name: Commonshelf Consortium
  defaults:
    requests: {kinds: [loan, copy, purchase]}
institutions:
  - id: north
    name: North University
    member: {connector: local, files: [north.xml], options: {record_url: "https://cat.north.example.org/r/{id}"}}
    api_keys: [{sha256: %s, role: admin}]
    lti:
      course_claim: context.label
      platforms:
        - {name: North Moodle, issuer: '%s', client_id: %s, deployment_ids: [%s],
           auth_url: '%s', jwks_url: '%s'}
  - id: south
    name: South College
    member: {connector: local, files: [south.xml], options: {record_url: "https://cat.south.example.org/r/{id}"}}
`, sha(ltiWebNorthKey), p.Issuer, ltiClientID, p.DeploymentID, p.AuthURL(), p.JWKSURL())), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	return cfg, filepath.Join(dir, "data")
}

// browserCookie returns the cookie name Chromium holds for base, or nil.
func browserCookie(t *testing.T, ctx context.Context, base, name string) *network.Cookie {
	t.Helper()
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{base + "/"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range res.Cookies {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// tabOrder marks the focusable controls of the page (freshly loaded, focus
// at its top), presses Tab until focus has gone once round, and returns the
// controls inside the elements matching within, as their document-order
// marks, and which of them Tab reached, in the order it reached them.
func tabOrder(t *testing.T, ctx context.Context, within string) (want, reached []string) {
	t.Helper()
	want = texts(t, ctx, `(all => { all.forEach((e, i) => { e.dataset.kbd = i }); return all.filter(e => e.closest(`+
		jsString(within)+`)).map(e => e.dataset.kbd) })(`+focusables+`)`)
	n := read(t, ctx, chromedp.Evaluate[int](focusables+`.length`))
	for range n + 5 {
		drive(t, ctx, chromedp.KeyEvent(kb.Tab))
		id := read(t, ctx, chromedp.Evaluate[string](`(document.activeElement && document.activeElement.dataset.kbd) || ""`))
		if slices.Contains(want, id) && !slices.Contains(reached, id) {
			reached = append(reached, id)
		}
	}
	return want, reached
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// focused describes the focused element: its tag and name.
func focused(t *testing.T, ctx context.Context) string {
	t.Helper()
	return read(t, ctx, chromedp.Evaluate[string](`(e => e.tagName.toLowerCase() + (e.name ? "[name=" + e.name + "]" : ""))(document.activeElement)`))
}

func TestLTISignedInInstructorInTheBrowser(t *testing.T) {
	if os.Getenv("COMMONSHELF_E2E_CHILD") != "" {
		t.Skip("child")
	}
	ctx := browser(t)
	p := ltitest.New(t, ltiClientID)
	cfg, data := ltiWebConsortium(t, p)
	cmd, base := startServer(t, cfg, data)
	t.Cleanup(func() { stopServer(cmd) })
	p.RedirectURI = base + "/lti/launch"
	p.TargetLinkURI = base + "/lti/launch"
	p.SetAuthClaims(p.Claims(lti.MessageResourceLink, "instructor", "CHEM 101"))
	body, _ := json.Marshal(ltiWebReadings)
	if code, b := send(t, http.MethodPut, base+"/api/v1/institutions/north/lists/"+ltiWebReadings.ID, ltiWebNorthKey, body); code != 201 {
		t.Fatalf("put the list: %d %s", code, b)
	}
	// What the platform's "Readings" link does: the browser goes to the
	// tool's login, which sends it to the platform's /auth, whose page
	// posts the signed id_token to the tool's /lti/launch.
	loginURL := base + "/lti/login?" + p.LoginParams().Encode()
	listURL := base + "/lists/north/" + ltiWebReadings.ID
	searchURL := base + "/i/north/?q=central+science&lang=en"
	// Each step builds on the one before.
	step := func(title string, f func(t *testing.T)) {
		t.Helper()
		if !t.Run(title, f) {
			t.FailNow()
		}
	}

	step("the platform's launch lands on the course's list, signed in", func(t *testing.T) {
		drive(t, ctx, chromedp.Navigate(loginURL), chromedp.WaitVisible(chromedp.ID(`launch-h`)))
		if loc := read(t, ctx, chromedp.Location()); loc != base+"/lti/launch" {
			t.Errorf("the launch ends at %s, want %s/lti/launch", loc, base)
		}
		if h := read(t, ctx, chromedp.Text(chromedp.ID(`launch-h`))); h != "Readings for CHEM 101" {
			t.Errorf("heading %q", h)
		}
		want := "Signed in as Ina Instructor (instructor, North University) from the course CHEM 101 (test course)."
		if v := read(t, ctx, chromedp.Text(chromedp.CSS(`.viewer`))); v != want {
			t.Errorf("viewer line %q, want %q", v, want)
		}
		cites := texts(t, ctx, `[...document.querySelectorAll(".launch .citation cite")].map(e => e.textContent.trim())`)
		if !slices.Equal(cites, []string{"Why atoms bond", "Spectroscopy for beginners"}) {
			t.Errorf("the launch page cites %q", cites)
		}
	})

	step("Chromium keeps the Secure session cookie set over http://127.0.0.1 and sends it", func(t *testing.T) {
		ck := browserCookie(t, ctx, base, sessionCookieName)
		if ck == nil {
			t.Fatalf("Chromium dropped the %s cookie (Secure; SameSite=None) set by %s: signing in on plain http to loopback does not work", sessionCookieName, base)
		}
		if !ck.Secure || !ck.HTTPOnly || ck.SameSite != network.CookieSameSiteNone {
			t.Errorf("the launch's cookie is Secure %v, HttpOnly %v, SameSite %q; want Secure, HttpOnly, None", ck.Secure, ck.HTTPOnly, ck.SameSite)
		}
		// Another tab of the same browser is signed in: the cookie is sent.
		tab, cancel := chromedp.NewContext(ctx)
		defer cancel()
		drive(t, tab, chromedp.Navigate(base+"/i/north/?lang=en"), chromedp.WaitVisible(chromedp.ID(`q`)))
		if n := read(t, tab, chromedp.Evaluate[int](`document.querySelectorAll(".viewer").length`)); n != 1 {
			t.Error("a page opened after the launch does not show who is signed in: the browser did not send the session cookie")
		}
	})

	// win is the tab the new-window link opens.
	var win context.Context
	closeWin := func() {}
	t.Cleanup(func() { closeWin() })
	step("the new-window link opens the course in a window of its own", func(t *testing.T) {
		opened := chromedp.WaitNewTarget(ctx, func(i *target.Info) bool { return strings.Contains(i.URL, "/lti/session?ticket=") })
		drive(t, ctx, chromedp.Click(chromedp.CSS(`#newwindow a`)))
		var id target.ID
		select {
		case id = <-opened:
		case <-ctx.Done():
			t.Fatal("the new-window link opened no tab")
		}
		win, closeWin = chromedp.NewContext(ctx, chromedp.WithTargetID(id))
		drive(t, win, chromedp.WaitVisible(chromedp.ID(`launch-h`)))
		if n := read(t, win, chromedp.Evaluate[int](`document.querySelectorAll("#newwindow, base[target]").length`)); n != 0 {
			t.Error("the page in its own window still offers a new window or opens its links in new ones")
		}
		if !strings.Contains(read(t, win, chromedp.Text(chromedp.CSS(`.viewer`))), "Ina Instructor") {
			t.Error("the new window does not say who is signed in")
		}
		if ck := browserCookie(t, win, base, sessionCookieName); ck == nil || !ck.Secure || ck.SameSite != network.CookieSameSiteLax {
			t.Errorf("the first-party session cookie is %+v; want Secure, SameSite=Lax", ck)
		}
	})

	step("an instructor attaches a file to a citation with the keyboard", func(t *testing.T) {
		pdf := filepath.Join(t.TempDir(), "week-1-notes.pdf")
		content := "%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
		if err := os.WriteFile(pdf, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		drive(t, win, chromedp.Navigate(listURL+"?lang=en"), chromedp.WaitVisible(chromedp.CSS(`.listpage h2`)))
		// Tab to the first citation's "Attach a file", open it with Enter,
		// then Tab through its form.
		summary := `document.querySelector(".listpage .citation details.upload > summary")`
		n := read(t, win, chromedp.Evaluate[int](focusables+`.length`))
		for i := 0; ; i++ {
			if i > n {
				t.Fatal(`Tab never reaches the first citation's "Attach a file"`)
			}
			drive(t, win, chromedp.KeyEvent(kb.Tab))
			if read(t, win, chromedp.Evaluate[bool](`document.activeElement === `+summary)) {
				break
			}
		}
		drive(t, win, chromedp.KeyEvent(kb.Enter))
		if !read(t, win, chromedp.Evaluate[bool](summary+`.parentElement.open`)) {
			t.Fatal(`Enter on "Attach a file" does not open the upload form`)
		}
		var order []string
		for range 3 {
			drive(t, win, chromedp.KeyEvent(kb.Tab))
			order = append(order, focused(t, win))
		}
		if want := []string{"select[name=copyright]", "input[name=file]", "button"}; !slices.Equal(order, want) {
			t.Fatalf("Tab goes through the upload form as %q, want %q", order, want)
		}
		// The file chooser is the browser's own dialog: the test sets the
		// file, then presses Enter on the focused Upload button.
		drive(t, win,
			chromedp.SetUploadFiles(chromedp.CSS(`.listpage .citation details.upload input[type=file]`), []string{pdf}),
			chromedp.KeyEvent(kb.Enter),
			chromedp.WaitVisible(chromedp.CSS(`.listpage .files a`)),
		)
		if loc := read(t, win, chromedp.Location()); loc != listURL+"?lang=en#c-c1" {
			t.Errorf("after the upload the page is %s, want the list in the same language at the citation: %s?lang=en#c-c1", loc, listURL)
		}
		files := texts(t, win, `[...document.querySelectorAll(".listpage .citation")].map(c => c.querySelector("cite").textContent.trim() + ": " +
			[...c.querySelectorAll(".files li")].map(l => l.textContent.replace(/\s+/g, " ").trim()).join(", "))`)
		if len(files) != 2 || !strings.HasPrefix(files[0], "Why atoms bond: week-1-notes.pdf (") || files[1] != "Spectroscopy for beginners: " {
			t.Errorf("the list's citations and files: %q; want week-1-notes.pdf on the first only", files)
		}
		if target := read(t, win, chromedp.Evaluate[string](`(document.querySelector(":target") || {textContent: ""}).textContent`)); !strings.Contains(target, "week-1-notes.pdf") {
			t.Errorf("the page's #c-c1 does not point at the citation the file went to (target %q)", target)
		}
		// The link downloads the file with the browser's session (the
		// page's policy lets no script fetch it, so Go does).
		href := read(t, win, chromedp.Evaluate[string](`document.querySelector(".listpage .files a").href`))
		req, _ := http.NewRequest(http.MethodGet, href, nil)
		req.AddCookie(&http.Cookie{Name: sessionCookieName, Value: browserCookie(t, win, base, sessionCookieName).Value})
		if got := fetchReq(t, req); got.status != http.StatusOK || got.raw != content {
			t.Errorf("the listed file %s downloads as %d %q", href, got.status, got.raw)
		}
	})

	step("a catalogue result offers the staff actions, each reachable with Tab", func(t *testing.T) {
		drive(t, win, chromedp.Navigate(searchURL), chromedp.WaitVisible(chromedp.CSS(`.staff-actions`)))
		holders := texts(t, win, `[...document.querySelectorAll(".work .holdings li")].map(e => e.textContent.trim())`)
		if len(holders) != 2 || !strings.HasPrefix(holders[0], "North University") || holders[1] != "South College" {
			t.Errorf("holdings %q; want North University (home) and South College", holders)
		}
		buttons := texts(t, win, `[...document.querySelectorAll(".staff-actions button")].map(b => b.textContent.trim())`)
		if !slices.Equal(buttons, []string{"Request (interlibrary loan)", "Suggest purchase", "Add"}) {
			t.Errorf("the actions' buttons are %q", buttons)
		}
		lenders := texts(t, win, `[...document.querySelectorAll('.staff-actions select[name="member"]')[0].options].map(o => o.textContent)`)
		if !slices.Equal(lenders, []string{"South College"}) {
			t.Errorf("a loan may be asked of %q; want South College only (not the viewer's own library)", lenders)
		}
		unlabelled := texts(t, win, `[...document.querySelectorAll(".staff-actions input:not([type=hidden]), .staff-actions select")].filter(e => !e.labels.length || !e.labels[0].textContent.trim()).map(e => e.outerHTML)`)
		if len(unlabelled) > 0 {
			t.Errorf("controls without a label: %q", unlabelled)
		}
		want, reached := tabOrder(t, win, ".staff-actions")
		if len(want) == 0 || !slices.Equal(reached, want) {
			t.Errorf("Tab reached the actions' controls %q; want all of %q in page order", reached, want)
		}
	})

	step("a loan request from the result lands on the request's page", func(t *testing.T) {
		drive(t, win,
			chromedp.Navigate(searchURL),
			chromedp.SendKeys(chromedp.CSS(`.staff-actions input[name="pickup_location"]`), "Science library, level 2"),
			chromedp.Click(chromedp.Search(`//button[normalize-space()="Request (interlibrary loan)"]`)),
			chromedp.WaitVisible(chromedp.ID(`req-h`)),
		)
		if loc := read(t, win, chromedp.Location()); !strings.HasPrefix(loc, base+"/requests/") {
			t.Errorf("the request's page is at %s", loc)
		}
		rows := texts(t, win, `[...document.querySelectorAll(".request dl > div")].map(d => d.querySelector("dt").textContent + ": " + d.querySelector("dd").textContent.trim())`)
		for _, w := range []string{"Kind: Interlibrary loan", "Work: " + ltiWebBook + " — Brown, Theodore L.", "Requested by: North University", "Asked of: South College", "Status: Request received"} {
			if !slices.Contains(rows, w) {
				t.Errorf("the request's page lacks %q: %q", w, rows)
			}
		}
	})

	step("Add puts the result on the course's list", func(t *testing.T) {
		drive(t, win,
			chromedp.Navigate(searchURL),
			chromedp.WaitVisible(chromedp.CSS(`.staff-actions`)),
			chromedp.SetValue(chromedp.CSS(`.staff-actions select[name="list"]`), ltiWebReadings.ID),
			chromedp.Click(chromedp.Search(`//button[normalize-space()="Add"]`)),
			chromedp.WaitVisible(chromedp.CSS(`.listpage h2`)),
		)
		loc := read(t, win, chromedp.Location())
		if !strings.HasPrefix(loc, listURL+"?lang=en#c-cat-") {
			t.Errorf("after Add the page is %s, want the list at the new citation", loc)
		}
		cites := texts(t, win, `[...document.querySelectorAll(".listpage .citation cite")].map(e => e.textContent.trim())`)
		if !slices.Equal(cites, []string{"Why atoms bond", "Spectroscopy for beginners", ltiWebBook}) {
			t.Errorf("the list cites %q; want the book added at the end", cites)
		}
		if target := read(t, win, chromedp.Evaluate[string](`(document.querySelector(":target") || {textContent: ""}).textContent`)); !strings.Contains(target, ltiWebBook) {
			t.Errorf("the address's fragment does not point at the added citation (target %q)", target)
		}
	})

	if os.Getenv("UPDATE_SCREENSHOTS") != "1" {
		return
	}
	step("screenshots of the launch and of signed-in results", func(t *testing.T) {
		dir := filepath.Join("..", "..", "docs", "screenshots")
		for _, size := range []struct {
			name string
			w, h int64
			// resultsH is the results' height: the whole result with
			// its actions, under the signed-in line.
			resultsH int64
		}{{"desktop", 1280, 900, 1000}, {"mobile", 390, 844, 844}} {
			// A new launch each time: its state is single-use.
			drive(t, ctx, chromedp.EmulateViewport(size.w, size.h), chromedp.Navigate(loginURL), chromedp.WaitVisible(chromedp.ID(`launch-h`)))
			shot(t, ctx, filepath.Join(dir, "launch-"+size.name+".png"))
			drive(t, ctx, chromedp.EmulateViewport(size.w, size.resultsH), chromedp.Navigate(searchURL), chromedp.WaitVisible(chromedp.CSS(`.staff-actions`)))
			if size.name == "mobile" { // the result is below the search form
				drive(t, ctx, chromedp.Evaluate[chromedp.Void](`document.querySelector(".work").scrollIntoView()`))
			}
			shot(t, ctx, filepath.Join(dir, "signed-in-results-"+size.name+".png"))
		}
	})
}

func fetchReq(t *testing.T, req *http.Request) ltiPage {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return ltiPage{status: resp.StatusCode, header: resp.Header, raw: string(b)}
}

func shot(t *testing.T, ctx context.Context, path string) {
	t.Helper()
	png := read(t, ctx, chromedp.CaptureScreenshot())
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
}
