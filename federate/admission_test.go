package federate

import (
	"context"
	"errors"
	"testing"
)

func TestSearchesPastTheBoundAreRefusedButCachedAnswersAreServed(t *testing.T) {
	fast := &fakeMember{Records: books("f", 5)}
	e := newCachedEngine(t, testCache, map[string]*fakeMember{"fast": fast}, "fast")
	e.slots = make(chan struct{}, 1) // MaxSearches: 1
	search(t, e, Request{})          // "dune", now cached

	release, ok := e.Admit() // the only slot is taken
	if !ok {
		t.Fatal("the first slot was refused")
	}
	if _, ok := e.Admit(); ok {
		t.Fatal("a second slot was given past the bound")
	}
	if r := search(t, e, Request{}); !r.Cached || r.Partial {
		t.Fatalf("the cached answer while the slot is taken: cached %v partial %v", r.Cached, r.Partial)
	}
	for _, req := range []Request{
		{Query: word("messiah"), Limit: 10},                 // a cache miss
		{Query: word("dune"), Limit: 10, Offset: 200},       // deeper than the cache
		{Query: word("dune"), Limit: 10, BypassCache: true}, // a bypass
	} {
		if _, err := e.Search(context.Background(), req); !errors.Is(err, ErrOverloaded) {
			t.Fatalf("%+v while the slot is taken: %v, want ErrOverloaded", req, err)
		}
	}
	calls := fast.calls.Load()
	release()
	if r := search(t, e, Request{Query: word("messiah")}); r.Partial || fast.calls.Load() != calls+1 {
		t.Fatalf("once the slot is free: partial %v, member calls %d", r.Partial, fast.calls.Load()-calls)
	}
	if len(e.slots) != 0 {
		t.Fatalf("%d slots still taken after every search ended", len(e.slots))
	}
}
