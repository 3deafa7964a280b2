package local

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/commonshelf/commonshelf/federate"
)

func TestImport(t *testing.T) {
	tests := []struct {
		name        string
		source      []any // federate.Record or error returned by next
		wantIndexed int
		wantReasons map[string]int
		wantCount   uint64
	}{
		{
			name:        "a record without a title is skipped and counted",
			source:      []any{shelf[0], federate.Record{RecordID: "x1", Authors: []string{"Anon"}}, shelf[1]},
			wantIndexed: 2,
			wantReasons: map[string]int{"record has no title": 1},
			wantCount:   2,
		},
		{
			name:        "a record without an id is skipped and counted",
			source:      []any{federate.Record{Title: "Orphan"}, shelf[0]},
			wantIndexed: 1,
			wantReasons: map[string]int{"record has no id": 1},
			wantCount:   1,
		},
		{
			name: "rejections from the source group by reason, quoted values aside",
			source: []any{
				&Rejection{ID: "r1", Reason: `datafield has an invalid tag "2X5"`},
				shelf[0],
				&Rejection{ID: "r2", Reason: `datafield has an invalid tag "9?9"`},
				&Rejection{ID: "r3", Reason: "truncated record"},
			},
			wantIndexed: 1,
			wantReasons: map[string]int{`datafield has an invalid tag "…"`: 2, "truncated record": 1},
			wantCount:   1,
		},
		{
			name:        "re-importing a record id replaces it",
			source:      []any{shelf[0], federate.Record{RecordID: shelf[0].RecordID, Title: "Replaced"}},
			wantIndexed: 2,
			wantReasons: map[string]int{},
			wantCount:   1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := openIndex(t, t.TempDir(), Options{})
			defer x.Close()
			i := 0
			next := func() (federate.Record, error) {
				if i == len(tt.source) {
					return federate.Record{}, io.EOF
				}
				i++
				switch v := tt.source[i-1].(type) {
				case federate.Record:
					return v, nil
				case error:
					return federate.Record{}, v
				}
				panic("bad source")
			}
			var last ImportProgress
			st, err := x.Import(t.Context(), next, func(p ImportProgress) { last = p })
			if err != nil {
				t.Fatal(err)
			}
			wantRejected := len(tt.source) - tt.wantIndexed
			if st.Read != len(tt.source) || st.Indexed != tt.wantIndexed || st.Rejected != wantRejected {
				t.Errorf("stats %+v, want read %d indexed %d rejected %d", st, len(tt.source), tt.wantIndexed, wantRejected)
			}
			if !maps.Equal(st.Reasons, tt.wantReasons) {
				t.Errorf("reasons %v, want %v", st.Reasons, tt.wantReasons)
			}
			if len(st.Examples) != wantRejected {
				t.Errorf("examples %v", st.Examples)
			}
			if last.Read != st.Read || last.Indexed != st.Indexed || last.Rejected != st.Rejected {
				t.Errorf("final progress %+v, stats %+v", last, st)
			}
			if n, err := x.Count(); err != nil || n != tt.wantCount {
				t.Errorf("count %d (%v), want %d", n, err, tt.wantCount)
			}
		})
	}
}

func TestImportUpsertIsSearchable(t *testing.T) {
	x := openIndex(t, t.TempDir(), Options{})
	defer x.Close()
	if _, err := x.Import(t.Context(), sliceSource([]federate.Record{shelf[0]}), nil); err != nil {
		t.Fatal(err)
	}
	changed := shelf[0]
	changed.Title = "Die Zauberflöte"
	if _, err := x.Import(t.Context(), sliceSource([]federate.Record{changed}), nil); err != nil {
		t.Fatal(err)
	}
	for q, want := range map[string][]string{"konigin": nil, "zauberflote": {"b1"}} {
		p, err := x.Search(t.Context(), newQuery(word(q)), federate.Window{Limit: 5})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(ids(p), want) {
			t.Errorf("%s: got %v, want %v", q, ids(p), want)
		}
	}
}

func TestImportBatchesAndCancellation(t *testing.T) {
	const n = 2500
	gen := func(cancelAt int, cancel func()) func() (federate.Record, error) {
		i := 0
		return func() (federate.Record, error) {
			if i == n {
				return federate.Record{}, io.EOF
			}
			if i == cancelAt {
				cancel()
			}
			i++
			return federate.Record{RecordID: "s" + strconv.Itoa(i), Title: "Synthetic " + strconv.Itoa(i)}, nil
		}
	}

	t.Run("progress every thousand records and at the end", func(t *testing.T) {
		x := openIndex(t, t.TempDir(), Options{})
		defer x.Close()
		var calls []ImportProgress
		st, err := x.Import(t.Context(), gen(-1, nil), func(p ImportProgress) { calls = append(calls, p) })
		if err != nil {
			t.Fatal(err)
		}
		if st.Indexed != n {
			t.Fatalf("indexed %d", st.Indexed)
		}
		var reads []int
		for _, c := range calls {
			reads = append(reads, c.Read)
		}
		if !slices.Equal(reads, []int{1000, 2000, 2500}) {
			t.Errorf("progress at %v", reads)
		}
	})

	t.Run("cancelling stops between batches and keeps what was written", func(t *testing.T) {
		x := openIndex(t, t.TempDir(), Options{})
		defer x.Close()
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		st, err := x.Import(ctx, gen(1500, cancel), nil)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err %v, want context.Canceled", err)
		}
		if st.Indexed != 1000 {
			t.Errorf("indexed %d, want the first batch of 1000", st.Indexed)
		}
		if c, _ := x.Count(); c != 1000 {
			t.Errorf("count %d, want 1000", c)
		}
	})
}

func TestReopenKeepsDocuments(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nested", "north")
	x := openIndex(t, dir, Options{})
	if _, err := x.Import(t.Context(), sliceSource(shelf), nil); err != nil {
		t.Fatal(err)
	}
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
	y := openIndex(t, dir, Options{})
	defer y.Close()
	if n, err := y.Count(); err != nil || n != uint64(len(shelf)) {
		t.Fatalf("count after reopen %d (%v), want %d", n, err, len(shelf))
	}
	p, err := y.Search(t.Context(), newQuery(word("konigin")), federate.Window{Limit: 5})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids(p), []string{"b1"}) {
		t.Errorf("after reopen got %v", ids(p))
	}
}

func TestOpenRefusesOtherMappingVersion(t *testing.T) {
	dir := t.TempDir()
	x := openIndex(t, dir, Options{})
	if err := x.idx.SetInternal([]byte(mappingKey), []byte("0")); err != nil {
		t.Fatal(err)
	}
	x.Close()
	_, err := Open(nil, "north", dir, Options{})
	if !errors.Is(err, ErrIncompatibleIndex) {
		t.Fatalf("err %v, want ErrIncompatibleIndex", err)
	}
}

func TestImportFiles(t *testing.T) {
	xml, err := os.ReadFile("testdata/small.xml")
	if err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(xml)
	zw.Close()
	gzPath := filepath.Join(t.TempDir(), "small.xml.gz")
	if err := os.WriteFile(gzPath, gz.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name      string
		paths     []string
		wantRead  int
		wantIndex int
		wantCount uint64
	}{
		{"MARCXML with a broken and an untitled record", []string{"testdata/small.xml"}, 5, 3, 3},
		{"the same file gzipped", []string{gzPath}, 5, 3, 3},
		{"both files: the second upserts the first's records", []string{"testdata/small.xml", gzPath}, 10, 6, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := openIndex(t, t.TempDir(), Options{})
			defer x.Close()
			var last ImportProgress
			st, err := x.ImportFiles(t.Context(), tt.paths, func(p ImportProgress) { last = p })
			if err != nil {
				t.Fatal(err)
			}
			if st.Read != tt.wantRead || st.Indexed != tt.wantIndex || st.Rejected != tt.wantRead-tt.wantIndex {
				t.Errorf("stats %+v", st)
			}
			files := len(tt.paths)
			if st.Reasons["record has no title (245)"] != files || len(st.Reasons) != 2 {
				t.Errorf("reasons %v", st.Reasons)
			}
			if len(st.Examples) == 0 || st.Examples[0].ID != "m3" || st.Examples[0].Index != 3 || st.Examples[0].File != tt.paths[0] {
				t.Errorf("examples %+v", st.Examples)
			}
			if last.TotalBytes == 0 || last.Bytes != last.TotalBytes || last.Read != st.Read {
				t.Errorf("final progress %+v", last)
			}
			if n, _ := x.Count(); n != tt.wantCount {
				t.Errorf("count %d, want %d", n, tt.wantCount)
			}
			for q, want := range map[federate.Node]string{
				word("konigin"): "m1",
				field(federate.FieldISBN, "978-3-16-148410-0"): "m1",
				and(word("garcia"), word("marquez")):           "m2",
				field(federate.FieldISSN, "00220418"):          "m5",
			} {
				p, err := x.Search(t.Context(), newQuery(q), federate.Window{Limit: 5})
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(ids(p), []string{want}) {
					t.Errorf("%v: got %v, want %s", newQuery(q), ids(p), want)
				}
			}
		})
	}

	t.Run("a missing file stops before importing anything", func(t *testing.T) {
		x := openIndex(t, t.TempDir(), Options{})
		defer x.Close()
		_, err := x.ImportFiles(t.Context(), []string{"testdata/small.xml", "testdata/missing.xml"}, nil)
		if !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("err %v, want ErrNotExist", err)
		}
		if n, _ := x.Count(); n != 0 {
			t.Errorf("count %d", n)
		}
	})
}

func TestOpenTwiceFails(t *testing.T) {
	dir := t.TempDir()
	x := openIndex(t, dir, Options{})
	defer x.Close()
	// A second holder (here in the same process, as with a server and an
	// import on one index) gives up after lockWait instead of hanging.
	y, err := Open(nil, "north", dir, Options{})
	if err == nil {
		y.Close()
		t.Fatal("second Open succeeded")
	}
	t.Log(err)
}
