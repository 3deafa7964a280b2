package lti_test

import (
	"context"
	"net/url"
	"runtime"
	"testing"

	"github.com/commonshelf/commonshelf/lti"
)

// heapInUse returns the live heap after a full collection.
func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestAnonymousLoginFloodNeitherFailsALaunchNorGrowsMemory: a user's login
// starts, then 200,000 anonymous login initiations arrive (anyone may send
// them: the parameters are public), then the user's platform posts the
// launch. The launch succeeds, and the flood leaves nothing behind in the
// tool's memory: login initiation stores nothing.
func TestAnonymousLoginFloodNeitherFailsALaunchNorGrowsMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("200,000 logins")
	}
	f := newFixture(t, nil)
	state, nonce := f.login(t)

	anonymous := url.Values{"iss": {f.plat.Issuer}, "login_hint": {"anyone"}, "target_link_uri": {toolRedirect}}
	before := heapInUse()
	const flood = 200_000
	for i := range flood {
		if _, err := f.tool.Login(anonymous); err != nil {
			t.Fatalf("anonymous login %d: %v", i, err)
		}
	}
	grew := int64(heapInUse()) - int64(before)
	// A stored pending login costs a few hundred bytes: 200,000 of them
	// would be tens of megabytes. Allow 2 MB for the runtime's own noise.
	if grew > 2<<20 {
		t.Errorf("the heap grew by %d bytes over %d anonymous logins", grew, flood)
	}
	if n := f.tool.PendingLogins(); n != 0 {
		t.Errorf("%d pending logins stored", n)
	}

	claims := f.plat.Claims(lti.MessageResourceLink, "student", "CHEM 101")
	claims["nonce"] = nonce
	l, err := f.tool.Launch(context.Background(), f.plat.Sign(claims), state)
	if err != nil {
		t.Fatalf("the user's launch after the flood: %v", err)
	}
	if l.CourseCode != "CHEM 101" {
		t.Errorf("course %q", l.CourseCode)
	}
}

// TestUsedStatesAreBoundedByTheirExpiry: only platform-signed launches are
// remembered, each until its state expires; when MaxStates are remembered a
// further launch is refused rather than an older state forgotten (which
// would let it be replayed), and the room comes back as states expire.
func TestUsedStatesAreBoundedByTheirExpiry(t *testing.T) {
	f := newFixture(t, func(c *lti.Config) { c.MaxStates = 1 })
	if _, _, err := f.launch(t, lti.MessageResourceLink, "student", nil, nil); err != nil {
		t.Fatalf("first launch: %v", err)
	}
	if n := f.tool.PendingLogins(); n != 1 {
		t.Fatalf("%d used states remembered, want 1", n)
	}
	_, _, err := f.launch(t, lti.MessageResourceLink, "student", nil, nil)
	wantCode(t, err, lti.CodeState)
	f.clock.Advance(lti.DefaultStateTTL)
	if _, _, err := f.launch(t, lti.MessageResourceLink, "student", nil, nil); err != nil {
		t.Fatalf("a launch once the first state expired: %v", err)
	}
}

// TestAReplayedTokenUsesUpNoState: a platform-signed id_token kept from an
// earlier launch, posted again with fresh anonymous logins' states, fails
// each time on its nonce and uses up none of them, so it cannot fill the
// used states and lock real launches out.
func TestAReplayedTokenUsesUpNoState(t *testing.T) {
	f := newFixture(t, func(c *lti.Config) { c.MaxStates = 50 })
	state0, nonce0 := f.login(t)
	claims := f.plat.Claims(lti.MessageResourceLink, "student", "X")
	claims["nonce"] = nonce0
	tok := f.plat.Sign(claims)
	if _, err := f.tool.Launch(context.Background(), tok, state0); err != nil {
		t.Fatal(err)
	}
	for range 60 {
		st, _ := f.login(t)
		_, err := f.tool.Launch(context.Background(), tok, st)
		wantCode(t, err, lti.CodeNonce)
	}
	if n := f.tool.PendingLogins(); n != 1 {
		t.Fatalf("%d used states remembered after 60 replays, want 1 (the real launch)", n)
	}
	if _, _, err := f.launch(t, lti.MessageResourceLink, "student", nil, nil); err != nil {
		t.Fatalf("a real launch after the replays: %v", err)
	}
}
