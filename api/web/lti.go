package web

import (
	"io"
	"net/url"
	"strconv"
	"strings"

	"github.com/commonshelf/commonshelf/index"
)

// Viewer is a person signed in through their learning platform (an LTI
// launch). Nil means an anonymous visitor.
type Viewer struct {
	Name string
	// Role is "instructor" or "student".
	Role string
	// Institution is the id of the institution the person belongs to.
	Institution string
	// Course is the launch's course ("CHEM 101 General Chemistry").
	Course string
	// CSRF is the session's form token, sent back with every form.
	CSRF string
	// Session is a single-use pass standing for the session (never the
	// session id), put in the form of a page shown inside the platform's
	// frame, where the browser may not send the cookie. "": none.
	Session string
	// Staff: the person may manage the institution's lists and files.
	Staff bool
	// Files: the server takes file attachments.
	Files bool
	// StudentUploads: the institution lets students (and instructors on
	// lists of other courses) attach files.
	StudentUploads bool
	// Manages reports whether the person manages a list (its course's
	// instructor, or library staff): they attach files to it as staff and
	// set their copyright status. Nil: none.
	Manages func(*index.List) bool
	// RequestKinds are the request kinds the institution may make.
	RequestKinds []string
	// Lists are the lists the person may add catalogue works to (value:
	// list id).
	Lists []Option
}

type viewerView struct {
	Line string
	V    *Viewer
}

func newViewerView(p *page, site Site, v *Viewer) *viewerView {
	if v == nil {
		return nil
	}
	name := v.Name
	if name == "" {
		name = p.L.T("viewer.anonymous")
	}
	inst := site.Names[v.Institution]
	if inst == "" {
		inst = v.Institution
	}
	line := p.L.T("viewer.line", name, p.L.T("role."+v.Role), inst)
	if v.Course != "" {
		line = p.L.T("viewer.line.course", name, p.L.T("role."+v.Role), inst, v.Course)
	}
	return &viewerView{Line: line, V: v}
}

type fileView struct {
	Name, URL, Size, Type, Copyright string
	Pending                          bool
}

type uploadView struct {
	Action, CSRF, Label string
	Staff               bool
	Statuses            []Option
}

// fileURL is the address of an attached file's content.
func fileURL(inst, list, citation, file string) string {
	return "/api/v1/lists/" + url.PathEscape(inst) + "/" + url.PathEscape(list) + "/citations/" +
		url.PathEscape(citation) + "/files/" + url.PathEscape(file)
}

// HumanSize writes a byte count for people in the page's language.
func (l *Localizer) HumanSize(n int64) string {
	switch {
	case n >= 1<<20:
		return l.printer.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return l.printer.Sprintf("%d KB", n>>10)
	}
	return l.printer.Sprintf("%d B", n)
}

// citationFiles builds the files and the upload form of one citation.
func citationFiles(p *page, ls *index.List, c *index.Citation, v *Viewer) ([]fileView, *uploadView) {
	var out []fileView
	for _, f := range c.Files {
		fv := fileView{Name: f.Name, URL: fileURL(ls.Institution, ls.ID, c.ID, f.ID), Size: p.L.HumanSize(f.Size), Type: f.Type,
			Pending: f.Copyright != index.CopyrightCleared}
		if fv.Pending {
			fv.Copyright = p.L.T("copyright." + f.Copyright)
		}
		out = append(out, fv)
	}
	manages := v != nil && v.Manages != nil && v.Manages(ls)
	if v == nil || !v.Files || v.Institution != ls.Institution || (!manages && !v.StudentUploads) {
		return out, nil
	}
	// The upload comes back to the page, in the page's language.
	action := strings.TrimSuffix(fileURL(ls.Institution, ls.ID, c.ID, "x"), "/x") + "?return=page"
	if p.Form.Lang != "" {
		action += "&lang=" + url.QueryEscape(p.Form.Lang)
	}
	up := &uploadView{Action: action, CSRF: v.CSRF, Label: p.L.T("upload.label", c.Title), Staff: manages}
	if manages {
		for _, st := range index.CopyrightStatuses {
			up.Statuses = append(up.Statuses, Option{Value: st, Label: p.L.T("copyright." + st), Selected: st == index.CopyrightPending})
		}
	}
	return out, up
}

type launchView struct {
	Heading   string
	Lists     []*listView
	None      string
	SearchURL string
	// NewWindow opens the same view in a first-party window (for browsers
	// that keep cookies from the platform's frame).
	NewWindow string
}

// Launch writes the page a learning-platform launch lands on: the course's
// published lists (an instructor also sees drafts), or a line saying there
// is none with the search. newWindow is the new-window link of a page shown
// in the platform's frame; "" for the page in a window of its own, whose
// links stay in that window.
func (r *Renderer) Launch(w io.Writer, site Site, lang string, course string, lists []*index.List, newWindow string) error {
	p := r.newPage(site, lang, Form{Tab: TabLists})
	p.Framed = newWindow != ""
	lv := &launchView{Heading: p.L.T("launch.heading", course), NewWindow: newWindow, SearchURL: Form{Tab: TabLists}.URL(p.Base)}
	if course == "" {
		lv.Heading = p.L.T("launch.heading.nocourse")
	}
	for _, l := range lists {
		v := newListView(p, site, l)
		// The citations' anchors are the list page's; lists shown together
		// may repeat a citation id.
		for i := range v.Sections {
			for j := range v.Sections[i].Citations {
				v.Sections[i].Citations[j].ID = ""
			}
		}
		lv.Lists = append(lv.Lists, v)
	}
	if len(lists) == 0 {
		lv.None = p.L.T("launch.none", course)
	}
	p.Launch = lv
	p.Title = lv.Heading + " – " + p.SiteName
	return r.execute(w, p)
}

type deepLinkView struct {
	Action, CSRF, Session string
	Choices               []deepLinkChoice
	None                  string
}

type deepLinkChoice struct {
	Value, Label, Detail string
	ForCourse            bool
}

// DeepLinkChoice is a list an instructor may link into a course.
type DeepLinkChoice struct {
	List      *index.List
	ForCourse bool // the list belongs to the launch's course
}

// DeepLink writes the page where an instructor picks the list to place in
// the course.
func (r *Renderer) DeepLink(w io.Writer, site Site, lang string, choices []DeepLinkChoice) error {
	p := r.newPage(site, lang, Form{Tab: TabLists})
	p.Framed = true
	v := site.Viewer
	dv := &deepLinkView{Action: "/lti/deeplink", CSRF: v.CSRF, Session: v.Session}
	for _, c := range choices {
		l := c.List
		detail := strings.TrimSpace(l.Course.Code + " " + l.Course.Name)
		if l.Course.Term != "" || l.Course.Year != 0 {
			detail += " · " + strings.TrimSpace(l.Course.Term+" "+yearString(l.Course.Year))
		}
		if l.Status != index.StatusPublished {
			detail += " · " + p.L.T("deeplink.draft")
		}
		dv.Choices = append(dv.Choices, deepLinkChoice{Value: l.ID, Label: l.Name, Detail: detail, ForCourse: c.ForCourse})
	}
	if len(choices) == 0 {
		dv.None = p.L.T("deeplink.none")
	}
	p.DeepLink = dv
	p.Title = p.L.T("deeplink.heading") + " – " + p.SiteName
	return r.execute(w, p)
}

func yearString(y int) string {
	if y == 0 {
		return ""
	}
	return strconv.Itoa(y)
}

// LTIProblem writes the page of a rejected login, launch or form: the
// search page with message (lti.error) under the heading of a failed course
// link.
func (r *Renderer) LTIProblem(w io.Writer, site Site, lang, message string) error {
	p := r.newPage(site, lang, Form{})
	p.Problem = message
	p.ProblemHeading = p.L.T("lti.error.heading")
	p.Title = p.ProblemHeading + " – " + p.SiteName
	return r.execute(w, p)
}

// AutoPost writes a page that form-POSTs fields to action (the platform's
// deep-linking return URL): submitted by the gateway script, or by the
// person where scripts do not run.
func (r *Renderer) AutoPost(w io.Writer, lang, action string, fields []Option) error {
	p := r.newPage(Site{}, lang, Form{})
	p.Title = p.L.T("deeplink.returning")
	return r.tmpl.ExecuteTemplate(w, "autopost", struct {
		*page
		Action string
		Fields []Option
	}{p, action, fields})
}
