// Package web renders Commonshelf's gateway page: server-rendered HTML from
// html/template, embedded static files, message catalogues per language.
// Its functions take plain data (the engine's response, the list store's
// answers, the consortium's configuration) and write HTML; the HTTP edge
// (package api) parses requests and sets headers.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"mime"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/commonshelf/commonshelf/consortium"
	"github.com/commonshelf/commonshelf/federate"
	"github.com/commonshelf/commonshelf/index"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// Renderer holds the parsed templates, the message catalogues and the
// static files. It is safe for concurrent use.
type Renderer struct {
	tmpl   *template.Template
	cats   catalogues
	static map[string]Asset
}

// Asset is a static file with its validators.
type Asset struct {
	Body        []byte
	ContentType string
	// ETag is a quoted hash of Body; Version its first characters, put in
	// URLs so that a changed file gets a new address.
	ETag, Version string
}

// New parses the embedded templates, catalogues and static files.
func New() (*Renderer, error) {
	cats, err := loadCatalogues(messageFiles)
	if err != nil {
		return nil, err
	}
	tmpl, err := template.New("page").Funcs(template.FuncMap{
		"join": strings.Join,
		"inc":  func(n int) int { return n + 1 },
		// listArgs passes a page and one of its lists to "listbody".
		"listArgs": func(p *page, v *listView) listArgs { return listArgs{P: p, V: v} },
	}).ParseFS(templateFiles, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("parse templates: %w", err)
	}
	r := &Renderer{tmpl: tmpl, cats: cats, static: map[string]Asset{}}
	err = fs.WalkDir(staticFiles, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(staticFiles, p)
		if err != nil {
			return err
		}
		r.static[strings.TrimPrefix(p, "static/")] = NewAsset(body, mime.TypeByExtension(path.Ext(p)))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

type listArgs struct {
	P *page
	V *listView
}

// NewAsset computes an asset's validators.
func NewAsset(body []byte, contentType string) Asset {
	sum := sha256.Sum256(body)
	h := hex.EncodeToString(sum[:16])
	return Asset{Body: body, ContentType: contentType, ETag: `"` + h + `"`, Version: h[:12]}
}

// Static returns the static file name ("style.css").
func (r *Renderer) Static(name string) (Asset, bool) {
	a, ok := r.static[name]
	return a, ok
}

func (r *Renderer) staticURL(name string) string {
	return "/static/" + name + "?v=" + r.static[name].Version
}

// Languages lists the catalogue languages, English first.
func (r *Renderer) Languages() []string { return r.cats.codes() }

// Member is a searchable member library.
type Member struct {
	ID, Name string
}

// Site is what every page shows of the consortium and, on an institution's
// page, of the institution.
type Site struct {
	Consortium string
	// Institution is the institution whose page this is; nil on the
	// consortium's gateway.
	Institution *consortium.Institution
	// HomeIsMember: the institution has a catalogue ("my library" scope).
	HomeIsMember bool
	Members      []Member
	// Names maps every institution id to its name.
	Names map[string]string
	Links []consortium.ExternalLink
	// BrandCSS is the address of the institution's colours ("" for none).
	BrandCSS string
	// Viewer is the person signed in, per request; nil: anonymous.
	Viewer *Viewer
}

// Form is the state of the search form, as read from the query string.
type Form struct {
	Q     string
	Tab   string // "catalogue" or "lists"
	Scope string // "consortium", "home" or a member id
	// Lang is an explicit ?lang= choice, kept in links and forms.
	Lang    string
	Filters map[string][]string
	Offset  int
	Limit   int
}

// Tab names.
const (
	TabCatalogue = "catalogue"
	TabLists     = "lists"
)

// values is the form as query parameters, in a fixed order.
func (f Form) values() url.Values {
	v := url.Values{}
	if f.Q != "" {
		v.Set("q", f.Q)
	}
	if f.Tab == TabLists {
		v.Set("tab", TabLists)
	}
	if f.Scope != "" && f.Scope != "consortium" {
		v.Set("scope", f.Scope)
	}
	for name, vals := range f.Filters {
		for _, val := range vals {
			v.Add("filter."+name, val)
		}
	}
	if f.Offset > 0 {
		v.Set("offset", strconv.Itoa(f.Offset))
	}
	if f.Lang != "" {
		v.Set("lang", f.Lang)
	}
	return v
}

// URL is the address of the form's search on the page at base.
func (f Form) URL(base string) string {
	qs := f.values().Encode()
	if qs == "" {
		return base
	}
	return base + "?" + qs
}

// Selected reports whether a facet value is among the filters.
func (f Form) Selected(facet, value string) bool { return slices.Contains(f.Filters[facet], value) }

// Link is a link with a label.
type Link struct {
	Label, URL string
	Current    bool
	Lang       string
}

// Option is a choice of a select.
type Option struct {
	Value, Label string
	Selected     bool
}

// page is the data of every template.
type page struct {
	L         *Localizer
	Title     string
	SiteName  string
	Logo      string
	Base      string
	HomeURL   string
	CSS, JS   string
	BrandCSS  string
	Languages []Link
	Links     []consortium.ExternalLink
	Form      Form
	Scopes    []Option
	Members   []Option
	Tabs      []Link
	Footer    string

	Intro   string
	Problem string
	// ProblemHeading replaces the problem box's generic heading.
	ProblemHeading string
	Facets         *facetsView // beside the catalogue's or the lists' results
	Catalogue      *catalogueView
	Lists          *listsView
	List           *listView
	NotFound       bool
	Viewer         *viewerView
	// Framed: the page is shown inside a learning platform's frame; its
	// links open in a new window.
	Framed   bool
	Launch   *launchView
	DeepLink *deepLinkView
	Request  *requestView
}

// Base is the address of a site's gateway: / or /i/{institution}/.
func (s Site) Base() string {
	if s.Institution != nil {
		return "/i/" + s.Institution.ID + "/"
	}
	return "/"
}

func (r *Renderer) newPage(site Site, lang string, f Form) *page {
	l := r.Localizer(lang)
	p := &page{L: l, Base: site.Base(), CSS: r.staticURL("style.css"), JS: r.staticURL("app.js"),
		BrandCSS: site.BrandCSS, Links: site.Links, Form: f, SiteName: site.Consortium}
	if f.Tab == "" {
		p.Form.Tab = TabCatalogue
	}
	if in := site.Institution; in != nil {
		p.SiteName = in.Name
		if logo := in.Branding.Logo; strings.HasPrefix(logo, "https://") || strings.HasPrefix(logo, "/") {
			p.Logo = logo // the page's policy allows images from here and https only
		}
	}
	p.Title = p.SiteName
	p.Viewer = newViewerView(p, site, site.Viewer)
	p.HomeURL = Form{Lang: f.Lang}.URL(p.Base)
	p.Footer = l.T("footer.about", site.Consortium)
	for _, code := range r.Languages() {
		lf := f
		lf.Lang = code
		p.Languages = append(p.Languages, Link{Label: r.cats[code].name, URL: lf.URL(p.Base), Current: code == l.Lang, Lang: code})
	}
	p.Scopes = []Option{{Value: "consortium", Label: l.T("scope.consortium"), Selected: f.Scope == "" || f.Scope == "consortium"}}
	if site.HomeIsMember {
		p.Scopes = append(p.Scopes, Option{Value: "home", Label: l.T("scope.home", site.Institution.Name), Selected: f.Scope == "home"})
	}
	for _, m := range site.Members {
		p.Members = append(p.Members, Option{Value: m.ID, Label: m.Name, Selected: f.Scope == m.ID})
	}
	for _, tab := range []string{TabCatalogue, TabLists} {
		tf := Form{Q: f.Q, Tab: tab, Scope: f.Scope, Lang: f.Lang}
		p.Tabs = append(p.Tabs, Link{Label: l.T("tab." + tab), URL: tf.URL(p.Base), Current: tab == p.Form.Tab})
	}
	if f.Q != "" {
		p.Title = l.T("title.search", f.Q, p.SiteName)
	}
	return p
}

func (r *Renderer) execute(w io.Writer, p *page) error {
	var buf bytes.Buffer
	if err := r.tmpl.ExecuteTemplate(&buf, "layout", p); err != nil {
		return fmt.Errorf("render page: %w", err)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// Home writes the gateway page without a search.
func (r *Renderer) Home(w io.Writer, site Site, lang string, f Form) error {
	p := r.newPage(site, lang, f)
	p.Intro = p.L.T("home.intro", site.Consortium)
	return r.execute(w, p)
}

// Problem writes the search page with a message instead of results (a
// query that could not be read, a failed search), already localised.
func (r *Renderer) Problem(w io.Writer, site Site, lang string, f Form, message string) error {
	p := r.newPage(site, lang, f)
	p.Problem = message
	return r.execute(w, p)
}

// NotFound writes the page for an address with nothing behind it; message
// is a catalogue key.
func (r *Renderer) NotFound(w io.Writer, site Site, lang string, key string) error {
	p := r.newPage(site, lang, Form{})
	p.NotFound = true
	p.Title = p.L.T("error.notfound.title")
	p.Problem = p.L.T(key)
	return r.execute(w, p)
}

// Localize is a catalogue message in a language, for messages the caller
// passes to Problem.
func (r *Renderer) Localize(lang, key string, args ...any) string {
	return r.Localizer(lang).T(key, args...)
}

// ListPage writes a whole resource list, section by section.
func (r *Renderer) ListPage(w io.Writer, site Site, lang string, f Form, l *index.List) error {
	p := r.newPage(site, lang, Form{Tab: TabLists, Scope: f.Scope, Lang: f.Lang})
	p.List = newListView(p, site, l)
	p.Title = l.Name + " – " + p.SiteName
	return r.execute(w, p)
}

// ListResults writes a page of resource lists found by a search.
func (r *Renderer) ListResults(w io.Writer, site Site, lang string, f Form, res *index.ListResults) error {
	p := r.newPage(site, lang, f)
	p.Lists = newListsView(p, site, res)
	return r.execute(w, p)
}

// Catalogue writes a page of catalogue results.
func (r *Renderer) Catalogue(w io.Writer, site Site, lang string, f Form, resp *federate.Response) error {
	p := r.newPage(site, lang, f)
	p.Catalogue = newCatalogueView(p, site, resp)
	return r.execute(w, p)
}
