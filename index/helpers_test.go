package index

import (
	"context"
	"fmt"
	"log/slog"
	"testing"

	"github.com/commonshelf/commonshelf/federate"
)

// isbn13 completes a 12-digit ISBN prefix with its check digit.
func isbn13(first12 string) string {
	return first12 + string(federate.ISBN13CheckDigit(first12))
}

func openTest(t testing.TB, dir string, opts Options) *Store {
	t.Helper()
	s, err := OpenWithOptions(slog.New(slog.DiscardHandler), dir, opts)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func mustPut(t testing.TB, s *Store, l *List) PutResult {
	t.Helper()
	res, err := s.Put(context.Background(), l)
	if err != nil {
		t.Fatalf("put %s: %v", l.Key(), err)
	}
	return res
}

// validList is a small list that passes validation.
func validList(inst, id string) *List {
	return &List{
		Institution: inst, ID: id, Name: "Reading for " + id,
		Status: StatusPublished, Visibility: VisibilityPublic,
		Course: Course{Code: "GEN 100", Name: "General Studies"},
		Sections: []Section{{ID: "s1", Title: "Week 1", Citations: []Citation{
			{ID: "c1", Type: TypeBook, Title: "A Book", Authors: []string{"Doe, Jane"}, Year: 2001},
		}}},
	}
}

// fixture is a small consortium of lists in three languages.
func fixture() []*List {
	return []*List{
		{
			Institution: "north", ID: "chem101-2025", Name: "Introduction to Chemistry readings",
			Description: "Core texts for first-year chemistry",
			Status:      StatusPublished, Visibility: VisibilityPublic,
			Course: Course{Code: "CHEM 101", Name: "Introduction to Chemistry", Department: "Chemistry",
				Term: "Autumn", Year: 2025, Instructors: []string{"Dr. Ada Müller"}, Campus: "Main", Status: CourseActive},
			Sections: []Section{
				{ID: "w1", Title: "Week 1", Citations: []Citation{
					{ID: "c1", Type: TypeBook, Title: "Chemical Principles", Authors: []string{"Atkins, Peter", "Jones, Loretta"},
						Year: 2016, ISBN: []string{"0-439-02348-3"}, Importance: ImportanceRecommended},
					{ID: "c2", Type: TypeArticle, Title: "Kinetics of <enzyme> reactions & more", ContainerTitle: "Nature",
						Authors: []string{"Smith, Jane"}, Year: 2013, ISSN: []string{"0028-0836"}, DOI: "https://doi.org/10.1038/NATURE12373",
						Importance: ImportanceRequired, Tags: []string{"enzymes"}},
				}},
				{ID: "w2", Title: "Week 2", Citations: []Citation{
					{ID: "c3", Type: TypeChapter, Title: "Thermodynamics", ContainerTitle: "Physical Chemistry",
						Authors: []string{"Müller, Hans"}, Year: 2010, Importance: ImportanceOptional},
					{ID: "c4", Type: TypeVideo, Title: "Dune", Authors: []string{"Herbert, Frank"}, Year: 1965},
				}},
			},
		},
		{
			Institution: "north", ID: "hist200", Name: "Modern Europe (draft)",
			Status: StatusDraft, Visibility: VisibilityInstitution,
			Course: Course{Code: "HIST-200", Name: "Modern European History", Department: "History", Term: "Spring", Year: 2026,
				Instructors: []string{"Prof. Wei Li"}},
			Sections: []Section{{Citations: []Citation{
				{ID: "h1", Type: TypeBook, Title: "The Age of Revolution", Authors: []string{"Hobsbawm, Eric"}, Year: 1962, Importance: ImportanceRequired},
			}}},
		},
		{
			Institution: "north", ID: "chem201", Name: "Organic chemistry",
			Status: StatusPublished, Visibility: VisibilityInstitution,
			Course: Course{Code: "CHEM 201", Name: "Organic Chemistry", Department: "Chemistry", Term: "Spring", Year: 2026},
			Sections: []Section{{Citations: []Citation{
				{ID: "o1", Type: TypeBook, Title: "Organic Chemistry", Authors: []string{"Clayden, Jonathan"}, Year: 2012},
			}}},
		},
		{
			Institution: "sud", ID: "bio150", Name: "Lectures de biologie",
			Status: StatusPublished, Visibility: VisibilityPublic,
			Course: Course{Code: "BIO150", Name: "Biologie cellulaire", Department: "Biologie", Term: "Automne", Year: 2025,
				Instructors: []string{"Élodie Lefèvre"}},
			Sections: []Section{{Citations: []Citation{
				{ID: "b1", Type: TypeBook, Title: "La cellule et ses mécanismes", Authors: []string{"Alberts, Bruce"}, Year: 2015,
					ISBN: []string{"978-0-439-02348-1"}, Importance: ImportanceRequired},
				{ID: "b2", Type: TypeBook, Title: "Dune", Authors: []string{"Frank Herbert"}, Year: 1965, Importance: ImportanceRecommended},
			}}},
		},
		{
			Institution: "ost", ID: "lit300", Name: "Literatur",
			Status: StatusPublished, Visibility: VisibilityPublic,
			Course: Course{Code: "LIT 300", Name: "Deutsche Literatur", Department: "Germanistik", Term: "Winter", Year: 2025},
			Sections: []Section{{Citations: []Citation{
				{ID: "d1", Type: TypeBook, Title: "Alte Bücher und Zeitungen", Authors: []string{"Schröder, Karl"}, Year: 1990},
			}}},
		},
	}
}

var fixtureOptions = Options{Languages: map[string]string{"sud": "fr", "ost": "de"}}

// loaded opens a fresh store holding the fixture.
func loaded(t testing.TB) *Store {
	t.Helper()
	s := openTest(t, t.TempDir(), fixtureOptions)
	for _, l := range fixture() {
		mustPut(t, s, l)
	}
	return s
}

func hitKeys(r *ListResults) []string {
	out := make([]string, 0, len(r.Hits))
	for _, h := range r.Hits {
		out = append(out, h.List.Institution+"/"+h.List.ID)
	}
	return out
}

func fmtFacet(r *ListResults, name string) string {
	for _, f := range r.Facets {
		if f.Name == name {
			s := ""
			for _, v := range f.Values {
				s += fmt.Sprintf("%s=%d ", v.Value, v.Count)
			}
			return s
		}
	}
	return "(no facet)"
}
