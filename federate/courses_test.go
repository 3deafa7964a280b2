package federate

import "testing"

type fakeCourses map[string][]CourseUse // by ISBN or work key

func (f fakeCourses) CitedBy(ids Identifiers, key string) []CourseUse {
	for _, isbn := range ids.ISBN {
		if u, ok := f[isbn]; ok {
			return u
		}
	}
	return f[key]
}
func (f fakeCourses) Version() uint64 { return 7 }

func TestAWorkOnCoursesRanksHigherWithoutTouchingTheCachedAnswer(t *testing.T) {
	members := map[string][]Record{
		"north": {
			book("n1", "Dune", "Herbert, Frank", 1965, "0441172717"),
			book("n2", "Dune Messiah", "Herbert, Frank", 1969, "0441172695"),
		},
	}
	q := Query{Root: &Term{Field: FieldAuthor, Text: "herbert"}}
	works := rankWorks(Request{Query: q, Explain: true}, pagesOf(members, "north"), map[string]int{"north": 1})
	if works[0].Title != "Dune" {
		t.Fatalf("before: first %q", works[0].Title)
	}
	lookup := fakeCourses{
		"9780441172696": {
			{Institution: "north", CourseCode: "SPEC 101", ListID: "l1"}, {Institution: "south", CourseCode: "ENGL 2", ListID: "l9"},
		},
	}
	before := works[1].Score
	got := annotate(works, lookup)
	if got[0].Title != "Dune Messiah" || got[0].Courses != 2 || len(got[0].Lists) != 2 {
		t.Fatalf("after: first %q with %d courses", got[0].Title, got[0].Courses)
	}
	if got[0].Explain == nil || got[0].Explain.Courses == 0 || got[0].Explain.Weights["courses"] != weightCourses {
		t.Fatalf("explain %+v", got[0].Explain)
	}
	if works[1].Score != before || works[1].Lists != nil || works[1].Explain.Courses != 0 {
		t.Fatal("annotate changed the shared works")
	}
}
