package api

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/commonshelf/commonshelf/api/web"
	"github.com/commonshelf/commonshelf/federate"
	"github.com/commonshelf/commonshelf/index"
	"github.com/commonshelf/commonshelf/lti"
	"github.com/commonshelf/commonshelf/requests"
	"github.com/valyala/fasthttp"
)

// The gateway's actions on a catalogue result — request it from a member,
// suggest its purchase, add it to a course list — are forms posted by a
// person signed in through their learning platform. Each form's address
// carries the search it came from (q, scope, filters, home) and the work's
// id, so the server finds the work again, as the citation export does; its
// body carries the session's form token and the choice.

// findWork re-runs the search of a result page (the query string) and
// returns the work with the query's id among its first exportWindow
// results. status/msg say why not.
func (s *Server) findWork(ctx *fasthttp.RequestCtx) (p pageRequest, res *federate.Result, status int, msg string) {
	args := ctx.QueryArgs()
	home := string(args.Peek("home"))
	if _, ok := s.web.sites[home]; !ok {
		home = ""
	}
	p, _ = s.readPage(ctx, home)
	id := string(args.Peek("id"))
	if p.bad || id == "" || strings.TrimSpace(p.form.Q) == "" {
		return p, nil, fasthttp.StatusBadRequest, "this needs the search (q, and scope, home, filter.… as on the page) and the work's id"
	}
	p.form.Limit, p.form.Offset = exportWindow, 0
	req, msg := s.catalogueRequest(p)
	if msg != "" {
		return p, nil, fasthttp.StatusBadRequest, msg
	}
	sctx, cancel := context.WithTimeout(context.Background(), req.Timeout+gatewaySearchGrace)
	defer cancel()
	resp, err := s.engine.Search(sctx, req)
	if errors.Is(err, federate.ErrOverloaded) {
		overloaded(ctx) // its Retry-After
		return p, nil, fasthttp.StatusServiceUnavailable, s.web.r.Localize(p.lang, "error.busy")
	}
	if err != nil {
		var re *federate.RequestError
		if errors.As(err, &re) {
			return p, nil, fasthttp.StatusBadRequest, re.Error()
		}
		s.log.Error("gateway action search", "err", err)
		retryLater(ctx)
		return p, nil, fasthttp.StatusServiceUnavailable, s.web.r.Localize(p.lang, "error.unavailable")
	}
	for i := range resp.Results {
		if resp.Results[i].ID == id {
			return p, &resp.Results[i], fasthttp.StatusOK, ""
		}
	}
	return p, nil, fasthttp.StatusNotFound, fmt.Sprintf("no work %q among the first %d results of this search", id, exportWindow)
}

// problemPage answers a gateway action with the page's error box.
func (s *Server) problemPage(ctx *fasthttp.RequestCtx, p pageRequest, status int, msg string) {
	if p.site.Names == nil {
		p, _ = s.readPage(ctx, "")
	}
	s.writePage(ctx, status, p.lang, func(b *bytes.Buffer) error {
		return s.web.r.Problem(b, p.site, p.lang, web.Form{Lang: p.form.Lang}, msg)
	})
}

// actionForm reads a gateway action: the signed-in staff member, the form
// and the work. It answers the request itself (an error page) when ok is
// false.
func (s *Server) actionForm(ctx *fasthttp.RequestCtx) (sess *lti.Session, form url.Values, p pageRequest, res *federate.Result, ok bool) {
	problem := func(status int, msg string) { s.problemPage(ctx, p, status, msg) }
	sess = s.session(ctx)
	if sess == nil {
		p, _ = s.readPage(ctx, "")
		problem(fasthttp.StatusUnauthorized, s.web.r.Localize(p.lang, "action.signin"))
		return nil, nil, p, nil, false
	}
	form, err := readForm(ctx)
	if err != nil {
		problem(fasthttp.StatusBadRequest, err.Error())
		return nil, nil, p, nil, false
	}
	who := sessionPrincipal(sess)
	if e := checkCSRF(ctx, who, form.Get("csrf")); e != nil {
		problem(e.Status, e.Message)
		return nil, nil, p, nil, false
	}
	if !who.staff() {
		p, _ = s.readPage(ctx, sess.Institution)
		problem(fasthttp.StatusForbidden, s.web.r.Localize(p.lang, "action.staffonly"))
		return nil, nil, p, nil, false
	}
	p, res, status, msg := s.findWork(ctx)
	if res == nil {
		problem(status, msg)
		return nil, nil, p, nil, false
	}
	return sess, form, p, res, true
}

// handleRequestForm: POST /requests/new?{search}&id={work} with csrf, kind
// (loan, copy, purchase) and member — a staff member asks another member
// for a work, or suggests buying it using that member's record.
func (s *Server) handleRequestForm(ctx *fasthttp.RequestCtx, _ []string) {
	if s.requests == nil {
		s.notFoundPage(ctx, pageRequest{}, "error.notfound")
		return
	}
	sess, form, p, res, ok := s.actionForm(ctx)
	if !ok {
		return
	}
	problem := func(status int, msg string) { s.problemPage(ctx, p, status, msg) }
	kind, member := requests.Kind(form.Get("kind")), form.Get("member")
	i := slices.IndexFunc(res.Holdings, func(h federate.Holding) bool { return h.Member == member })
	if i < 0 {
		problem(fasthttp.StatusBadRequest, fmt.Sprintf("%s does not hold this work", member))
		return
	}
	h := res.Holdings[i]
	link := ""
	if len(h.Links) > 0 {
		link = h.Links[0].URL
	}
	r := &requests.Request{Kind: kind, Requester: sess.Institution,
		Source:         requests.Source{WorkID: res.ID, Member: member, RecordID: h.RecordID},
		Metadata:       requests.Metadata{Title: res.Title, Authors: res.Authors, Edition: res.Edition, Publisher: res.Publisher, Year: res.Year, Identifiers: res.Identifiers, RecordID: h.RecordID, Link: link},
		PickupLocation: strings.TrimSpace(form.Get("pickup_location")), NeededBy: form.Get("needed_by")}
	if sess.CourseCode != "" {
		r.Course = &requests.Course{Institution: sess.Institution, CourseCode: sess.CourseCode}
	}
	if kind != requests.KindPurchase {
		r.Supplier = member
	}
	isMember := func(id string) bool { in, ok := s.cfg.Institution(id); return ok && in.Member != nil }
	if fes := r.Validate(isMember); len(fes) > 0 {
		problem(fasthttp.StatusBadRequest, fes[0].Field+": "+fes[0].Message)
		return
	}
	if msg := s.kindDisabled(kind, sess.Institution, "requester"); msg != "" {
		problem(fasthttp.StatusForbidden, msg)
		return
	}
	var notify []string
	if kind != requests.KindPurchase {
		if msg := s.kindDisabled(kind, member, "supplier"); msg != "" {
			problem(fasthttp.StatusForbidden, msg)
			return
		}
		notify = s.webhookOf(member)
	}
	// One click, one request: the form's nonce makes a repeated submission
	// (a double click, a reload) the same request.
	key := form.Get("nonce")
	if len(key) > maxIdempotencyKey {
		key = ""
	}
	wctx, cancel := context.WithTimeout(context.Background(), requestsTimeout)
	defer cancel()
	stored, _, err := s.requests.Create(wctx, r, key, requests.Fingerprint([]byte(string(kind)+"\x00"+member+"\x00"+res.ID+"\x00"+sess.Subject)), notify)
	if err != nil {
		if errors.Is(err, requests.ErrIdempotencyConflict) {
			problem(fasthttp.StatusConflict, "this form was already used for another request; go back and reload the page")
			return
		}
		s.log.Error("gateway request", "err", err)
		problem(fasthttp.StatusServiceUnavailable, s.web.r.Localize(p.lang, "error.unavailable"))
		return
	}
	s.log.Info("gateway request", "id", stored.ID, "kind", kind, "requester", sess.Institution, "supplier", r.Supplier, "work", res.ID, "sub", sess.Subject)
	ctx.Redirect("/requests/"+url.PathEscape(stored.ID)+langQuery(p.form.Lang), fasthttp.StatusSeeOther)
}

func langQuery(lang string) string {
	if lang == "" {
		return ""
	}
	return "?lang=" + url.QueryEscape(lang)
}

// handleRequestPage: GET /requests/{id} — a request as its requester or
// supplier's staff see it: what, from whom, its status and history.
func (s *Server) handleRequestPage(ctx *fasthttp.RequestCtx, params []string) {
	sess := s.session(ctx)
	var p pageRequest
	if sess != nil {
		p, _ = s.readPage(ctx, sess.Institution)
	}
	if sess == nil || s.requests == nil || !sessionPrincipal(sess).staff() {
		s.notFoundPage(ctx, p, "error.notfound")
		return
	}
	gctx, cancel := context.WithTimeout(context.Background(), requestsTimeout)
	defer cancel()
	r, err := s.requests.Get(gctx, params[0])
	if err != nil && !errors.Is(err, requests.ErrNotFound) {
		s.log.Error("gateway request page", "id", params[0], "err", err)
		ctx.Error("the request could not be read; try again", fasthttp.StatusServiceUnavailable)
		return
	}
	if r == nil {
		s.notFoundPage(ctx, p, "error.notfound")
		return
	}
	if _, party := r.Party(sess.Institution); !party {
		s.notFoundPage(ctx, p, "error.notfound")
		return
	}
	s.writePage(ctx, fasthttp.StatusOK, p.lang, func(b *bytes.Buffer) error { return s.web.r.RequestPage(b, p.site, p.lang, r) })
}

// handleAddToList: POST /lists/add?{search}&id={work} with csrf and list —
// an instructor adds a work to one of their institution's lists, as a
// citation at the end of its last section linked to a member's record.
func (s *Server) handleAddToList(ctx *fasthttp.RequestCtx, _ []string) {
	if s.lists == nil {
		s.notFoundPage(ctx, pageRequest{}, "error.notfound")
		return
	}
	sess, form, p, res, ok := s.actionForm(ctx)
	if !ok {
		return
	}
	problem := func(status int, msg string) { s.problemPage(ctx, p, status, msg) }
	l, found, err := s.lists.Get(sess.Institution, form.Get("list"))
	if err != nil {
		s.log.Error("gateway add to list", "err", err)
		problem(fasthttp.StatusServiceUnavailable, s.web.r.Localize(p.lang, "error.unavailable"))
		return
	}
	if !found || !sessionPrincipal(sess).manages(l) {
		problem(fasthttp.StatusNotFound, s.web.r.Localize(p.lang, "error.list.notfound"))
		return
	}
	c := citationOf(res, sess.Institution)
	if len(l.Sections) == 0 {
		l.Sections = []index.Section{{}}
	}
	last := &l.Sections[len(l.Sections)-1]
	last.Citations = append(last.Citations, c)
	l.Updated = ""
	wctx, cancel := context.WithTimeout(context.Background(), listsWriteTimeout)
	defer cancel()
	if _, err := s.lists.Put(wctx, l); err != nil {
		var ve *index.ValidationError
		if errors.As(err, &ve) && len(ve.Errors) > 0 {
			problem(fasthttp.StatusUnprocessableEntity, ve.Errors[0].Error())
			return
		}
		s.log.Error("gateway add to list", "err", err)
		problem(fasthttp.StatusServiceUnavailable, s.web.r.Localize(p.lang, "error.unavailable"))
		return
	}
	s.log.Info("gateway add to list", "institution", sess.Institution, "list", l.ID, "citation", c.ID, "work", res.ID, "sub", sess.Subject)
	ctx.Redirect("/lists/"+url.PathEscape(l.Institution)+"/"+url.PathEscape(l.ID)+langQuery(p.form.Lang)+"#c-"+c.ID, fasthttp.StatusSeeOther)
}

// citationOf makes a list citation of a catalogue work, linked to the
// home institution's record when it holds one, else the first holder's.
func citationOf(res *federate.Result, home string) index.Citation {
	var b [6]byte
	_, _ = rand.Read(b[:])
	c := index.Citation{ID: "cat-" + hex.EncodeToString(b[:]), Type: index.TypeBook, Title: res.Title, Authors: res.Authors,
		Year: res.Year, Edition: res.Edition, Publisher: res.Publisher, ISBN: res.Identifiers.ISBN, ISSN: res.Identifiers.ISSN}
	if len(res.Identifiers.DOI) > 0 {
		c.DOI = res.Identifiers.DOI[0]
	}
	switch res.Format {
	case federate.FormatArticle:
		c.Type = index.TypeArticle
	case federate.FormatVideo:
		c.Type = index.TypeVideo
	}
	if len(res.Holdings) > 0 {
		h := res.Holdings[0]
		if i := slices.IndexFunc(res.Holdings, func(h federate.Holding) bool { return h.Member == home }); i >= 0 {
			h = res.Holdings[i]
		}
		c.Record = &index.RecordLink{Member: h.Member, RecordID: h.RecordID}
	}
	return c
}
