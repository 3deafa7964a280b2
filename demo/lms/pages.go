package lms

import (
	"bytes"
	"embed"
	"html/template"
	"slices"
	"strings"

	"github.com/valyala/fasthttp"
)

//go:embed static/style.css static/autopost.js
var static embed.FS

//go:embed templates.html
var templateText string

var pages = template.Must(template.New("pages").Parse(templateText))

// field is a hidden form field.
type field struct{ Name, Value string }

// securityHeaders set the platform's strict policy on a page: its own
// style sheet and script only, forms only to itself and formTargets (the
// tool, for form posts and for the redirects that follow a form), no
// framing, no referrer, no caching.
func securityHeaders(ctx *fasthttp.RequestCtx, formTargets ...string) {
	forms := append([]string{"'self'"}, formTargets...)
	forms = slices.Compact(forms)
	ctx.Response.Header.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; "+
		"form-action "+strings.Join(forms, " ")+"; base-uri 'none'; frame-ancestors 'none'")
	ctx.Response.Header.Set("X-Content-Type-Options", "nosniff")
	ctx.Response.Header.Set("Referrer-Policy", "no-referrer")
	ctx.Response.Header.Set("Cache-Control", "no-store")
}

// render writes a page of the templates.
func (p *Platform) render(ctx *fasthttp.RequestCtx, status int, name string, data any, formTargets ...string) {
	var b bytes.Buffer
	if err := pages.ExecuteTemplate(&b, name, data); err != nil {
		p.log.Error("demo lms: render page", "page", name, "err", err)
		ctx.Error("the page could not be rendered", fasthttp.StatusInternalServerError)
		return
	}
	securityHeaders(ctx, formTargets...)
	ctx.SetStatusCode(status)
	ctx.SetContentType("text/html; charset=utf-8")
	if !ctx.IsHead() {
		ctx.SetBody(b.Bytes())
	}
}

// problem answers with an error page.
func (p *Platform) problem(ctx *fasthttp.RequestCtx, status int, title, message string) {
	p.render(ctx, status, "problem", struct{ Title, Message, Home string }{title, message, Prefix})
}

// autoPost answers with a page that form-posts fields to action: at once
// with the page's script, or when the person presses the button.
func (p *Platform) autoPost(ctx *fasthttp.RequestCtx, action, message string, fields []field) {
	p.render(ctx, fasthttp.StatusOK, "autopost", struct {
		Action, Message string
		Fields          []field
	}{action, message, fields}, p.tool.origin)
}

func (p *Platform) serveHome(ctx *fasthttp.RequestCtx) {
	p.render(ctx, fasthttp.StatusOK, "home", struct {
		Institutions []*Institution
		Launch       string
		Tool         string
	}{p.insts, Prefix + "launch", p.tool.origin}, p.tool.origin)
}

// linkedItem is a deep-linked item on the page, with the sealed link its
// buttons carry.
type linkedItem struct {
	resourceLink
	Sealed string
}

func (p *Platform) linkedPage(ctx *fasthttp.RequestCtx, l *linked) {
	var items []linkedItem
	for _, it := range l.items {
		s, err := p.seal.seal(purposeLink, linkToken{Institution: l.inst.ID, Course: l.course, Link: it})
		if err != nil {
			p.log.Error("demo lms: seal link", "err", err)
			p.problem(ctx, fasthttp.StatusInternalServerError, "Could not keep the link", "The link is too large to keep.")
			return
		}
		items = append(items, linkedItem{resourceLink: it, Sealed: s})
	}
	p.render(ctx, fasthttp.StatusOK, "linked", struct {
		Institution *Institution
		Course      string
		Items       []linkedItem
		Msg         string
		Launch      string
	}{l.inst, l.course, items, l.msg, Prefix + "launch"}, p.tool.origin)
}

// serveStatic serves the style sheet and the script.
func serveStatic(ctx *fasthttp.RequestCtx, name string) {
	b, err := static.ReadFile("static/" + name)
	if err != nil {
		ctx.Error("not found", fasthttp.StatusNotFound)
		return
	}
	if strings.HasSuffix(name, ".css") {
		ctx.SetContentType("text/css; charset=utf-8")
	} else {
		ctx.SetContentType("text/javascript; charset=utf-8")
	}
	ctx.Response.Header.Set("X-Content-Type-Options", "nosniff")
	ctx.Response.Header.Set("Cache-Control", "public, max-age=300")
	if !ctx.IsHead() {
		ctx.SetBody(b)
	}
}
