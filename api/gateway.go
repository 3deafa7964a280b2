package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/commonshelf/commonshelf/api/web"
	"github.com/commonshelf/commonshelf/consortium"
	"github.com/commonshelf/commonshelf/federate"
	"github.com/commonshelf/commonshelf/index"
	"github.com/valyala/fasthttp"
)

// contentSecurityPolicy is the gateway pages' policy: scripts and styles
// only from this server's files (no inline code), images from here or any
// https address (institution logos), forms only to this server.
const contentSecurityPolicy = "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' https:; " +
	"form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// gatewaySearchGrace is how long past a search's own budget the page waits
// for the engine (which returns by the budget).
const gatewaySearchGrace = 2 * time.Second

// exportWindow is how many works of a search the export looks through for
// the chosen one: the window the engine caches per query.
const exportWindow = 100

// gateway is what the web pages need, built once from the configuration.
type gateway struct {
	r *web.Renderer
	// sites by institution id; "" is the consortium's gateway.
	sites map[string]web.Site
	// brand holds each branded institution's colour style sheet.
	brand map[string]web.Asset
}

func newGateway(cfg *consortium.Config, engine *federate.Engine) (*gateway, error) {
	r, err := web.New()
	if err != nil {
		return nil, err
	}
	g := &gateway{r: r, sites: map[string]web.Site{}, brand: map[string]web.Asset{}}
	names := map[string]string{}
	var members []web.Member
	for _, in := range cfg.Institutions {
		names[in.ID] = in.Name
		if in.Member != nil && engine.HasMember(in.ID) {
			members = append(members, web.Member{ID: in.ID, Name: in.Name})
		}
	}
	eff, _ := cfg.Effective("")
	g.sites[""] = web.Site{Consortium: cfg.Consortium.Name, Members: members, Names: names, Links: eff.ExternalLinks()}
	for i := range cfg.Institutions {
		in := &cfg.Institutions[i]
		eff, _ := cfg.Effective(in.ID)
		site := web.Site{Consortium: cfg.Consortium.Name, Institution: in, HomeIsMember: engine.HasMember(in.ID),
			Members: members, Names: names, Links: eff.ExternalLinks()}
		if css, ok := web.BrandCSS(in.Branding.PrimaryColor); ok {
			a := web.NewAsset(css, "text/css; charset=utf-8")
			g.brand[in.ID] = a
			site.BrandCSS = "/i/" + in.ID + "/brand.css?v=" + a.Version
		}
		g.sites[in.ID] = site
	}
	return g, nil
}

// htmlHeaders sets the security headers of every page.
func htmlHeaders(ctx *fasthttp.RequestCtx, lang string) {
	h := &ctx.Response.Header
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Content-Language", lang)
	h.Set("Vary", "Accept-Language")
	h.Set("Cache-Control", "no-cache")
	h.SetContentType("text/html; charset=utf-8")
}

// pageRequest is a gateway request's parameters, copied out of the
// fasthttp context.
type pageRequest struct {
	site web.Site
	inst string
	lang string
	form web.Form
	bad  bool // a parameter was not valid UTF-8
}

func (s *Server) readPage(ctx *fasthttp.RequestCtx, inst string) (pageRequest, bool) {
	site, ok := s.web.sites[inst]
	if !ok {
		return pageRequest{}, false
	}
	p := pageRequest{site: site, inst: inst}
	f := web.Form{Filters: map[string][]string{}}
	args := ctx.QueryArgs()
	if string(args.Peek("tab")) == web.TabLists {
		f.Tab = web.TabLists
	}
	for k, v := range args.All() {
		key, val := string(k), string(v)
		if !utf8.ValidString(key) || !utf8.ValidString(val) {
			p.bad = true
			continue
		}
		if name, ok := strings.CutPrefix(key, "filter."); ok {
			for _, part := range filterValues(f.Tab, name, val) {
				if !f.Selected(name, part) {
					f.Filters[name] = append(f.Filters[name], part)
				}
			}
		}
	}
	if len(f.Filters) == 0 {
		f.Filters = nil
	}
	if !p.bad {
		f.Q = string(args.Peek("q"))
		f.Scope = strings.TrimSpace(string(args.Peek("scope")))
		// A hand-made offset past the deepest page is clamped to it (see
		// the searches below); a malformed one is the first page.
		if n, ok := parseBounded(args.Peek("offset"), 1, maxOffset); ok {
			f.Offset = n
		}
	}
	switch {
	case f.Scope == "home" && site.HomeIsMember:
	case f.Scope != "" && f.Scope != "consortium" && f.Scope != "home" && s.engine.HasMember(f.Scope):
	default:
		f.Scope = ""
	}
	eff, _ := s.cfg.Effective(inst)
	consortiumLang := s.cfg.Consortium.Defaults.Language
	explicit := string(args.Peek("lang"))
	p.lang = s.web.r.Negotiate(explicit, string(ctx.Request.Header.Peek("Accept-Language")), eff.Language(), consortiumLang)
	if explicit != "" && explicit == p.lang {
		f.Lang = p.lang
	}
	f.Limit = eff.PageSize()
	p.form = f
	if sess := s.session(ctx); sess != nil {
		p.site.Viewer = s.viewer(sess, false)
	}
	return p, true
}

// wholeListFacets are the list facets whose values are free text that may
// hold a comma (a department "Languages, Literatures and Cultures").
var wholeListFacets = map[string]bool{"department": true, "term": true}

// filterValues splits one filter.<name> parameter into its values. Facet
// values that are ids, codes or years hold no comma, so "filter.year=2024,2025"
// is two values, as in the JSON API; a list's department or term may hold
// one, so on the lists tab such a parameter is one value (the page's own
// links and forms repeat the parameter for more).
func filterValues(tab, name, val string) []string {
	if tab == web.TabLists && wholeListFacets[name] {
		if val = strings.TrimSpace(val); val != "" {
			return []string{val}
		}
		return nil
	}
	var out []string
	for part := range strings.SplitSeq(val, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// scopeMembers is the member list of a form's scope (nil: all).
func (p *pageRequest) scopeMembers() []string {
	switch p.form.Scope {
	case "":
		return nil
	case "home":
		return []string{p.inst}
	}
	return []string{p.form.Scope}
}

func (s *Server) writePage(ctx *fasthttp.RequestCtx, status int, lang string, render func(*bytes.Buffer) error) {
	var buf bytes.Buffer
	if err := render(&buf); err != nil {
		s.log.Error("render gateway page", "path", string(ctx.Path()), "err", err)
		ctx.Error("the page could not be rendered", fasthttp.StatusInternalServerError)
		return
	}
	htmlHeaders(ctx, lang)
	if len(ctx.Request.Header.Cookie(sessionCookie)) > 0 {
		// A signed-in page names its viewer and carries their form token.
		ctx.Response.Header.Set("Cache-Control", "private, no-store")
		ctx.Response.Header.Set("Vary", "Accept-Language, Cookie")
	}
	ctx.SetStatusCode(status)
	ctx.SetBody(buf.Bytes())
}

func (s *Server) notFoundPage(ctx *fasthttp.RequestCtx, p pageRequest, key string) {
	if p.site.Names == nil {
		p.site = s.web.sites[""]
		p.lang = s.web.r.Negotiate(string(ctx.QueryArgs().Peek("lang")), string(ctx.Request.Header.Peek("Accept-Language")), "", s.cfg.Consortium.Defaults.Language)
	}
	s.writePage(ctx, fasthttp.StatusNotFound, p.lang, func(b *bytes.Buffer) error { return s.web.r.NotFound(b, p.site, p.lang, key) })
}

// handleGateway: GET / and GET /i/{institution}/ — the search page; with q
// (or tab=lists) it shows results.
func (s *Server) handleGateway(ctx *fasthttp.RequestCtx, params []string) {
	p, ok := s.readPage(ctx, params[0])
	if !ok {
		s.notFoundPage(ctx, p, "error.notfound")
		return
	}
	r := s.web.r
	problem := func(status int, msg string) {
		s.writePage(ctx, status, p.lang, func(b *bytes.Buffer) error { return r.Problem(b, p.site, p.lang, p.form, msg) })
	}
	if p.bad {
		problem(fasthttp.StatusBadRequest, r.Localize(p.lang, "error.query.nopos", "not valid UTF-8"))
		return
	}
	if p.form.Tab == web.TabLists {
		s.listResultsPage(ctx, p, problem)
		return
	}
	if strings.TrimSpace(p.form.Q) == "" {
		s.writePage(ctx, fasthttp.StatusOK, p.lang, func(b *bytes.Buffer) error { return r.Home(b, p.site, p.lang, p.form) })
		return
	}
	req, msg := s.catalogueRequest(p)
	if msg != "" {
		problem(fasthttp.StatusBadRequest, msg)
		return
	}
	sctx, cancel := context.WithTimeout(context.Background(), req.Timeout+gatewaySearchGrace)
	defer cancel()
	resp, err := s.engine.Search(sctx, req)
	if err != nil {
		if errors.Is(err, federate.ErrOverloaded) {
			overloaded(ctx) // its Retry-After
			problem(fasthttp.StatusServiceUnavailable, r.Localize(p.lang, "error.busy"))
			return
		}
		var re *federate.RequestError
		if errors.As(err, &re) {
			problem(fasthttp.StatusBadRequest, r.Localize(p.lang, "error.query.nopos", re.Message))
			return
		}
		s.log.Error("gateway search", "err", err)
		retryLater(ctx)
		problem(fasthttp.StatusServiceUnavailable, r.Localize(p.lang, "error.unavailable"))
		return
	}
	if v := p.site.Viewer; v != nil && v.Staff {
		// The lists an instructor may add a result to.
		if sess := s.session(ctx); sess != nil {
			if lists, err := s.courseLists(sess); err == nil {
				for _, l := range lists {
					if sessionPrincipal(sess).manages(l) {
						v.Lists = append(v.Lists, web.Option{Value: l.ID, Label: l.Name})
					}
				}
			}
		}
	}
	s.writePage(ctx, fasthttp.StatusOK, p.lang, func(b *bytes.Buffer) error { return r.Catalogue(b, p.site, p.lang, p.form, resp) })
}

// catalogueRequest turns a page's form into an engine request, or a
// localised message saying what is wrong with the query.
func (s *Server) catalogueRequest(p pageRequest) (federate.Request, string) {
	r := s.web.r
	var req federate.Request
	if n := utf8.RuneCountInString(p.form.Q); n > federate.MaxQueryLength {
		return req, r.Localize(p.lang, "error.toolong", n, federate.MaxQueryLength)
	}
	q, err := federate.ParseQuery(p.form.Q)
	if err != nil {
		var qe *federate.QueryError
		if errors.As(err, &qe) && qe.Pos > 0 {
			return req, r.Localize(p.lang, "error.query", qe.Pos, qe.Message)
		}
		return req, r.Localize(p.lang, "error.query.nopos", err.Error())
	}
	eff, _ := s.cfg.Effective(p.inst)
	req = federate.Request{Query: q, Members: p.scopeMembers(), Home: p.inst, Filters: p.form.Filters,
		Limit: p.form.Limit, Offset: p.form.Offset, Timeout: eff.SearchTimeout(), ConfiguredTimeout: eff.SearchTimeout()}
	if req.Offset+req.Limit > web.MaxWindow {
		req.Offset = max(0, web.MaxWindow-req.Limit)
	}
	return req, ""
}

func (s *Server) listResultsPage(ctx *fasthttp.RequestCtx, p pageRequest, problem func(int, string)) {
	r := s.web.r
	if s.lists == nil {
		problem(fasthttp.StatusNotFound, r.Localize(p.lang, "error.lists.disabled"))
		return
	}
	if n := utf8.RuneCountInString(p.form.Q); n > federate.MaxQueryLength {
		problem(fasthttp.StatusBadRequest, r.Localize(p.lang, "error.toolong", n, federate.MaxQueryLength))
		return
	}
	filters, msg := s.listFilters(p)
	if msg != "" {
		problem(fasthttp.StatusBadRequest, msg)
		return
	}
	p.form.Filters = filters
	p.form.Limit = index.DefaultLimit
	q := index.ListQuery{Text: p.form.Q, Filters: filters, Limit: p.form.Limit, Offset: min(p.form.Offset, index.MaxWindow-p.form.Limit)}
	if m := p.scopeMembers(); len(m) == 1 {
		q.Institution = m[0]
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := s.lists.Search(sctx, q)
	if errors.Is(err, index.ErrBusy) {
		overloaded(ctx) // its Retry-After
		problem(fasthttp.StatusServiceUnavailable, r.Localize(p.lang, "error.busy"))
		return
	}
	if err != nil {
		var qe *index.QueryError
		if errors.As(err, &qe) {
			msg := r.Localize(p.lang, "error.query.nopos", qe.Message)
			if name, ok := strings.CutPrefix(qe.Param, "filters."); ok {
				msg = r.Localize(p.lang, "error.filter", listFacetLegend(r, p.lang, name), qe.Message)
			} else if qe.Pos > 0 {
				msg = r.Localize(p.lang, "error.query", qe.Pos, qe.Message)
			}
			problem(fasthttp.StatusBadRequest, msg)
			return
		}
		s.log.Error("gateway list search", "err", err)
		retryLater(ctx)
		problem(fasthttp.StatusServiceUnavailable, r.Localize(p.lang, "error.unavailable"))
		return
	}
	s.writePage(ctx, fasthttp.StatusOK, p.lang, func(b *bytes.Buffer) error { return r.ListResults(b, p.site, p.lang, p.form, res) })
}

// maxFilterValues bounds the values of one facet a lists page filters by:
// more than a person ticks, fewer than would make the search costly.
const maxFilterValues = 50

// listCitationTypes and listImportances are the values the citation_type
// and importance facets can have.
var (
	listCitationTypes = []string{index.TypeBook, index.TypeChapter, index.TypeArticle, index.TypeWeb, index.TypeVideo}
	listImportances   = []string{index.ImportanceRequired, index.ImportanceRecommended, index.ImportanceOptional}
)

// listFilters checks the lists tab's filters — facet names from
// index.FacetNames, values that facet can have — and returns them for
// index.ListQuery.Filters, years written canonically ("2024", not "02024",
// as the index holds them); nil when there are none. A filter that cannot
// be used gives a localised message instead: a person who edited the
// address learns what to change, rather than seeing no result.
func (s *Server) listFilters(p pageRequest) (map[string][]string, string) {
	if len(p.form.Filters) == 0 {
		return nil, ""
	}
	r := s.web.r
	names := make([]string, 0, len(p.form.Filters))
	for name := range p.form.Filters {
		names = append(names, name)
	}
	slices.Sort(names) // the first problem reported is the same every time
	out := make(map[string][]string, len(names))
	for _, name := range names {
		if !slices.Contains(index.FacetNames, name) {
			known := make([]string, len(index.FacetNames))
			for i, n := range index.FacetNames {
				known[i] = "filter." + n
			}
			return nil, r.Localize(p.lang, "error.filter.unknown", "filter."+name, strings.Join(known, ", "))
		}
		legend := listFacetLegend(r, p.lang, name)
		vals := p.form.Filters[name]
		if len(vals) > maxFilterValues {
			return nil, r.Localize(p.lang, "error.filter.toomany", legend, len(vals), maxFilterValues)
		}
		var keep []string
		for _, v := range vals {
			if n := utf8.RuneCountInString(v); n > index.MaxStringLength {
				return nil, r.Localize(p.lang, "error.filter.toolong", legend, n, index.MaxStringLength)
			}
			switch name {
			case "institution":
				if _, ok := s.cfg.Institution(v); !ok {
					return nil, r.Localize(p.lang, "error.filter.institution", v)
				}
			case "year":
				y, err := strconv.Atoi(v)
				if err != nil || y < 1 || y > 9999 || strings.ContainsAny(v, "+-") {
					return nil, r.Localize(p.lang, "error.filter.year", v)
				}
				v = strconv.Itoa(y)
			case "citation_type", "importance":
				allowed := listCitationTypes
				if name == "importance" {
					allowed = listImportances
				}
				if !slices.Contains(allowed, v) {
					return nil, r.Localize(p.lang, "error.filter.choice", legend, v, strings.Join(allowed, ", "))
				}
			}
			if !slices.Contains(keep, v) {
				keep = append(keep, v)
			}
		}
		out[name] = keep
	}
	return out, ""
}

// listFacetLegend is a list facet's name in words.
func listFacetLegend(r *web.Renderer, lang, name string) string {
	return web.ListFacetLegend(r.Localizer(lang), name)
}

// handleListPage: GET /lists/{institution}/{list_id} — a published public
// list, section by section, in its institution's branding.
func (s *Server) handleListPage(ctx *fasthttp.RequestCtx, params []string) {
	inst, id := params[0], params[1]
	p, ok := s.readPage(ctx, inst)
	if !ok || s.lists == nil {
		s.notFoundPage(ctx, p, "error.list.notfound")
		return
	}
	l, found, err := s.lists.Get(inst, id)
	if err != nil {
		s.log.Error("gateway list page", "institution", inst, "list", id, "err", err)
		ctx.Error("the list could not be read; try again", fasthttp.StatusServiceUnavailable)
		return
	}
	who, signed := principal{}, false
	if sess := s.session(ctx); sess != nil {
		who, signed = sessionPrincipal(sess), true
	}
	if !found || !seesList(who, signed, l) {
		s.notFoundPage(ctx, p, "error.list.notfound")
		return
	}
	filterFiles(l, who, signed)
	s.writePage(ctx, fasthttp.StatusOK, p.lang, func(b *bytes.Buffer) error { return s.web.r.ListPage(b, p.site, p.lang, p.form, l) })
}

// handleStatic: GET /static/{name} — the page's style sheet and script.
func (s *Server) handleStatic(ctx *fasthttp.RequestCtx, params []string) {
	a, ok := s.web.r.Static(params[0])
	if !ok {
		ctx.Error("not found", fasthttp.StatusNotFound)
		return
	}
	writeAsset(ctx, a)
}

// handleBrandCSS: GET /i/{institution}/brand.css — the institution's colour.
func (s *Server) handleBrandCSS(ctx *fasthttp.RequestCtx, params []string) {
	a, ok := s.web.brand[params[0]]
	if !ok {
		ctx.Error("not found", fasthttp.StatusNotFound)
		return
	}
	writeAsset(ctx, a)
}

// writeAsset sends a static file: cached for a year when the address
// names its current version (a changed file gets a new address), briefly
// otherwise; revalidated by ETag.
func writeAsset(ctx *fasthttp.RequestCtx, a web.Asset) {
	h := &ctx.Response.Header
	h.Set("ETag", a.ETag)
	h.Set("X-Content-Type-Options", "nosniff")
	if string(ctx.QueryArgs().Peek("v")) == a.Version {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "public, max-age=300")
	}
	if inm := ctx.Request.Header.Peek("If-None-Match"); inm != nil && etagMatches(inm, []byte(a.ETag)) {
		ctx.SetStatusCode(fasthttp.StatusNotModified)
		return
	}
	ctx.SetContentType(a.ContentType)
	ctx.SetBody(a.Body)
}

// handleExport: GET /export/{ris|bibtex}?q=…&scope=…&home=…&filter.…&id=… —
// one work's citation. Results are not stored: the search is run again (a
// cached answer costs no member anything) and the work picked by its id
// among the first exportWindow works.
func (s *Server) handleExport(ctx *fasthttp.RequestCtx, params []string) {
	format := params[0]
	plain := func(status int, msg string) {
		ctx.Response.Header.Set("X-Content-Type-Options", "nosniff")
		ctx.SetStatusCode(status)
		ctx.SetContentType("text/plain; charset=utf-8")
		ctx.SetBodyString(msg + "\n")
	}
	_, res, status, msg := s.findWork(ctx)
	if res == nil {
		plain(status, msg)
		return
	}
	name := "citation"
	if key := strings.Trim(strings.Map(func(r rune) rune {
		if r < 128 && (r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z') {
			return r
		}
		return '-'
	}, strings.ToLower(res.ID)), "-"); key != "" {
		name = key
	}
	h := &ctx.Response.Header
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-cache")
	switch format {
	case "ris":
		ctx.SetContentType("application/x-research-info-systems; charset=utf-8")
		h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s.ris"`, name))
		ctx.SetBodyString(web.RIS(res))
	default:
		ctx.SetContentType("application/x-bibtex; charset=utf-8")
		h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s.bib"`, name))
		ctx.SetBodyString(web.BibTeX(res))
	}
}
