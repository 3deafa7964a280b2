package index

import (
	"sort"
	"sync"
	"sync/atomic"

	"github.com/commonshelf/commonshelf/federate"
)

// ListRef names a published public list that cites a work, for annotating
// catalogue results ("on the reading list of CHEM101 at North"). It is the
// engine's CourseUse, so that a Store is the engine's CourseLookup.
type ListRef = federate.CourseUse

// citeIndex maps the works cited by published public lists to those lists:
// key "isbn:…", "issn:…", "doi:…" (normalised) or "work:"+WorkKey → the
// lists citing it. It is kept in memory, rebuilt at Open from the database
// and changed with every write, so that CitedBy is a few map lookups.
type citeIndex struct {
	// version grows with every change, so that cached encodings of
	// annotated answers can tell they are out of date.
	version atomic.Uint64
	mu      sync.RWMutex
	byKey   map[string][]citing
	byList  map[string][]string // list key → the keys it is under
}

type citing struct {
	list       string // list key
	ref        *ListRef
	importance int
}

func newCiteIndex() *citeIndex {
	return &citeIndex{byKey: map[string][]citing{}, byList: map[string][]string{}}
}

// workKeys returns the keys a citation is found under. A journal article's
// ISSN is its journal's, not the article's own, so it is not one of them.
func workKeys(c *Citation) []string {
	var keys []string
	ids := c.Identifiers()
	for _, v := range ids.ISBN {
		keys = append(keys, "isbn:"+v)
	}
	if c.Type != TypeArticle {
		for _, v := range ids.ISSN {
			keys = append(keys, "issn:"+v)
		}
	}
	for _, v := range ids.DOI {
		keys = append(keys, "doi:"+v)
	}
	if wk := c.WorkKey(); wk != "" {
		keys = append(keys, "work:"+wk)
	}
	return keys
}

// set replaces what the list key contributes with l's citations, or with
// nothing when l is not published and public.
func (x *citeIndex) set(key string, l *List) {
	defer x.version.Add(1)
	var entries map[string]int
	var ref *ListRef
	if l.Status == StatusPublished && l.Visibility == VisibilityPublic {
		ref = &ListRef{Institution: l.Institution, CourseCode: l.Course.Code, ListID: l.ID}
		entries = map[string]int{}
		for si := range l.Sections {
			for ci := range l.Sections[si].Citations {
				c := &l.Sections[si].Citations[ci]
				imp := importanceRank(c.Importance)
				for _, k := range workKeys(c) {
					if old, ok := entries[k]; !ok || imp > old {
						entries[k] = imp
					}
				}
			}
		}
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	x.removeLocked(key)
	if len(entries) == 0 {
		return
	}
	keys := make([]string, 0, len(entries))
	for k, imp := range entries {
		x.byKey[k] = append(x.byKey[k], citing{list: key, ref: ref, importance: imp})
		keys = append(keys, k)
	}
	x.byList[key] = keys
}

func (x *citeIndex) remove(key string) {
	defer x.version.Add(1)
	x.mu.Lock()
	defer x.mu.Unlock()
	x.removeLocked(key)
}

func (x *citeIndex) removeLocked(key string) {
	for _, k := range x.byList[key] {
		refs := x.byKey[k]
		out := refs[:0]
		for _, r := range refs {
			if r.list != key {
				out = append(out, r)
			}
		}
		if len(out) == 0 {
			delete(x.byKey, k)
		} else {
			clear(refs[len(out):]) // drop the removed entries' pointers
			x.byKey[k] = out
		}
	}
	delete(x.byList, key)
}

// CitedBy returns the published public lists that cite the work with these
// identifiers or this work key (federate.WorkKey: normalised title, first
// author's surname, year): a list citing it under any ISBN, ISSN (not an
// article's), DOI or the work key is one of them. Each list appears once,
// with the highest importance of its citations of the work; the answer is
// ordered by institution, course code and list id, and nil when no list
// cites the work. It works from memory only: it is meant to run for every
// result of every catalogue search.
func (s *Store) CitedBy(ids federate.Identifiers, workKey string) []ListRef {
	out := s.cites.citedBy(ids, workKey)
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Institution != b.Institution {
			return a.Institution < b.Institution
		}
		if a.CourseCode != b.CourseCode {
			return a.CourseCode < b.CourseCode
		}
		return a.ListID < b.ListID
	})
	return out
}

// citedBy is CitedBy's look-up, under the index's read lock; the answer
// is unordered.
func (x *citeIndex) citedBy(ids federate.Identifiers, workKey string) []ListRef {
	var found map[string]*citing
	x.mu.RLock()
	defer x.mu.RUnlock()
	look := func(key string) {
		for i := range x.byKey[key] {
			c := &x.byKey[key][i]
			if found == nil {
				found = map[string]*citing{}
			}
			if prev, ok := found[c.list]; !ok || c.importance > prev.importance {
				found[c.list] = c
			}
		}
	}
	for _, v := range ids.ISBN {
		if n, ok := federate.NormalizeISBN(v); ok {
			look("isbn:" + n)
		}
	}
	for _, v := range ids.ISSN {
		if n, ok := federate.NormalizeISSN(v); ok {
			look("issn:" + n)
		}
	}
	for _, v := range ids.DOI {
		if n, ok := federate.NormalizeDOI(v); ok {
			look("doi:" + n)
		}
	}
	if workKey != "" {
		look("work:" + workKey)
	}
	if len(found) == 0 {
		return nil
	}
	out := make([]ListRef, 0, len(found))
	for _, c := range found {
		r := *c.ref
		r.Importance = importanceName(c.importance)
		out = append(out, r)
	}
	return out
}

func importanceName(rank int) string {
	switch rank {
	case 3:
		return ImportanceRequired
	case 2:
		return ImportanceRecommended
	case 1:
		return ImportanceOptional
	}
	return ""
}

// Version changes whenever CitedBy's answers may have changed.
func (s *Store) Version() uint64 { return s.cites.version.Load() }

var _ federate.CourseLookup = (*Store)(nil)
