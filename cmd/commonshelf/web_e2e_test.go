package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// The browser tests drive headless Chromium against the demo server on
// loopback: what a person meets on the gateway page.

// browser starts a fresh headless Chromium; it skips the test when Chromium
// is not installed, unless CI=true, where that is a failure.
func browser(t *testing.T) context.Context {
	t.Helper()
	bin := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			bin = p
			break
		}
	}
	if bin == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("Chromium is not installed; the browser tests need it (make test-deps installs it)")
		}
		t.Skip("Chromium is not installed; as root, run: apt-get install -y chromium")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.NoFirstRun,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelCtx(); cancelAlloc() })
	// The first action starts the browser, on a context without a timeout
	// (a timeout there would stop the browser); later ones get a generous one.
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	// A dialog (an injected alert) must fail the test, not hang it.
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for ev, err := range dialogs {
			if err != nil {
				return
			}
			t.Errorf("the page opened a %s dialog: %q", ev.Type, ev.Message)
			chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		}
	}()
	tctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(cancelTimeout)
	return tctx
}

func drive(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatal(err)
	}
}

// read runs an action that returns a value.
func read[T any](t *testing.T, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func texts(t *testing.T, ctx context.Context, js string) []string {
	t.Helper()
	return read(t, ctx, chromedp.Evaluate[[]string](js))
}

func TestGatewaySearchScopeFacetListAndLanguage(t *testing.T) {
	base := demoServer(t)
	ctx := browser(t)

	// Search from the home page.
	drive(t, ctx,
		chromedp.Navigate(base+"/?lang=en"),
		chromedp.WaitVisible(chromedp.ID(`q`)),
		chromedp.SendKeys(chromedp.ID(`q`), "hunger games"),
		chromedp.Submit(chromedp.ID(`q`)),
		chromedp.WaitVisible(chromedp.ID(`result-count`)),
	)
	count := read(t, ctx, chromedp.Text(chromedp.ID(`result-count`)))
	if !strings.Contains(count, "works found") {
		t.Errorf("result count reads %q", count)
	}
	titles := texts(t, ctx, `[...document.querySelectorAll(".work h3")].map(e => e.textContent)`)
	if len(titles) == 0 || !strings.Contains(strings.ToLower(titles[0]), "hunger games") {
		t.Fatalf("first results: %q", titles)
	}
	holders := texts(t, ctx, `[...document.querySelector(".work .holdings").querySelectorAll("li")].map(e => e.textContent.trim())`)
	if len(holders) < 2 {
		t.Errorf("the first work lists holdings %q; want several members", holders)
	}

	// Switch scope to one member: only its holdings remain.
	drive(t, ctx,
		chromedp.SetValue(chromedp.ID(`scope`), "west"),
		chromedp.Submit(chromedp.ID(`q`)),
		chromedp.WaitVisible(chromedp.ID(`result-count`)),
	)
	all := texts(t, ctx, `[...document.querySelectorAll(".work .holdings li")].map(e => e.textContent.trim())`)
	if len(all) == 0 {
		t.Fatal("no holdings after scoping to West")
	}
	for _, h := range all {
		if !strings.HasPrefix(h, "West Institute of Technology") {
			t.Errorf("scope west shows a holding of %q", h)
		}
	}

	// Apply a facet: the consortium again, then one library's checkbox.
	drive(t, ctx,
		chromedp.Navigate(base+"/?q=hunger+games&lang=en"),
		chromedp.WaitVisible(chromedp.CSS(`.facetform`)),
		chromedp.Click(chromedp.CSS(`.facetform input[name="filter.member"][value="north"]`)),
		// The page's script applies the filter at once; the new page has a
		// link to clear it.
		chromedp.WaitVisible(chromedp.CSS(`.facetform a.clear`)),
		chromedp.WaitVisible(chromedp.CSS(`.facetform input[name="filter.member"][value="north"]:checked`)),
	)
	loc := read(t, ctx, chromedp.Location())
	if !strings.Contains(loc, "filter.member=north") {
		t.Errorf("after ticking North the address is %s", loc)
	}
	rows := texts(t, ctx, `[...document.querySelectorAll(".work")].map(w => [...w.querySelectorAll(".holdings li")].map(l => l.textContent).join("|"))`)
	for _, r := range rows {
		if !strings.Contains(r, "North University") {
			t.Errorf("filtered to North, a work is held by %q", r)
		}
	}

	// Open a resource list: the lists tab, a list, its sections.
	drive(t, ctx,
		chromedp.Navigate(base+"/?lang=en"),
		chromedp.Click(chromedp.Search(`//nav[contains(@class,"tabs")]//a[contains(., "Resource lists")]`)),
		chromedp.WaitVisible(chromedp.CSS(`.listlink`)),
		chromedp.Click(chromedp.CSS(`.listlink`)),
		chromedp.WaitVisible(chromedp.CSS(`.listpage h2`)),
	)
	sections := texts(t, ctx, `[...document.querySelectorAll(".listpage .section h3")].map(e => e.textContent)`)
	if len(sections) == 0 {
		t.Error("the list page shows no sections")
	}

	// Switch language: the interface is French.
	drive(t, ctx,
		chromedp.Navigate(base+"/?q=hunger+games&lang=en"),
		chromedp.Click(chromedp.CSS(`a[hreflang="fr"]`)),
		chromedp.WaitVisible(chromedp.CSS(`html[lang="fr"]`)),
	)
	button := read(t, ctx, chromedp.Text(chromedp.CSS(`.searchform button`)))
	fcount := read(t, ctx, chromedp.Text(chromedp.ID(`result-count`)))
	if button != "Rechercher" || !strings.Contains(fcount, "œuvres trouvées") {
		t.Errorf("in French the button reads %q and the count %q", button, fcount)
	}
}

func TestGatewayListsFacetNarrowsTheLists(t *testing.T) {
	base := demoServer(t)
	ctx := browser(t)
	drive(t, ctx,
		chromedp.Navigate(base+"/?tab=lists&q=dystopia&lang=en"),
		chromedp.WaitVisible(chromedp.CSS(`.facetform`)),
	)
	before := read(t, ctx, chromedp.Text(chromedp.ID(`result-count`)))
	legends := texts(t, ctx, `[...document.querySelectorAll(".facetform legend")].map(e => e.textContent)`)
	if !strings.Contains(strings.Join(legends, "|"), "Institution") {
		t.Fatalf("the lists' facets are %q; want an Institution facet", legends)
	}
	// The institution with the fewest lists: ticking it must narrow.
	boxes := `[...document.querySelectorAll('.facetform input[name="filter.institution"]')]`
	choice := texts(t, ctx, `(b => [b.value, b.labels[0].textContent])(`+boxes+`.at(-1))`)
	if len(choice) != 2 {
		t.Fatalf("no institution checkbox: %q", choice)
	}
	id, label := choice[0], choice[1]
	name, count, ok := strings.Cut(strings.TrimSuffix(label, ")"), " (")
	if !ok || name == id {
		t.Fatalf("the checkbox of %s is labelled %q; want the institution's name and a count", id, label)
	}
	box := `.facetform input[name="filter.institution"][value="` + id + `"]`
	// Keyboard only: focus the checkbox, press Space. The page's script
	// applies the filter at once and puts focus back on the checkbox.
	drive(t, ctx,
		chromedp.Focus(chromedp.CSS(box)),
		chromedp.KeyEvent(" "),
		chromedp.WaitVisible(chromedp.CSS(box+`:checked`)),
		chromedp.WaitVisible(chromedp.CSS(`.facetform a.clear`)),
	)
	if loc := read(t, ctx, chromedp.Location()); !strings.Contains(loc, "filter.institution="+id) || !strings.Contains(loc, "tab=lists") {
		t.Errorf("after ticking %s the address is %s", name, loc)
	}
	if focused := read(t, ctx, chromedp.Evaluate[bool](`document.activeElement === document.querySelector('`+box+`')`)); !focused {
		t.Error("focus did not return to the ticked checkbox")
	}
	after := read(t, ctx, chromedp.Text(chromedp.ID(`result-count`)))
	if !strings.HasPrefix(after, count+" resource list") || after == before {
		t.Errorf("filtered to %s (%s lists), the count reads %q (before: %q)", name, count, after, before)
	}
	groups := texts(t, ctx, `[...document.querySelectorAll(".lists .institution h3")].map(e => e.textContent)`)
	if len(groups) == 0 {
		t.Fatal("no list after filtering by institution")
	}
	for _, g := range groups {
		if g != name {
			t.Errorf("filtered to %s, lists of %q show", name, g)
		}
	}
	// The next page and the permalink keep the filter; clearing drops it.
	links := texts(t, ctx, `[...document.querySelectorAll(".lists .permalink a, .lists .paging a")].map(a => a.getAttribute("href"))`)
	for _, l := range links {
		if !strings.Contains(l, "filter.institution="+id) {
			t.Errorf("the link %s lost the filter", l)
		}
	}
	drive(t, ctx,
		chromedp.Click(chromedp.CSS(`.facetform a.clear`)),
		chromedp.WaitNotPresent(chromedp.CSS(`.facetform a.clear`)),
	)
	if again := read(t, ctx, chromedp.Text(chromedp.ID(`result-count`))); again != before {
		t.Errorf("after clearing the filters the count reads %q; want %q", again, before)
	}
}

func TestAScriptInTheQueryRendersAsText(t *testing.T) {
	base := demoServer(t)
	ctx := browser(t)
	q := `<script>alert(1)</script>`
	drive(t, ctx,
		chromedp.Navigate(base+"/?lang=en"),
		chromedp.WaitVisible(chromedp.ID(`q`)),
		chromedp.SendKeys(chromedp.ID(`q`), q),
		chromedp.Submit(chromedp.ID(`q`)),
		chromedp.WaitVisible(chromedp.ID(`result-count`)),
	)
	value := read(t, ctx, chromedp.Value(chromedp.ID(`q`)))
	title := read(t, ctx, chromedp.Title())
	scripts := read(t, ctx, chromedp.Evaluate[int](`[...document.scripts].filter(s => !s.src).length + document.querySelectorAll("body script").length`))
	if value != q || !strings.Contains(title, q) {
		t.Errorf("the query box holds %q and the title is %q; want the query as typed", value, title)
	}
	if scripts != 0 {
		t.Errorf("%d script elements were injected", scripts)
	}
}

// focusables lists the page's interactive elements that are rendered (a
// closed <details>' content is not) and take part in the tab order.
const focusables = `[...document.querySelectorAll('a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex]:not([tabindex="-1"])')]
  .filter(e => !e.disabled && e.checkVisibility({visibilityProperty: true}))`

func TestKeyboardAloneReachesEveryControl(t *testing.T) {
	base := demoServer(t)
	ctx := browser(t)
	for _, path := range []string{"/?lang=en", "/i/north/?q=hunger+games&lang=en", "/?tab=lists&q=dystopia&lang=en"} {
		t.Run(path, func(t *testing.T) {
			drive(t, ctx, chromedp.Navigate(base+path), chromedp.WaitVisible(chromedp.ID(`q`)))
			n := read(t, ctx, chromedp.Evaluate[int](focusables+`.map((e, i) => { e.dataset.kbd = i; return i }).length`))
			if n == 0 {
				t.Fatal("no focusable element on the page")
			}
			reached := map[string]bool{}
			var skipFirst string
			for i := 0; i < n+5; i++ {
				drive(t, ctx, chromedp.KeyEvent(kb.Tab))
				id := read(t, ctx, chromedp.Evaluate[string](`(document.activeElement && document.activeElement.dataset.kbd) || ""`))
				if i == 0 {
					skipFirst = read(t, ctx, chromedp.Evaluate[string](`document.activeElement.className`))
				}
				if id != "" {
					reached[id] = true
				}
			}
			if skipFirst != "skip" {
				t.Errorf("the first Tab lands on %q; want the skip link", skipFirst)
			}
			missed := texts(t, ctx, focusables+`.filter(e => !`+jsSet(reached)+`.has(e.dataset.kbd)).map(e => e.outerHTML.slice(0, 120))`)
			if len(missed) > 0 {
				t.Errorf("Tab never reached %d of %d controls: %q", len(missed), n, missed)
			}
		})
	}
}

// jsSet is a JavaScript Set literal of the keys of m.
func jsSet(m map[string]bool) string {
	var b strings.Builder
	b.WriteString("new Set([")
	for k := range m {
		b.WriteString(`"` + k + `",`)
	}
	b.WriteString("])")
	return b.String()
}

// TestGatewayScreenshots writes docs/screenshots/*.png when
// UPDATE_SCREENSHOTS=1: the home, a result and a list page, at desktop and
// phone widths.
func TestGatewayScreenshots(t *testing.T) {
	if os.Getenv("UPDATE_SCREENSHOTS") != "1" {
		t.Skip("set UPDATE_SCREENSHOTS=1 to rewrite docs/screenshots")
	}
	base := demoServer(t)
	ctx := browser(t)
	drive(t, ctx, chromedp.Navigate(base+"/?tab=lists&q=dystopia&lang=en"), chromedp.WaitVisible(chromedp.CSS(`.listlink`)))
	listURL := read(t, ctx, chromedp.Evaluate[string](`document.querySelector(".listlink").getAttribute("href")`))
	dir := filepath.Join("..", "..", "docs", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	pages := []struct{ name, path string }{
		{"home", "/?lang=en"},
		{"results", "/i/north/?q=hunger+games&lang=en"},
		{"list", listURL + "?lang=en"},
	}
	for _, size := range []struct {
		name string
		w, h int64
	}{{"desktop", 1280, 900}, {"mobile", 390, 844}} {
		for _, p := range pages {
			drive(t, ctx,
				chromedp.EmulateViewport(size.w, size.h),
				chromedp.Navigate(base+p.path),
				chromedp.WaitVisible(chromedp.ID(`q`)),
			)
			png := read(t, ctx, chromedp.CaptureScreenshot())
			if err := os.WriteFile(filepath.Join(dir, p.name+"-"+size.name+".png"), png, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}
