package lti_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/commonshelf/commonshelf/lti"
)

// publishedKIDs decodes a JWKS, checks every key is a public RS256 signing
// key, and returns the kids.
func publishedKIDs(t *testing.T, k *lti.KeySet) []string {
	t.Helper()
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(k.JWKS(), &set); err != nil {
		t.Fatal(err)
	}
	var kids []string
	for _, key := range set.Keys {
		if key["kty"] != "RSA" || key["alg"] != "RS256" || key["use"] != "sig" || key["n"] == nil || key["e"] == nil || key["kid"] == nil {
			t.Fatalf("published key %v: want kid, kty RSA, alg RS256, use sig, n, e", key)
		}
		for _, private := range []string{"d", "p", "q", "dp", "dq", "qi"} {
			if _, ok := key[private]; ok {
				t.Fatalf("published key has private member %q", private)
			}
		}
		kids = append(kids, key["kid"].(string))
	}
	slices.Sort(kids)
	return kids
}

func sorted(s ...string) []string { s = slices.Clone(s); slices.Sort(s); return s }

func TestKeySetRotation(t *testing.T) {
	clk := newClock()
	dir := filepath.Join(t.TempDir(), "keys")
	opts := lti.KeyOptions{Now: clk.Now, RetireAfter: 24 * time.Hour}
	k, err := lti.OpenKeySet(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	kids := publishedKIDs(t, k)
	first := k.CurrentKID()
	if len(kids) != 2 || !slices.Contains(kids, first) {
		t.Fatalf("a new set publishes %v, want current %s and a next key", kids, first)
	}
	next := kids[0]
	if next == first {
		next = kids[1]
	}

	if err := k.Rotate(); err != nil {
		t.Fatal(err)
	}
	if got := k.CurrentKID(); got != next {
		t.Fatalf("after rotation %s signs, want the published next key %s", got, next)
	}
	afterRotate := publishedKIDs(t, k)
	if len(afterRotate) != 3 || !slices.Contains(afterRotate, first) || !slices.Contains(afterRotate, next) {
		t.Fatalf("after rotation %v, want the retired %s, current %s and a new next", afterRotate, first, next)
	}

	info, err := os.Stat(filepath.Join(dir, "keys.json"))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("keys.json: %v, mode %v; want 0600", err, info.Mode())
	}
	reopened, err := lti.OpenKeySet(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	if reopened.CurrentKID() != next || !reflect.DeepEqual(publishedKIDs(t, reopened), afterRotate) {
		t.Fatalf("reopened set: current %s, published %v; want %s, %v", reopened.CurrentKID(), publishedKIDs(t, reopened), next, afterRotate)
	}

	clk.Advance(24*time.Hour - time.Second)
	if got := publishedKIDs(t, reopened); !slices.Contains(got, first) {
		t.Fatalf("retired key withdrawn before RetireAfter: %v", got)
	}
	clk.Advance(time.Second)
	if got := publishedKIDs(t, reopened); len(got) != 2 || slices.Contains(got, first) {
		t.Fatalf("retired key still published after RetireAfter: %v", got)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("key directory holds %d entries, want only keys.json (no temporary files)", len(entries))
	}
}

func TestKeySetRotatesLazily(t *testing.T) {
	clk := newClock()
	k, err := lti.OpenKeySet(t.TempDir(), lti.KeyOptions{Now: clk.Now, RotateEvery: 30 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	first := k.CurrentKID()
	clk.Advance(30*24*time.Hour - time.Minute)
	if k.CurrentKID() != first {
		t.Fatal("rotated before RotateEvery")
	}
	clk.Advance(time.Minute)
	if k.CurrentKID() == first {
		t.Fatal("not rotated after RotateEvery")
	}
	if got := publishedKIDs(t, k); len(got) != 3 || !slices.Contains(got, first) {
		t.Fatalf("published %v, want the retired key too", got)
	}
}

func TestKeySetRefusals(t *testing.T) {
	if _, err := lti.OpenKeySet(t.TempDir(), lti.KeyOptions{Bits: 1024}); err == nil {
		t.Error("1024-bit keys accepted")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "keys.json"), []byte(`{"version":1,"current":{"kid":"x","pem":"nope"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := lti.OpenKeySet(dir, lti.KeyOptions{}); err == nil {
		t.Error("corrupt key file accepted")
	}
}
