package main

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/commonshelf/commonshelf/consortium"
	"github.com/commonshelf/commonshelf/federate"
)

// serve answers HTTP from the moment it listens: /healthz 200, /readyz and
// every other request 503 not_ready (see api.Server.SetReady), while the
// members' catalogues are opened — a local member's may be indexed first —
// and the stores are opened. The engine is built at once over openingMember
// placeholders, which are given their connectors when they are open; the
// server is marked ready after the last.

// errMemberOpening is what a member that is not open yet answers. The HTTP
// server refuses searches until every member is open, so it is not seen
// there.
var errMemberOpening = errors.New("the member's catalogue is still being opened")

// openingMember is a member's place in the engine while its connector is
// being built.
type openingMember struct {
	kind string
	c    atomic.Pointer[federate.Connector]
}

func (m *openingMember) Kind() string { return m.kind }

func (m *openingMember) Search(ctx context.Context, q federate.Query, w federate.Window) (federate.Page, error) {
	c := m.c.Load()
	if c == nil {
		return federate.Page{}, errMemberOpening
	}
	return (*c).Search(ctx, q, w)
}

// openingMembers makes the engine's members of cfg, in file order, each
// with a placeholder to be given its connector by openMembers.
func openingMembers(cfg *consortium.Config) ([]federate.Member, map[string]*openingMember) {
	var members []federate.Member
	byID := map[string]*openingMember{}
	for _, in := range cfg.Members() {
		om := &openingMember{kind: in.Member.Connector}
		byID[in.ID] = om
		m := in.Member
		members = append(members, federate.Member{
			ID: in.ID, Name: in.Name, Connector: om,
			Timeout: m.Timeout, MaxInFlight: m.MaxInFlight,
			BreakerFailures: m.Breaker.Failures, BreakerOpenFor: m.Breaker.OpenFor,
		})
	}
	return members, byID
}

// openMembers gives each placeholder its built member's connector.
func openMembers(placeholders map[string]*openingMember, built []federate.Member) error {
	for _, b := range built {
		om, ok := placeholders[b.ID]
		if !ok {
			return fmt.Errorf("member %s was built but not configured", b.ID)
		}
		c := b.Connector
		om.c.Store(&c)
	}
	for id, om := range placeholders {
		if om.c.Load() == nil {
			return fmt.Errorf("member %s: %w", id, errMemberOpening)
		}
	}
	return nil
}
