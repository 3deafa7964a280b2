package index

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestValidateNamesFields(t *testing.T) {
	tests := []struct {
		name   string
		change func(l *List)
		field  string // the field named by the (first) error
		msg    string // part of its message
	}{
		{"missing name", func(l *List) { l.Name = " " }, "name", "is required"},
		{"list id with a slash", func(l *List) { l.ID = "a/b" }, "id", "letters"},
		{"list id too long", func(l *List) { l.ID = strings.Repeat("x", 81) }, "id", "1 to 80"},
		{"missing institution", func(l *List) { l.Institution = "" }, "institution", "is required"},
		{"unknown status", func(l *List) { l.Status = "live" }, "status", `"draft" or "published"`},
		{"missing visibility", func(l *List) { l.Visibility = "" }, "visibility", "is required"},
		{"updated not RFC 3339", func(l *List) { l.Updated = "yesterday" }, "updated", "RFC 3339"},
		{"course code missing", func(l *List) { l.Course.Code = "" }, "course.code", "is required"},
		{"course name missing", func(l *List) { l.Course.Name = "" }, "course.name", "is required"},
		{"course status unknown", func(l *List) { l.Course.Status = "closed" }, "course.status", `"active" or "archived"`},
		{"empty instructor", func(l *List) { l.Course.Instructors = []string{"A", ""} }, "course.instructors[1]", "is empty"},
		{"course year out of range", func(l *List) { l.Course.Year = 20250 }, "course.year", "not a year"},
		{"citation importance unknown", func(l *List) { l.Sections[0].Citations[0].Importance = "vital" },
			"sections[0].citations[0].importance", `"required", "recommended" or "optional"`},
		{"citation type missing", func(l *List) { l.Sections[0].Citations[0].Type = "" }, "sections[0].citations[0].type", "is required"},
		{"citation title missing", func(l *List) { l.Sections[0].Citations[0].Title = "" }, "sections[0].citations[0].title", "is required"},
		{"citation id missing", func(l *List) { l.Sections[0].Citations[0].ID = "" }, "sections[0].citations[0].id", "is required"},
		{"bad ISBN check digit", func(l *List) { l.Sections[0].Citations[0].ISBN = []string{"0-439-02348-4"} },
			"sections[0].citations[0].isbn[0]", "not a valid ISBN"},
		{"bad ISSN", func(l *List) { l.Sections[0].Citations[0].ISSN = []string{"0028-0837"} }, "sections[0].citations[0].issn[0]", "not a valid ISSN"},
		{"bad DOI", func(l *List) { l.Sections[0].Citations[0].DOI = "nature12373" }, "sections[0].citations[0].doi", "not a DOI"},
		{"URL without scheme", func(l *List) { l.Sections[0].Citations[0].URL = "example.org/x" }, "sections[0].citations[0].url", "https://"},
		{"record link without record id", func(l *List) { l.Sections[0].Citations[0].Record = &RecordLink{Member: "north"} },
			"sections[0].citations[0].record.record_id", "is required"},
		{"string too long", func(l *List) { l.Description = strings.Repeat("é", MaxStringLength+1) }, "description", "at most 2000"},
		{"invalid UTF-8", func(l *List) { l.Sections[0].Citations[0].Note = "\xff" }, "sections[0].citations[0].note", "UTF-8"},
		{"duplicate citation id across sections", func(l *List) {
			l.Sections = append(l.Sections, Section{ID: "s2", Citations: []Citation{l.Sections[0].Citations[0]}})
		}, "sections[1].citations[0].id", "already the id of sections[0].citations[0]"},
		{"duplicate section id", func(l *List) {
			l.Sections = append(l.Sections, Section{ID: "s1"})
		}, "sections[1].id", "unique"},
		{"too many sections", func(l *List) { l.Sections = make([]Section, MaxSections+1) }, "sections", "at most 200"},
		{"too many citations", func(l *List) {
			cs := make([]Citation, MaxCitations+1)
			for i := range cs {
				cs[i] = Citation{ID: "c" + itoa(i), Type: TypeWeb, Title: "t"}
			}
			l.Sections[0].Citations = cs
		}, "sections", "at most 2000"},
		{"list over 2 MB", func(l *List) {
			cs := make([]Citation, 1100)
			for i := range cs {
				cs[i] = Citation{ID: "c" + itoa(i), Type: TypeWeb, Title: "t", Note: strings.Repeat("n", 1990)}
			}
			l.Sections[0].Citations = cs
		}, "", "2 MB"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := validList("north", "x1")
			tc.change(l)
			errs := l.Validate()
			if len(errs) == 0 {
				t.Fatal("no error")
			}
			if errs[0].Field != tc.field || !strings.Contains(errs[0].Message, tc.msg) {
				t.Errorf("got %s: %s; want %s: …%s…", errs[0].Field, errs[0].Message, tc.field, tc.msg)
			}
		})
	}
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

func TestValidateReportsEveryProblem(t *testing.T) {
	l := validList("north", "x1")
	l.Name = ""
	l.Status = "live"
	l.Sections[0].Citations[0].Importance = "vital"
	l.Sections[0].Citations = append(l.Sections[0].Citations, Citation{ID: "c2", Type: "podcast", Title: "x"})
	var got []string
	for _, e := range l.Validate() {
		got = append(got, e.Field)
	}
	want := "name status sections[0].citations[0].importance sections[0].citations[1].type"
	if strings.Join(got, " ") != want {
		t.Errorf("fields %v, want %s", got, want)
	}
}

func TestValidateCapsTheNumberOfProblems(t *testing.T) {
	l := validList("north", "x1")
	cs := make([]Citation, 500)
	for i := range cs {
		cs[i] = Citation{ID: "c" + itoa(i), Type: "podcast", Title: "t"}
	}
	l.Sections[0].Citations = cs
	errs := l.Validate()
	if len(errs) != maxFieldErrors+1 || !strings.Contains(errs[len(errs)-1].Message, "too many problems") {
		t.Errorf("%d errors, last %v", len(errs), errs[len(errs)-1])
	}
}

func TestValidListPasses(t *testing.T) {
	for _, l := range fixture() {
		if errs := l.Validate(); len(errs) > 0 {
			t.Errorf("%s: %v", l.Key(), errs)
		}
	}
}

func TestCitationIdentifiersKeepWhatTheUserWrote(t *testing.T) {
	c := Citation{ISBN: []string{"0-439-02348-3", "978-0439023481 (pbk.)"}, ISSN: []string{"0028-0836"}, DOI: "https://doi.org/10.1038/NATURE12373",
		Title: "The Hunger Games (The Hunger Games, #1)", Authors: []string{"Collins, Suzanne"}, Year: 2008}
	ids := c.Identifiers()
	if strings.Join(ids.ISBN, ",") != "9780439023481" || ids.ISSN[0] != "0028-0836" || ids.DOI[0] != "10.1038/nature12373" {
		t.Errorf("identifiers %+v", ids)
	}
	if c.ISBN[0] != "0-439-02348-3" || c.DOI != "https://doi.org/10.1038/NATURE12373" {
		t.Errorf("the written values changed: %+v", c)
	}
	if got := c.WorkKey(); got != "hunger games|collins|2008" {
		t.Errorf("work key %q", got)
	}
}

func TestListJSONNames(t *testing.T) {
	l := fixture()[0]
	l.Updated = "2025-09-01T12:00:00Z"
	l.Sections[0].Citations[0].Record = &RecordLink{Member: "north", RecordID: "n1"}
	b, err := json.Marshal(l)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, name := range []string{`"institution":`, `"id":`, `"name":`, `"description":`, `"status":`, `"visibility":`, `"updated":`,
		`"course":{"code":`, `"department":`, `"term":`, `"year":`, `"instructors":`, `"campus":`, `"sections":[{"id":`, `"title":`,
		`"citations":[{"id":`, `"type":`, `"container_title":`, `"authors":`, `"isbn":`, `"issn":`, `"doi":`,
		`"record":{"member":"north","record_id":"n1"}`, `"importance":`, `"tags":`} {
		if !strings.Contains(s, name) {
			t.Errorf("JSON lacks %s", name)
		}
	}
}
