package web

import (
	"crypto/rand"
	"encoding/hex"
	"io"
	"net/url"
	"slices"
	"time"

	"github.com/commonshelf/commonshelf/federate"
	"github.com/commonshelf/commonshelf/requests"
)

// actionsView are the forms of a catalogue result for a signed-in staff
// member: request it from a member, suggest its purchase, add it to a list.
type actionsView struct {
	CSRF, Nonce string
	// RequestURL and AddURL are the forms' addresses, carrying the search
	// and the work's id.
	RequestURL, AddURL string
	// Lenders are the members a loan may be asked of (not the viewer's
	// own); Sources the members whose record a purchase may use.
	Lenders, Sources []Option
	Lists            []Option
	Loan, Purchase   bool
	Title            string
}

func nonce() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// newActionsView builds the actions of a result, or nil when the viewer
// may take none.
func newActionsView(site Site, f Form, home string, res *federate.Result) *actionsView {
	v := site.Viewer
	if v == nil || !v.Staff {
		return nil
	}
	q := f.values()
	q.Del("offset")
	if home != "" {
		q.Set("home", home)
	}
	q.Set("id", res.ID)
	qs := q.Encode()
	a := &actionsView{CSRF: v.CSRF, Nonce: nonce(), RequestURL: "/requests/new?" + qs, AddURL: "/lists/add?" + qs,
		Loan: slices.Contains(v.RequestKinds, string(requests.KindLoan)), Purchase: slices.Contains(v.RequestKinds, string(requests.KindPurchase)),
		Lists: v.Lists, Title: res.Title}
	for _, h := range res.Holdings {
		name := site.Names[h.Member]
		if name == "" {
			name = h.Member
		}
		if !slices.ContainsFunc(a.Sources, func(o Option) bool { return o.Value == h.Member }) {
			a.Sources = append(a.Sources, Option{Value: h.Member, Label: name})
			if h.Member != v.Institution {
				a.Lenders = append(a.Lenders, Option{Value: h.Member, Label: name})
			}
		}
	}
	a.Loan = a.Loan && len(a.Lenders) > 0
	if !a.Loan && !a.Purchase && len(a.Lists) == 0 {
		return nil
	}
	return a
}

type requestView struct {
	ID, Kind, Title, Authors, Supplier, Requester, Status, Record string
	History                                                       []historyView
}

type historyView struct {
	At, Status, Actor, Note string
}

// RequestPage writes a request as its parties' staff see it.
func (r *Renderer) RequestPage(w io.Writer, site Site, lang string, req *requests.Request) error {
	p := r.newPage(site, lang, Form{Lang: ""})
	l := p.L
	name := func(id string) string {
		if n := site.Names[id]; n != "" {
			return n
		}
		return id
	}
	v := &requestView{ID: req.ID, Kind: l.T("request.kind." + string(req.Kind)), Title: req.Metadata.Title,
		Requester: name(req.Requester), Status: l.T("request.status." + string(req.Status))}
	if len(req.Metadata.Authors) > 0 {
		v.Authors = req.Metadata.Authors[0]
	}
	if req.Supplier != "" {
		v.Supplier = name(req.Supplier)
	}
	if u, err := url.Parse(req.Metadata.Link); err == nil && (u.Scheme == "https" || u.Scheme == "http") {
		v.Record = req.Metadata.Link
	}
	for _, e := range req.History {
		v.History = append(v.History, historyView{At: l.Date(e.At.UTC().Format(time.RFC3339)), Status: l.T("request.status." + string(e.To)), Actor: name(e.Actor), Note: e.Note})
	}
	p.Request = v
	p.Title = l.T("request.heading", req.ID) + " – " + p.SiteName
	return r.execute(w, p)
}
