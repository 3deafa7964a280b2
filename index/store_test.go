package index

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func TestPutGetDeleteRoundTrip(t *testing.T) {
	s := openTest(t, t.TempDir(), fixtureOptions)
	ctx := context.Background()
	want := fixture()[0]
	res := mustPut(t, s, want)
	if !res.Created || res.Sequence != 1 {
		t.Errorf("first put: %+v", res)
	}
	if _, err := time.Parse(time.RFC3339, want.Updated); err != nil {
		t.Errorf("Put did not set updated: %q", want.Updated)
	}
	got, ok, err := s.Get("north", "chem101-2025")
	if err != nil || !ok {
		t.Fatalf("get: %v %v", ok, err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	if n, _ := s.Count(); n != 1 {
		t.Errorf("count %d", n)
	}
	if _, ok, _ := s.Get("south", "chem101-2025"); ok {
		t.Error("a list id is scoped by institution")
	}

	deleted, err := s.Delete(ctx, "north", "chem101-2025")
	if err != nil || !deleted {
		t.Fatalf("delete: %v %v", deleted, err)
	}
	if _, ok, _ := s.Get("north", "chem101-2025"); ok {
		t.Error("still there after delete")
	}
	if again, _ := s.Delete(ctx, "north", "chem101-2025"); again {
		t.Error("second delete reported a list")
	}
	if n, _ := s.Count(); n != 0 {
		t.Errorf("count %d after delete", n)
	}
	res2, _ := s.Search(ctx, ListQuery{Text: "thermodynamics"})
	if res2.Total != 0 {
		t.Errorf("deleted list still found: %v", hitKeys(res2))
	}
}

func TestPutIsIdempotent(t *testing.T) {
	s := openTest(t, t.TempDir(), Options{})
	first := mustPut(t, s, validList("north", "a"))
	tests := []struct {
		name        string
		list        func() *List
		wantChanged bool
	}{
		{"the same body again, without updated", func() *List { return validList("north", "a") }, false},
		{"the same body again, twice", func() *List { return validList("north", "a") }, false},
		{"a changed title", func() *List { l := validList("north", "a"); l.Name = "Other"; return l }, true},
		{"the changed body again", func() *List { l := validList("north", "a"); l.Name = "Other"; return l }, false},
	}
	seq := first.Sequence
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := mustPut(t, s, tc.list())
			if res.Created {
				t.Error("created again")
			}
			if changed := res.Sequence != seq; changed != tc.wantChanged {
				t.Errorf("sequence %d after %d: changed %v, want %v", res.Sequence, seq, changed, tc.wantChanged)
			}
			seq = res.Sequence
			if cur, _ := s.Sequence(); cur != seq {
				t.Errorf("store sequence %d, list's %d", cur, seq)
			}
		})
	}
}

func TestPutKeepsAGivenUpdatedTime(t *testing.T) {
	s := openTest(t, t.TempDir(), Options{})
	l := validList("north", "a")
	l.Updated = "2024-01-02T03:04:05+01:00"
	mustPut(t, s, l)
	got, _, _ := s.Get("north", "a")
	if got.Updated != "2024-01-02T03:04:05+01:00" {
		t.Errorf("updated %q", got.Updated)
	}
}

func TestPutRejectsInvalidList(t *testing.T) {
	s := openTest(t, t.TempDir(), Options{})
	l := validList("north", "a")
	l.Sections[0].Citations[0].Importance = "vital"
	_, err := s.Put(context.Background(), l)
	var ve *ValidationError
	if !errors.Is(err, ErrInvalidList) || !errors.As(err, &ve) || ve.Errors[0].Field != "sections[0].citations[0].importance" {
		t.Fatalf("err %v", err)
	}
	if n, _ := s.Count(); n != 0 {
		t.Errorf("count %d", n)
	}
}

func TestPutBatch(t *testing.T) {
	s := openTest(t, t.TempDir(), Options{})
	var ls []*List
	for i := range 250 {
		ls = append(ls, validList("north", fmt.Sprintf("l%03d", i)))
	}
	ls[7].Status = "live"
	ls[120] = validList("north", "l000") // the same list twice: stored once, unchanged
	errs, err := s.PutBatch(context.Background(), ls)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range errs {
		switch {
		case i == 7 && !errors.Is(e, ErrInvalidList):
			t.Errorf("list 7: %v, want invalid", e)
		case i != 7 && e != nil:
			t.Errorf("list %d: %v", i, e)
		}
	}
	if n, _ := s.Count(); n != 248 {
		t.Errorf("count %d, want 248", n)
	}
	res, err := s.Search(context.Background(), ListQuery{Text: "book"})
	if err != nil || res.Total != 248 {
		t.Errorf("search finds %d (%v), want 248", res.Total, err)
	}
}

func TestPutBatchStopsWhenCancelled(t *testing.T) {
	s := openTest(t, t.TempDir(), Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	errs, err := s.PutBatch(ctx, []*List{validList("north", "a")})
	if !errors.Is(err, context.Canceled) || !errors.Is(errs[0], ErrNotWritten) {
		t.Errorf("errs %v, err %v", errs, err)
	}
}

func TestReopenAfterClose(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir, fixtureOptions)
	for _, l := range fixture() {
		mustPut(t, s, l)
	}
	if _, err := s.Delete(context.Background(), "north", "chem201"); err != nil {
		t.Fatal(err)
	}
	// Deleted and written again: its deletion entry is superseded.
	if _, err := s.Delete(context.Background(), "north", "hist200"); err != nil {
		t.Fatal(err)
	}
	mustPut(t, s, fixture()[1])
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Search(context.Background(), ListQuery{}); !errors.Is(err, ErrClosed) {
		t.Errorf("search after close: %v", err)
	}
	if _, err := s.Put(context.Background(), validList("north", "z")); !errors.Is(err, ErrClosed) {
		t.Errorf("put after close: %v", err)
	}

	s2 := openTest(t, dir, fixtureOptions)
	if s2.openReplayed != 0 || s2.openRebuilt {
		t.Errorf("after a clean close, open replayed %d changes (rebuilt %v), want none", s2.openReplayed, s2.openRebuilt)
	}
	checkFixture(t, s2, 4)
	// The deletion the index has is pruned from the change log: one entry
	// per stored list remains.
	var entries int
	s2.db.View(func(tx *bolt.Tx) error {
		entries = tx.Bucket(bucketChanges).Stats().KeyN
		return nil
	})
	if entries != 4 {
		t.Errorf("%d change entries, want 4", entries)
	}
}

// checkFixture asserts that the fixture (less chem201) is stored, counted,
// searchable and cited.
func checkFixture(t *testing.T, s *Store, wantCount int) {
	t.Helper()
	if n, _ := s.Count(); n != wantCount {
		t.Errorf("count %d, want %d", n, wantCount)
	}
	if docs, _ := s.idx.DocCount(); int(docs) != wantCount {
		t.Errorf("index has %d documents, want %d", docs, wantCount)
	}
	res, err := s.Search(context.Background(), ListQuery{Text: "dune OR buch OR clayden", IncludePrivateOf: "north"})
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(hitKeys(res)); len(res.Hits) != 3 {
		t.Errorf("search finds %s, want chem101, bio150 and lit300", got)
	}
	if refs := s.CitedBy(idsISBN("0439023483"), ""); len(refs) != 2 {
		t.Errorf("cited by %v", refs)
	}
}

func TestOpenRebuildsAnIndexThatCannotBeUsed(t *testing.T) {
	tests := []struct {
		name   string
		damage func(t *testing.T, dir string)
		opts   Options
	}{
		{"index directory removed", func(t *testing.T, dir string) {
			os.RemoveAll(filepath.Join(dir, indexDir))
		}, fixtureOptions},
		{"index metadata garbage", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, indexDir, "index_meta.json"), []byte("{garbage"), 0o644)
		}, fixtureOptions},
		{"index files emptied", func(t *testing.T, dir string) {
			filepath.Walk(filepath.Join(dir, indexDir), func(p string, fi os.FileInfo, err error) error {
				if err == nil && !fi.IsDir() {
					os.Truncate(p, 0)
				}
				return nil
			})
		}, fixtureOptions},
		{"index built for other languages", func(t *testing.T, dir string) {}, Options{Languages: map[string]string{"sud": "fr", "ost": "de", "north": "en"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := openTest(t, dir, fixtureOptions)
			for _, l := range fixture() {
				mustPut(t, s, l)
			}
			s.Delete(context.Background(), "north", "chem201")
			s.Close()
			tc.damage(t, dir)
			checkFixture(t, openTest(t, dir, tc.opts), 4)
		})
	}
}

func TestOpenReplaysWhatTheIndexMissed(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir, fixtureOptions)
	ls := fixture()
	for _, l := range ls {
		mustPut(t, s, l)
	}
	// Take the index back in time: it applied only the first two lists and
	// never saw the deletion of chem201 (sequence 6).
	s.Delete(context.Background(), "north", "chem201")
	b := s.idx.NewBatch()
	for _, l := range ls[2:] {
		b.Delete(l.Key())
	}
	if err := b.Index(ls[2].Key(), document(ls[2], "en", 3)); err != nil {
		t.Fatal(err)
	}
	b.SetInternal(internalApplied, seqBytes(2))
	if err := s.idx.Batch(b); err != nil {
		t.Fatal(err)
	}
	s.applied = 2 // what Close writes back as the applied mark
	s.Close()

	s2 := openTest(t, dir, fixtureOptions)
	if s2.openReplayed != 4 {
		t.Errorf("replayed %d changes, want 4 (3 to 6)", s2.openReplayed)
	}
	checkFixture(t, s2, 4)
	res, _ := s2.Search(context.Background(), ListQuery{Text: "clayden", IncludePrivateOf: "north"})
	if res.Total != 0 {
		t.Errorf("the deleted list is still indexed")
	}
}

func TestOpenRefusesUnknownLanguage(t *testing.T) {
	_, err := OpenWithOptions(nil, t.TempDir(), Options{Languages: map[string]string{"north": "xx"}})
	if err == nil {
		t.Fatal("opened")
	}
}

func TestLanguageChosenPerInstitution(t *testing.T) {
	dir := t.TempDir()
	german := fixture()[4]
	s := openTest(t, dir, Options{}) // every institution in English
	mustPut(t, s, german)
	res, _ := s.Search(context.Background(), ListQuery{Text: "title:buch"})
	if res.Total != 0 {
		t.Fatalf("English analysis stemmed Bücher to buch")
	}
	s.Close()
	s = openTest(t, dir, Options{Languages: map[string]string{"ost": "de"}})
	res, _ = s.Search(context.Background(), ListQuery{Text: "title:buch"})
	if res.Total != 1 {
		t.Errorf("German analysis after reopening: %d hits", res.Total)
	}
}

func TestConcurrentUse(t *testing.T) {
	s := openTest(t, t.TempDir(), fixtureOptions)
	ctx := context.Background()
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 10 {
				l := validList("north", fmt.Sprintf("w%d-%d", w, i))
				l.Sections[0].Citations[0].ISBN = []string{"0439023483"}
				if _, err := s.Put(ctx, l); err != nil {
					t.Error(err)
				}
				if i%3 == 0 {
					s.Delete(ctx, "north", l.ID)
				}
			}
		})
		wg.Go(func() {
			for range 20 {
				if _, err := s.Search(ctx, ListQuery{Text: "book"}); err != nil {
					t.Error(err)
				}
				s.CitedBy(idsISBN("9780439023481"), "")
			}
		})
	}
	wg.Wait()
	n, _ := s.Count()
	res, _ := s.Search(ctx, ListQuery{Text: "book", Limit: 100})
	if n != 24 || res.Total != 24 || len(s.CitedBy(idsISBN("0439023483"), "")) != 24 {
		t.Errorf("count %d, found %d, cited by %d; want 24", n, res.Total, len(s.CitedBy(idsISBN("0439023483"), "")))
	}
}
