package requests

import (
	"context"
	"encoding/json"
	"regexp"
	"testing"

	bolt "go.etcd.io/bbolt"
)

var idPattern = regexp.MustCompile(`^req-[a-z2-7]{16}$`)

// TestIDsAreRandomAndOldIDsStillWork: new requests get random ids; a
// request stored with an old sequential id is still found, and a party's
// list stays newest first across both kinds of id.
func TestIDsAreRandomAndOldIDsStillWork(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, t.TempDir())

	// A store written by an earlier version: "req-1", its index entries
	// without a creation number, and the requests bucket's counter at 1.
	old := validLoan()
	old.ID, old.Status = "req-1", RequestReceived
	body, _ := json.Marshal(old)
	err := s.db.Update(func(tx *bolt.Tx) error {
		reqs := tx.Bucket(bucketRequests)
		if _, err := reqs.NextSequence(); err != nil {
			return err
		}
		if err := reqs.Put([]byte(old.ID), body); err != nil {
			return err
		}
		if err := tx.Bucket(bucketRequester).Put(pair("north", old.ID), nil); err != nil {
			return err
		}
		return tx.Bucket(bucketSupplier).Put(pair("south", old.ID), nil)
	})
	if err != nil {
		t.Fatal(err)
	}

	seen := map[string]bool{}
	var last string
	for range 50 {
		r, _, err := s.Create(ctx, validLoan(), "", "", nil)
		if err != nil {
			t.Fatal(err)
		}
		if !idPattern.MatchString(r.ID) {
			t.Fatalf("id %q is not req- and 16 base32 characters", r.ID)
		}
		if seen[r.ID] {
			t.Fatalf("id %s given twice", r.ID)
		}
		seen[r.ID], last = true, r.ID
	}
	if got, err := s.Get(ctx, "req-1"); err != nil || got.ID != "req-1" {
		t.Fatalf("the old request: %+v %v", got, err)
	}
	rs, err := s.List(ctx, "north", Requester, "", 100)
	if err != nil || len(rs) != 51 {
		t.Fatalf("list: %d requests, %v", len(rs), err)
	}
	if rs[0].ID != last || rs[50].ID != "req-1" {
		t.Fatalf("list is not newest first: first %s (want %s), last %s (want req-1)", rs[0].ID, last, rs[50].ID)
	}
}
