package demo

import (
	"encoding/json"
	"testing"

	"github.com/commonshelf/commonshelf/index"
)

func TestListsAreDeterministicValidAndPlentiful(t *testing.T) {
	a, err := Lists()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Lists()
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if string(ja) != string(jb) {
		t.Fatal("Lists is not deterministic")
	}
	if len(a) < 200 {
		t.Fatalf("%d lists, want several hundred", len(a))
	}
	perInst := map[string]int{}
	published, linked, citations := 0, 0, 0
	ids := map[string]bool{}
	for _, l := range a {
		if errs := l.Validate(); len(errs) > 0 {
			t.Fatalf("list %s/%s invalid: %v", l.Institution, l.ID, errs)
		}
		if ids[l.Institution+"/"+l.ID] {
			t.Fatalf("duplicate list id %s/%s", l.Institution, l.ID)
		}
		ids[l.Institution+"/"+l.ID] = true
		perInst[l.Institution]++
		if l.Status == index.StatusPublished && l.Visibility == index.VisibilityPublic {
			published++
		}
		for _, s := range l.Sections {
			for _, c := range s.Citations {
				citations++
				if c.Record != nil {
					linked++
				}
			}
		}
	}
	for _, m := range Members {
		if perInst[m.ID] < 30 {
			t.Errorf("%s has %d lists", m.ID, perInst[m.ID])
		}
	}
	if published < len(a)*3/4 || published == len(a) {
		t.Errorf("%d of %d lists public and published: want most, not all", published, len(a))
	}
	if linked == 0 || linked == citations {
		t.Errorf("%d of %d citations link a member record: want some, not all", linked, citations)
	}
	t.Logf("%d lists, %d citations, %d linked to the institution's own record", len(a), citations, linked)
}
