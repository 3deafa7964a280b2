package bench

import (
	"strings"
	"testing"
)

func TestQueriesAreDistinctPastThePairsAndTriples(t *testing.T) {
	q := newQueries(nil) // the fallback words: 10 pairs' worth of words
	seen := map[string]bool{}
	for i := range 2000 {
		p := q.path(i)
		if seen[p] {
			t.Fatalf("query %d repeats: %s", i, p)
		}
		seen[p] = true
	}
	if q.path(0) != q.path(0) || !strings.HasPrefix(q.path(0), "/api/v1/search?q=") {
		t.Fatalf("path(0) = %s", q.path(0))
	}
}

func TestWithCacheReplacesOrAddsTheDefaultsCacheLine(t *testing.T) {
	cfg := "consortium:\n  defaults:\n    language: en\n    search: {timeout_ms: 3000}\ninstitutions: []\n"
	got, err := withCache(cfg, "{max_mb: 32}")
	if err != nil || got != "consortium:\n  defaults:\n    language: en\n    search: {timeout_ms: 3000}\n    cache: {max_mb: 32}\ninstitutions: []\n" {
		t.Fatalf("added: %q %v", got, err)
	}
	again, err := withCache(got, "{max_mb: 64}")
	if err != nil || strings.Count(again, "cache:") != 1 || !strings.Contains(again, "    cache: {max_mb: 64}\n") {
		t.Fatalf("replaced: %q %v", again, err)
	}
	if _, err := withCache("consortium: {id: x}\n", "{max_mb: 1}"); err == nil {
		t.Fatal("a file without defaults.search was accepted")
	}
}
