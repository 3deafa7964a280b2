package index

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/commonshelf/commonshelf/federate"
)

// List is one course resource list of a member institution: the readings an
// instructor sets for a course, in sections. The JSON names are the public
// contract of the lists API.
type List struct {
	// Institution is the id of the member institution that owns the list.
	// The API sets it from the URL; a value in the request body is ignored.
	Institution string `json:"institution"`
	// ID names the list within its institution: 1–80 characters of
	// A–Z, a–z, 0–9, '.', '_' and '-'.
	ID string `json:"id"`
	// Name is the list's title as students see it (required).
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// Status is StatusDraft or StatusPublished.
	Status string `json:"status"`
	// Visibility is VisibilityPublic (anyone, consortium-wide),
	// VisibilityInstitution (the owning institution only) or
	// VisibilityCourse (the course's members only; the index treats it like
	// VisibilityInstitution: only the owning institution can see it).
	Visibility string `json:"visibility"`
	// Updated is when the list last changed, RFC 3339. Put sets it to the
	// current time when it is empty.
	Updated  string    `json:"updated,omitempty"`
	Course   Course    `json:"course"`
	Sections []Section `json:"sections"`
}

// Course is the course a list belongs to.
type Course struct {
	// Code is the institution's course code ("CHEM 101"); required.
	Code string `json:"code"`
	// Name is the course title; required.
	Name       string `json:"name"`
	Department string `json:"department,omitempty"`
	// Term is the teaching period as the institution names it ("Autumn").
	Term string `json:"term,omitempty"`
	// Year is the academic year the course runs in; 0 means not given.
	Year        int      `json:"year,omitempty"`
	Instructors []string `json:"instructors,omitempty"`
	Campus      string   `json:"campus,omitempty"`
	// Status is CourseActive, CourseArchived or empty (not given).
	Status string `json:"status,omitempty"`
}

// Section groups citations under a heading ("Week 1: Kinetics").
type Section struct {
	// ID is optional; when given it is unique within the list.
	ID        string     `json:"id,omitempty"`
	Title     string     `json:"title,omitempty"`
	Citations []Citation `json:"citations"`
}

// Citation is one reading. Identifiers are kept as the user wrote them;
// Identifiers() and WorkKey() derive the normalised forms used for matching.
type Citation struct {
	// ID is unique within the list (same characters as a list id).
	ID string `json:"id"`
	// Type is one of the Type* constants.
	Type  string `json:"type"`
	Title string `json:"title"`
	// ContainerTitle is the book of a chapter, the journal of an article,
	// the site of a web page.
	ContainerTitle string   `json:"container_title,omitempty"`
	Authors        []string `json:"authors,omitempty"`
	// Year of publication; 0 means not given.
	Year      int      `json:"year,omitempty"`
	Edition   string   `json:"edition,omitempty"`
	Publisher string   `json:"publisher,omitempty"`
	ISBN      []string `json:"isbn,omitempty"`
	ISSN      []string `json:"issn,omitempty"`
	DOI       string   `json:"doi,omitempty"`
	// URL is an absolute http(s) address.
	URL string `json:"url,omitempty"`
	// Record links the citation to a member's catalogue record.
	Record *RecordLink `json:"record,omitempty"`
	// Importance is one of the Importance* constants or empty (not given).
	Importance string `json:"importance,omitempty"`
	// Note is a public note for students.
	Note string   `json:"note,omitempty"`
	Tags []string `json:"tags,omitempty"`
	// Files are the files attached to the citation, filled in by Get. They
	// are attached and removed through Attach and Detach only: files in a
	// list that is Put are ignored.
	Files []File `json:"files,omitempty"`
}

// RecordLink points at a member's catalogue record.
type RecordLink struct {
	Member   string `json:"member"`
	RecordID string `json:"record_id"`
}

// Allowed values.
const (
	StatusDraft     = "draft"
	StatusPublished = "published"

	VisibilityPublic      = "public"
	VisibilityInstitution = "institution"
	VisibilityCourse      = "course"

	CourseActive   = "active"
	CourseArchived = "archived"

	TypeBook    = "book"
	TypeChapter = "chapter"
	TypeArticle = "article"
	TypeWeb     = "web"
	TypeVideo   = "video"

	ImportanceRequired    = "required"
	ImportanceRecommended = "recommended"
	ImportanceOptional    = "optional"
)

// Limits enforced by Validate.
const (
	MaxSections     = 200
	MaxCitations    = 2000 // per list, all sections together
	MaxStringLength = 2000 // characters (runes) of any one string
	MaxListBytes    = 2 << 20
	MaxItems        = 100 // authors, instructors, ISBNs, ISSNs or tags of one citation or course
	maxFieldErrors  = 100
	maxIDLength     = 80
)

// FieldError is one problem with a list: where (a JSON path such as
// "sections[0].citations[2].importance") and what, for a person.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

func (e FieldError) Error() string { return e.Field + ": " + e.Message }

// Identifiers returns the citation's ISBNs, ISSNs and DOI in their
// normalised forms (see federate.Identifiers); values that do not normalise
// are left out.
func (c *Citation) Identifiers() federate.Identifiers {
	var ids federate.Identifiers
	for _, v := range c.ISBN {
		if n, ok := federate.NormalizeISBN(v); ok && !contains(ids.ISBN, n) {
			ids.ISBN = append(ids.ISBN, n)
		}
	}
	for _, v := range c.ISSN {
		if n, ok := federate.NormalizeISSN(v); ok && !contains(ids.ISSN, n) {
			ids.ISSN = append(ids.ISSN, n)
		}
	}
	if n, ok := federate.NormalizeDOI(c.DOI); ok {
		ids.DOI = []string{n}
	}
	return ids
}

// WorkKey is the citation's federate.WorkKey: normalised title, first
// author's surname and year, or "" when one of them is missing.
func (c *Citation) WorkKey() string {
	return federate.WorkKey(&federate.Record{Title: c.Title, Authors: c.Authors, Year: c.Year})
}

// Key is the list's identity in the store and in the index:
// "institution/id" ('/' cannot occur in either part).
func (l *List) Key() string { return listKey(l.Institution, l.ID) }

func listKey(institution, id string) string { return institution + "/" + id }

// CitationCount is the number of citations in all sections.
func (l *List) CitationCount() int {
	n := 0
	for i := range l.Sections {
		n += len(l.Sections[i].Citations)
	}
	return n
}

// Validate reports every problem with the list, each naming its field, in
// document order; nil means the list can be stored. Past 100 problems it
// stops and says how many more there are. It does not change the list.
func (l *List) Validate() []FieldError {
	v := &validator{}
	v.id("institution", l.Institution, "the institution")
	v.id("id", l.ID, "the list")
	v.required("name", l.Name)
	v.text("description", l.Description)
	v.oneOf("status", l.Status, true, StatusDraft, StatusPublished)
	v.oneOf("visibility", l.Visibility, true, VisibilityPublic, VisibilityInstitution, VisibilityCourse)
	if l.Updated != "" {
		if _, err := time.Parse(time.RFC3339, l.Updated); err != nil {
			v.add("updated", "must be a date and time in RFC 3339 form, like 2025-09-01T12:00:00Z (or left out: the server sets it)")
		}
	}

	c := &l.Course
	v.required("course.code", c.Code)
	v.required("course.name", c.Name)
	v.text("course.department", c.Department)
	v.text("course.term", c.Term)
	v.year("course.year", c.Year)
	v.list("course.instructors", c.Instructors)
	v.text("course.campus", c.Campus)
	v.oneOf("course.status", c.Status, false, CourseActive, CourseArchived)

	if len(l.Sections) > MaxSections {
		v.add("sections", fmt.Sprintf("has %d sections; a list may have at most %d", len(l.Sections), MaxSections))
	}
	if n := l.CitationCount(); n > MaxCitations {
		v.add("sections", fmt.Sprintf("hold %d citations in all; a list may have at most %d", n, MaxCitations))
	}
	sectionIDs := map[string]string{}
	citationIDs := map[string]string{}
	for si := range l.Sections {
		if v.full() {
			break
		}
		s := &l.Sections[si]
		sp := fmt.Sprintf("sections[%d]", si)
		if s.ID != "" {
			v.id(sp+".id", s.ID, "the section")
			if first, dup := sectionIDs[s.ID]; dup {
				v.add(sp+".id", fmt.Sprintf("%q is already the id of %s; section ids must be unique within the list", s.ID, first))
			} else {
				sectionIDs[s.ID] = sp
			}
		}
		v.text(sp+".title", s.Title)
		for ci := range s.Citations {
			if v.full() {
				break
			}
			cp := fmt.Sprintf("%s.citations[%d]", sp, ci)
			v.citation(cp, &s.Citations[ci])
			if id := s.Citations[ci].ID; id != "" {
				if first, dup := citationIDs[id]; dup {
					v.add(cp+".id", fmt.Sprintf("%q is already the id of %s; citation ids must be unique within the list", id, first))
				} else {
					citationIDs[id] = cp
				}
			}
		}
	}
	if !v.full() {
		if b, err := json.Marshal(l); err != nil {
			v.add("", "cannot be written as JSON: "+err.Error())
		} else if len(b) > MaxListBytes {
			v.add("", fmt.Sprintf("is %d bytes as JSON; a list may be at most %d bytes (2 MB): split it into several lists", len(b), MaxListBytes))
		}
	}
	return v.result()
}

// validator collects FieldErrors up to maxFieldErrors.
type validator struct {
	errs    []FieldError
	dropped int
}

func (v *validator) add(field, msg string) {
	if len(v.errs) >= maxFieldErrors {
		v.dropped++
		return
	}
	v.errs = append(v.errs, FieldError{Field: field, Message: msg})
}

func (v *validator) full() bool { return len(v.errs) >= maxFieldErrors }

func (v *validator) result() []FieldError {
	if v.dropped > 0 || v.full() {
		v.errs = append(v.errs, FieldError{Field: "", Message: "too many problems to list them all; fix these and validate again"})
	}
	return v.errs
}

// text checks a free-text value: valid UTF-8, at most MaxStringLength
// characters.
func (v *validator) text(field, s string) bool {
	if !utf8.ValidString(s) {
		v.add(field, "is not valid UTF-8 text")
		return false
	}
	if n := utf8.RuneCountInString(s); n > MaxStringLength {
		v.add(field, fmt.Sprintf("is %d characters long; at most %d are allowed", n, MaxStringLength))
		return false
	}
	return true
}

func (v *validator) required(field, s string) {
	if strings.TrimSpace(s) == "" {
		v.add(field, "is required")
		return
	}
	v.text(field, s)
}

// id checks an identifier: required, 1–80 of [A-Za-z0-9._-].
func (v *validator) id(field, s, what string) {
	if s == "" {
		v.add(field, "is required")
		return
	}
	if !validID(s) {
		v.add(field, fmt.Sprintf("%q cannot be the id of %s: use 1 to %d letters A–Z or a–z, digits, '.', '_' or '-'", clip(s), what, maxIDLength))
	}
}

func validID(s string) bool {
	if len(s) == 0 || len(s) > maxIDLength {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func (v *validator) oneOf(field, s string, required bool, allowed ...string) {
	if s == "" {
		if required {
			v.add(field, "is required: "+orList(allowed))
		}
		return
	}
	for _, a := range allowed {
		if s == a {
			return
		}
	}
	v.add(field, fmt.Sprintf("%q is not allowed: use %s", clip(s), orList(allowed)))
}

func (v *validator) year(field string, y int) {
	if y != 0 && (y < 1 || y > 9999) {
		v.add(field, fmt.Sprintf("%d is not a year: use a year from 1 to 9999, or leave it out", y))
	}
}

// list checks an array of short texts: at most MaxItems, none empty.
func (v *validator) list(field string, items []string) {
	if len(items) > MaxItems {
		v.add(field, fmt.Sprintf("has %d entries; at most %d are allowed", len(items), MaxItems))
		return
	}
	for i, s := range items {
		f := fmt.Sprintf("%s[%d]", field, i)
		if strings.TrimSpace(s) == "" {
			v.add(f, "is empty; remove it or fill it in")
			continue
		}
		v.text(f, s)
	}
}

func (v *validator) citation(p string, c *Citation) {
	v.id(p+".id", c.ID, "a citation")
	v.oneOf(p+".type", c.Type, true, TypeBook, TypeChapter, TypeArticle, TypeWeb, TypeVideo)
	v.required(p+".title", c.Title)
	v.text(p+".container_title", c.ContainerTitle)
	v.list(p+".authors", c.Authors)
	v.year(p+".year", c.Year)
	v.text(p+".edition", c.Edition)
	v.text(p+".publisher", c.Publisher)
	v.list(p+".isbn", c.ISBN)
	for i, s := range c.ISBN {
		if _, ok := federate.NormalizeISBN(s); !ok && strings.TrimSpace(s) != "" {
			v.add(fmt.Sprintf("%s.isbn[%d]", p, i), fmt.Sprintf("%q is not a valid ISBN-10 or ISBN-13 (check the digits)", clip(s)))
		}
	}
	v.list(p+".issn", c.ISSN)
	for i, s := range c.ISSN {
		if _, ok := federate.NormalizeISSN(s); !ok && strings.TrimSpace(s) != "" {
			v.add(fmt.Sprintf("%s.issn[%d]", p, i), fmt.Sprintf("%q is not a valid ISSN, like 0028-0836 (check the digits)", clip(s)))
		}
	}
	if c.DOI != "" && v.text(p+".doi", c.DOI) {
		if _, ok := federate.NormalizeDOI(c.DOI); !ok {
			v.add(p+".doi", fmt.Sprintf("%q is not a DOI: it starts with 10. and has a / (https://doi.org/ in front is fine)", clip(c.DOI)))
		}
	}
	if c.URL != "" && v.text(p+".url", c.URL) {
		if u, err := url.Parse(c.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			v.add(p+".url", "must be a full web address starting with https:// or http://")
		}
	}
	if c.Record != nil {
		v.id(p+".record.member", c.Record.Member, "a member")
		v.required(p+".record.record_id", c.Record.RecordID)
	}
	v.oneOf(p+".importance", c.Importance, false, ImportanceRequired, ImportanceRecommended, ImportanceOptional)
	v.text(p+".note", c.Note)
	v.list(p+".tags", c.Tags)
}

// clip shortens a user's value for quoting it back in a message.
func clip(s string) string {
	if utf8.RuneCountInString(s) <= 40 {
		return s
	}
	r := []rune(s)
	return string(r[:40]) + "…"
}

func orList(vals []string) string {
	q := make([]string, len(vals))
	for i, v := range vals {
		q[i] = `"` + v + `"`
	}
	if len(q) == 1 {
		return q[0]
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// importanceRank orders importances: required highest, unset lowest.
func importanceRank(s string) int {
	switch s {
	case ImportanceRequired:
		return 3
	case ImportanceRecommended:
		return 2
	case ImportanceOptional:
		return 1
	}
	return 0
}
