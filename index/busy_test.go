package index

import (
	"context"
	"errors"
	"testing"
)

// TestASearchThatFindsEverySlotTakenIsRefusedAsBusy: a list search waits
// for a slot at most MaxSlotWait, then fails with ErrBusy (the API's 503
// with Retry-After), and the slots it did not get are not disturbed.
func TestASearchThatFindsEverySlotTakenIsRefusedAsBusy(t *testing.T) {
	s := openTest(t, t.TempDir(), Options{})
	mustPut(t, s, validList("north", "chem"))
	ctx := context.Background()
	if _, err := s.Search(ctx, ListQuery{Text: "reading"}); err != nil {
		t.Fatalf("a search with free slots: %v", err)
	}
	n := 0
	for s.sem.TryAcquire(1) { // take every slot
		n++
	}
	_, err := s.Search(ctx, ListQuery{Text: "reading"})
	if !errors.Is(err, ErrBusy) {
		t.Fatalf("a search with every slot taken: %v, want ErrBusy", err)
	}
	s.sem.Release(int64(n))
	if _, err := s.Search(ctx, ListQuery{Text: "reading"}); err != nil {
		t.Fatalf("a search once the slots are free: %v", err)
	}
}
