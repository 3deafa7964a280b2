package consortium

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// builtInCache is the cache a file that says nothing about it gets.
var builtInCache = Cache{MaxEntries: 10000, MaxMB: 256, TTL: 5 * time.Minute, PartialTTL: 15 * time.Second, StaleGrace: time.Minute}

func TestCacheSettings(t *testing.T) {
	tests := []struct {
		title string
		cache string // the value of consortium.defaults.cache
		want  Cache
	}{
		{"left out: the built-in defaults", "", builtInCache},
		{"every key", "{max_entries: 500, max_mb: 64, ttl: 10m, partial_ttl: 30s, stale_grace: 2m}",
			Cache{MaxEntries: 500, MaxMB: 64, TTL: 10 * time.Minute, PartialTTL: 30 * time.Second, StaleGrace: 2 * time.Minute}},
		{"ttl 0 turns the cache off", "{ttl: 0}", Cache{MaxEntries: 10000, MaxMB: 256, StaleGrace: time.Minute}},
		{"a ttl shorter than the built-in partial ttl pulls it down", "{ttl: 10s}",
			Cache{MaxEntries: 10000, MaxMB: 256, TTL: 10 * time.Second, PartialTTL: 10 * time.Second, StaleGrace: time.Minute}},
		{"partial answers and stale serving can be turned off", "{partial_ttl: 0s, stale_grace: 0}",
			Cache{MaxEntries: 10000, MaxMB: 256, TTL: 5 * time.Minute}},
	}
	for _, tt := range tests {
		t.Run(tt.title, func(t *testing.T) {
			file := "consortium: {id: t, name: T}\n"
			if tt.cache != "" {
				file = "consortium: {id: t, name: T, defaults: {cache: " + tt.cache + "}}\n"
			}
			c, err := Parse([]byte(file), "c.yaml", "")
			if err != nil {
				t.Fatal(err)
			}
			if c.Consortium.Defaults.Cache != tt.want {
				t.Fatalf("cache = %+v, want %+v", c.Consortium.Defaults.Cache, tt.want)
			}
		})
	}
}

func TestCacheProblems(t *testing.T) {
	tests := []struct {
		title string
		cache string
		want  string
	}{
		{"an unknown key", "{size: 10}", `consortium.defaults.cache.size: unknown key "size"`},
		{"zero entries", "{max_entries: 0}", "consortium.defaults.cache.max_entries: max_entries must be positive, not 0"},
		{"negative megabytes", "{max_mb: -5}", "consortium.defaults.cache.max_mb: max_mb must be positive, not -5"},
		{"a ttl without a unit", "{ttl: 300}", `consortium.defaults.cache.ttl: "300" is not a duration like 30s, 5m or 1h30m`},
		{"a negative grace", "{stale_grace: -1m}", "consortium.defaults.cache.stale_grace: -1m is negative"},
		{"a partial ttl above the ttl", "{ttl: 1m, partial_ttl: 2m}", "consortium.defaults.cache.partial_ttl: 2m0s exceeds ttl (1m0s)"},
		{"a list", "[1m]", "consortium.defaults.cache: must be a mapping"},
	}
	for _, tt := range tests {
		t.Run(tt.title, func(t *testing.T) {
			_, err := Parse([]byte("consortium: {id: t, name: T, defaults: {cache: "+tt.cache+"}}\n"), "c.yaml", "")
			var cerr *Error
			if !errors.As(err, &cerr) || !strings.Contains(err.Error(), "c.yaml:1: "+tt.want) {
				t.Fatalf("error %v, want one mentioning %q", err, tt.want)
			}
		})
	}
	if _, err := Parse([]byte("consortium: {id: t, name: T}\ninstitutions: [{id: a, name: A, overrides: {cache: {ttl: 1m}}}]\n"), "c.yaml", ""); err == nil ||
		!strings.Contains(err.Error(), `unknown key "cache"`) {
		t.Fatalf("an institution overriding the cache: %v, want an unknown-key error", err)
	}
}
