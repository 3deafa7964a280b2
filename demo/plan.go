package demo

import (
	"fmt"
	"hash/fnv"
	"math"
	"sort"
	"strings"
	"sync"
)

// Member describes one institution of the demo consortium and the way its
// catalogue is written.
type Member struct {
	ID   string
	Name string
	Code string // MARC organisation code used in 003 and 040
	// Prefix starts every 001 of the member's generated records.
	Prefix string
}

// Members are the five institutions, in the order they appear in the
// configuration.
var Members = []Member{
	{ID: "north", Name: "North University", Code: "NorthU", Prefix: "n"},
	{ID: "south", Name: "South College", Code: "SouthC", Prefix: "s"},
	{ID: "east", Name: "East State University", Code: "EastSU", Prefix: "e"},
	{ID: "west", Name: "West Institute of Technology", Code: "WestIT", Prefix: "w"},
	{ID: "central", Name: "Central Public Library", Code: "CentralPL", Prefix: "c"},
}

// Stats describes the generated consortium.
type Stats struct {
	// Version identifies the generator and its embedded data; it is what
	// the stamp file holds.
	Version string
	Works   int           // goodbooks works (10,000)
	Members []MemberStats // in the order of Members
	// HeldBy[k] is the number of works held by exactly k members (k = 1…5).
	HeldBy [len5]int
	// SharedShare is the fraction of works held by two or more members.
	SharedShare float64
	// WithoutISBN lists the works whose goodbooks row has no ISBN at all;
	// InvalidISBN those whose ISBN fails its check digit (dropped by every
	// member except east, which keeps it as 020 $z).
	WithoutISBN []int
	InvalidISBN []int
	// Variants are the works for which one holder catalogues a different
	// edition (same title, author and year; another ISBN or none).
	Variants []Variant
	// Planted are groups of distinct real works that share a generic title;
	// they must not be merged into one cluster.
	Planted []PlantedGroup

	holders [][]string // by book id
	variant map[int]*Variant
}

const len5 = 6 // HeldBy is indexed 0…5

// MemberStats counts one member's records.
type MemberStats struct {
	ID        string
	Name      string
	Goodbooks int      // records generated from goodbooks works
	Special   int      // records in its special collection files
	NoISBN    int      // generated records without any 020
	Files     []string // catalogue files, relative to the config directory
}

// Variant is an alternate edition planted for the merge tests.
type Variant struct {
	BookID int
	Title  string
	// Member catalogues the alternate edition; the work's other holders
	// catalogue the goodbooks edition.
	Member string
	// ISBN is the alternate edition's synthetic ISBN-13 (979-8…), or ""
	// when the alternate edition carries no ISBN.
	ISBN string
}

// PlantedGroup is a set of real goodbooks works that share a title.
type PlantedGroup struct {
	Title string
	Note  string
	Works []PlantedWork
}

// PlantedWork is one work of a PlantedGroup.
type PlantedWork struct {
	BookID  int
	Authors string
	Year    int
	Holders []string
}

// HoldersOf returns the ids of the members holding a goodbooks work, in
// the order of Members.
func (s *Stats) HoldersOf(bookID int) []string {
	if bookID < 1 || bookID >= len(s.holders) {
		return nil
	}
	return append([]string(nil), s.holders[bookID]...)
}

// VariantOf returns the alternate edition planted for a work, if any.
func (s *Stats) VariantOf(bookID int) (Variant, bool) {
	v, ok := s.variant[bookID]
	if !ok {
		return Variant{}, false
	}
	return *v, true
}

// plantedGroups are real goodbooks works with the same generic title and
// different authors (checked in the CSV). "The Collected Poems" pair is
// the sharpest: Plath's was edited by Ted Hughes, so both works have an
// author surnamed Hughes.
var plantedGroups = []struct {
	title, note string
	ids         []int
}{
	{"The Collected Poems", "Sylvia Plath (ed. Ted Hughes) vs Langston Hughes: an author surname in common", []int{3381, 6648}},
	{"Selected Poems", "four poets, one title", []int{6455, 8221, 8899, 9784}},
	{"The Complete Stories", "Flannery O'Connor vs Franz Kafka", []int{3472, 4939}},
	{"The Girls", "Emma Cline (2016) vs Lori Lansens (2005)", []int{1174, 5617}},
}

// plan is everything Generate needs, computed once per process.
type plan struct {
	works []work
	stats *Stats
}

var (
	planOnce sync.Once
	planVal  *plan
	planErr  error
)

func getPlan() (*plan, error) {
	planOnce.Do(func() { planVal, planErr = buildPlan() })
	return planVal, planErr
}

// Plan returns what Generate writes: per-member record counts, the
// holdings distribution and the planted cases. It does not write anything.
// The Stats are computed once per process and shared: do not modify them.
func Plan() (*Stats, error) {
	p, err := getPlan()
	if err != nil {
		return nil, err
	}
	return p.stats, nil
}

// hash64 is the only source of "randomness": FNV-1a of the parts, so that
// the holdings depend on nothing but the book id (and not on the Go
// version's random number generators).
func hash64(parts ...string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(strings.Join(parts, "\x00")))
	// FNV's low bits mix poorly for short keys that differ in one
	// character; a final avalanche step spreads them.
	x := h.Sum64()
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return x
}

// unit maps the parts to a number in [0, 1).
func unit(parts ...string) float64 {
	return float64(hash64(parts...)>>11) / (1 << 53)
}

// holdersFor decides which members hold a work. The CSV is ordered by
// popularity, so a low id is a popular work: the top 50 are held by all
// five members; below that, the chance of being held by several members
// falls with the rank from about 68% to 13% (about a third overall), and
// popular shared works are shared more widely.
func holdersFor(id int) []string {
	sid := fmt.Sprint(id)
	k := 1
	if id <= 50 {
		k = 5
	} else if unit(sid, "shared") < 0.55*math.Exp(-float64(id)/4000)+0.13 {
		boost := math.Exp(-float64(id) / 2000)
		t := unit(sid, "count")
		switch w2, w3, w4 := 0.6-0.3*boost, 0.25, 0.10+0.15*boost; {
		case t < w2:
			k = 2
		case t < w2+w3:
			k = 3
		case t < w2+w3+w4:
			k = 4
		default:
			k = 5
		}
	}
	order := make([]int, len(Members))
	keys := make([]uint64, len(Members))
	for i, m := range Members {
		order[i] = i
		keys[i] = hash64(sid, m.ID, "order")
	}
	sort.Slice(order, func(a, b int) bool { return keys[order[a]] < keys[order[b]] })
	chosen := order[:k]
	sort.Ints(chosen)
	out := make([]string, k)
	for i, c := range chosen {
		out[i] = Members[c].ID
	}
	return out
}

func buildPlan() (*plan, error) {
	works, err := loadWorks()
	if err != nil {
		return nil, err
	}
	version, err := dataHash()
	if err != nil {
		return nil, err
	}
	st := &Stats{
		Version: generatorVersion + "+" + version,
		Works:   len(works),
		variant: map[int]*Variant{},
	}
	maxID := 0
	byID := map[int]*work{}
	for i := range works {
		maxID = max(maxID, works[i].ID)
		byID[works[i].ID] = &works[i]
	}
	st.holders = make([][]string, maxID+1)
	for _, w := range works {
		st.holders[w.ID] = holdersFor(w.ID)
	}
	// Planted works are held by south and east at least, so that one
	// member holds two of them and each is also held elsewhere.
	for _, g := range plantedGroups {
		pg := PlantedGroup{Title: g.title, Note: g.note}
		for _, id := range g.ids {
			w := byID[id]
			if w == nil {
				return nil, fmt.Errorf("demo: planted work %d missing from goodbooks", id)
			}
			if got := stripSeries(w.Title).base; !strings.EqualFold(got, g.title) {
				return nil, fmt.Errorf("demo: planted work %d is titled %q, not %q", id, got, g.title)
			}
			st.holders[id] = withMembers(st.holders[id], "south", "east")
			pg.Works = append(pg.Works, PlantedWork{BookID: id, Authors: strings.Join(w.Authors, ", "),
				Year: w.Year, Holders: st.holders[id]})
		}
		st.Planted = append(st.Planted, pg)
	}
	// Alternate editions: every 97th work, if held by two or more members;
	// the second holder catalogues it. Every other one has a synthetic
	// ISBN, the rest none.
	for _, w := range works {
		h := st.holders[w.ID]
		if w.ID%97 != 0 || len(h) < 2 {
			continue
		}
		v := &Variant{BookID: w.ID, Title: stripSeries(w.Title).base, Member: h[1]}
		if (w.ID/97)%2 == 1 && w.ISBN10 != "" {
			v.ISBN = altISBN13(w.ISBN10)
		}
		st.Variants = append(st.Variants, *v)
	}
	for i := range st.Variants {
		st.variant[st.Variants[i].BookID] = &st.Variants[i]
	}
	for _, w := range works {
		st.HeldBy[len(st.holders[w.ID])]++
		if w.ISBN10 == "" && w.BadISBN == "" {
			st.WithoutISBN = append(st.WithoutISBN, w.ID)
		}
		if w.BadISBN != "" {
			st.InvalidISBN = append(st.InvalidISBN, w.ID)
		}
	}
	shared := 0
	for k := 2; k < len(st.HeldBy); k++ {
		shared += st.HeldBy[k]
	}
	if len(works) > 0 {
		st.SharedShare = float64(shared) / float64(len(works))
	}
	for _, m := range Members {
		ms := MemberStats{ID: m.ID, Name: m.Name, Files: []string{memberFile(m.ID)}}
		for _, w := range works {
			if !holds(st.holders[w.ID], m.ID) {
				continue
			}
			ms.Goodbooks++
			r := buildRecord(m, &w, st.variant[w.ID])
			if len(r.Fields("020")) == 0 {
				ms.NoISBN++
			}
		}
		for _, sf := range specialFiles {
			if sf.Member != m.ID {
				continue
			}
			b, err := readGz(sf.Src)
			if err != nil {
				return nil, err
			}
			ms.Special += countRecords(sf.Dst, b)
			ms.Files = append(ms.Files, sf.Dst)
		}
		st.Members = append(st.Members, ms)
	}
	return &plan{works: works, stats: st}, nil
}

func holds(holders []string, id string) bool {
	for _, h := range holders {
		if h == id {
			return true
		}
	}
	return false
}

// withMembers adds ids to holders, keeping the order of Members.
func withMembers(holders []string, ids ...string) []string {
	var out []string
	for _, m := range Members {
		if holds(holders, m.ID) || holds(ids, m.ID) {
			out = append(out, m.ID)
		}
	}
	return out
}

func memberFile(id string) string { return "members/" + id + ".xml.gz" }
