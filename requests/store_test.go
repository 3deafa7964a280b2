package requests

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

func openTest(t *testing.T, dir string) *BoltStore {
	t.Helper()
	s, err := OpenBolt(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestStoreCreateGetListUpdate(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, t.TempDir())
	a, created, err := s.Create(ctx, validLoan(), "key-1", "fp-1", []string{"south"})
	if err != nil || !created || a.ID == "" || a.Status != RequestReceived || len(a.History) != 1 {
		t.Fatalf("create: %+v %v %v", a, created, err)
	}
	again, created, err := s.Create(ctx, validLoan(), "key-1", "fp-1", []string{"south"})
	if err != nil || created || again.ID != a.ID {
		t.Fatalf("same key again: %+v %v %v", again, created, err)
	}
	if _, _, err := s.Create(ctx, validLoan(), "key-1", "fp-2", nil); !errors.Is(err, ErrIdempotencyConflict) {
		t.Fatalf("same key, other body: %v", err)
	}
	other := validLoan()
	other.Requester, other.Supplier, other.Source.Member = "south", "north", "north"
	b, created, err := s.Create(ctx, other, "key-1", "fp-3", nil) // another institution's key space
	if err != nil || !created || b.ID == a.ID {
		t.Fatalf("another institution's same key: %+v %v %v", b, created, err)
	}
	if got, err := s.Get(ctx, a.ID); err != nil || got.Metadata.Title != "The Hunger Games" {
		t.Fatalf("get: %+v %v", got, err)
	}
	if _, err := s.Get(ctx, "req-999"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("get missing: %v", err)
	}
	u, err := s.Update(ctx, a.ID, func(r *Request) ([]string, error) {
		return []string{"north"}, r.Transition(Supplier, "south", WillSupply, "on the shelf", time.Now())
	})
	if err != nil || u.Status != WillSupply {
		t.Fatalf("update: %+v %v", u, err)
	}
	if _, err := s.Update(ctx, a.ID, func(r *Request) ([]string, error) {
		return nil, r.Transition(Supplier, "south", LoanCompleted, "", time.Now())
	}); !errors.Is(err, ErrIllegalTransition) {
		t.Fatalf("illegal update: %v", err)
	}
	for _, c := range []struct {
		inst   string
		party  Party
		status Status
		want   []string
	}{
		{"north", Requester, "", []string{a.ID}},
		{"north", Supplier, "", []string{b.ID}},
		{"south", Supplier, WillSupply, []string{a.ID}},
		{"south", Supplier, RequestReceived, nil},
	} {
		rs, err := s.List(ctx, c.inst, c.party, c.status, 10)
		var ids []string
		for _, r := range rs {
			ids = append(ids, r.ID)
		}
		if err != nil || fmt.Sprint(ids) != fmt.Sprint(c.want) {
			t.Errorf("list %s as %s %q: %v %v, want %v", c.inst, c.party, c.status, ids, err, c.want)
		}
	}
	ds, err := s.Pending(ctx, "", 10)
	if err != nil || len(ds) != 2 || ds[0].Event != EventCreated || ds[0].Institution != "south" ||
		ds[1].Event != EventStatusChanged || ds[1].Institution != "north" || ds[1].Request.Status != WillSupply {
		t.Fatalf("outbox: %+v %v", ds, err)
	}
	if err := s.Ack(ctx, ds[0].ID); err != nil {
		t.Fatal(err)
	}
	if ds, _ := s.Pending(ctx, "", 10); len(ds) != 1 {
		t.Fatalf("after ack: %d pending", len(ds))
	}
}

func TestStoreKeepsEverythingAcrossReopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := OpenBolt(dir)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	ids := make([]string, 200)
	for i := range ids {
		wg.Go(func() {
			r, _, err := s.Create(ctx, validLoan(), fmt.Sprintf("k%d", i), "fp", []string{"south"})
			if err != nil {
				t.Error(err)
				return
			}
			ids[i] = r.ID
		})
	}
	wg.Wait()
	s.Close()
	s = openTest(t, dir)
	select {
	case <-s.Queued():
	default:
		t.Error("a reopened store with pending deliveries does not signal them")
	}
	for _, id := range ids {
		if _, err := s.Get(ctx, id); err != nil {
			t.Fatalf("%s: %v", id, err)
		}
	}
	if ds, _ := s.Pending(ctx, "", 1000); len(ds) != len(ids) {
		t.Fatalf("%d deliveries pending, want %d", len(ds), len(ids))
	}
	seen := map[string]bool{}
	for after := ""; ; {
		page, err := s.Pending(ctx, after, 30)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range page {
			if seen[d.ID] || d.ID <= after {
				t.Fatalf("page after %s repeats or goes back: %s", after, d.ID)
			}
			seen[d.ID] = true
		}
		if len(page) < 30 {
			break
		}
		after = page[len(page)-1].ID
	}
	if len(seen) != len(ids) {
		t.Fatalf("paging saw %d deliveries, want %d", len(seen), len(ids))
	}
}

// BenchmarkCreate measures creations committed to disk (fsync each commit),
// from 16 concurrent clients whose commits are grouped.
func BenchmarkCreate(b *testing.B) {
	s, err := OpenBolt(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	b.SetParallelism(8)
	var n sync.Mutex
	k := 0
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n.Lock()
			k++
			key := fmt.Sprint(k)
			n.Unlock()
			if _, _, err := s.Create(ctx, validLoan(), key, "fp", []string{"south"}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func TestStoreKeepsAFailedDeliveryAcrossReopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := OpenBolt(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Create(ctx, validLoan(), "", "fp", []string{"south"}); err != nil {
		t.Fatal(err)
	}
	ds, _ := s.Pending(ctx, "", 10)
	if len(ds) != 1 || ds[0].Failed {
		t.Fatalf("pending %+v", ds)
	}
	if err := s.Fail(ctx, ds[0].ID, 2, "the receiver rejected the request: ERROR BadlyFormedMessage"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = openTest(t, dir)
	ds, _ = s.Pending(ctx, "", 10)
	if len(ds) != 1 || !ds[0].Failed || ds[0].Attempts != 2 || !strings.Contains(ds[0].LastError, "BadlyFormedMessage") {
		t.Fatalf("after reopening: %+v", ds)
	}
}
