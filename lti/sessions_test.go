package lti_test

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/commonshelf/commonshelf/lti"
)

func testLaunch() *lti.Launch {
	return &lti.Launch{
		Platform:     &lti.Platform{Name: "North Moodle", Institution: "north"},
		Subject:      "u1",
		Name:         "Stu Student",
		Role:         lti.RoleStudent,
		CourseCode:   "HIST-1",
		ContextTitle: "History 1",
		Locale:       "fr",
	}
}

func TestSessions(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := lti.NewSessions(lti.SessionOptions{TTL: time.Hour})
		sess := s.Create(testLaunch())
		if len(sess.ID) != 43 || len(sess.CSRF) != 43 || sess.ID == sess.CSRF {
			t.Fatalf("session id %q, CSRF %q", sess.ID, sess.CSRF)
		}
		if sess.Institution != "north" || sess.Platform != "North Moodle" || sess.Role != lti.RoleStudent || sess.CourseCode != "HIST-1" || sess.Locale != "fr" {
			t.Fatalf("session %+v", sess)
		}
		if !sess.Expires.Equal(time.Now().Add(time.Hour)) {
			t.Errorf("expires %v", sess.Expires)
		}
		got, ok := s.Get(sess.ID)
		if !ok || got.ID != sess.ID || got.CSRF != sess.CSRF {
			t.Fatalf("Get: %+v %v", got, ok)
		}
		got.Role = lti.RoleInstructor // a copy: the stored session is unchanged
		if again, _ := s.Get(sess.ID); again.Role != lti.RoleStudent {
			t.Fatal("Get returned the stored session, not a copy")
		}
		if _, ok := s.Get("unknown"); ok {
			t.Fatal("unknown session found")
		}

		time.Sleep(time.Hour - time.Second)
		if _, ok := s.Get(sess.ID); !ok {
			t.Fatal("session expired early")
		}
		time.Sleep(time.Second)
		if _, ok := s.Get(sess.ID); ok {
			t.Fatal("session alive after its TTL")
		}
	})
}

func TestTickets(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := lti.NewSessions(lti.SessionOptions{})
		sess := s.Create(testLaunch())

		ticket := s.Ticket(sess.ID)
		if len(ticket) != 43 {
			t.Fatalf("ticket %q", ticket)
		}
		got, ok := s.Redeem(ticket)
		if !ok || got.ID != sess.ID {
			t.Fatalf("Redeem: %+v %v", got, ok)
		}
		if _, ok := s.Redeem(ticket); ok {
			t.Fatal("ticket redeemed twice")
		}

		late := s.Ticket(sess.ID)
		time.Sleep(lti.TicketTTL)
		if _, ok := s.Redeem(late); ok {
			t.Fatal("ticket redeemed after its TTL")
		}

		inTime := s.Ticket(sess.ID)
		time.Sleep(lti.TicketTTL - time.Second)
		if _, ok := s.Redeem(inTime); !ok {
			t.Fatal("ticket refused within its TTL")
		}

		if s.Ticket("unknown") != "" {
			t.Fatal("ticket issued for an unknown session")
		}
		ended := s.Ticket(sess.ID)
		s.Delete(sess.ID)
		if _, ok := s.Redeem(ended); ok {
			t.Fatal("ticket of an ended session redeemed")
		}
	})
}

func TestSessionsAreBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := lti.NewSessions(lti.SessionOptions{Max: 3})
		var ids []string
		for range 5 {
			ids = append(ids, s.Create(testLaunch()).ID)
			time.Sleep(time.Second)
		}
		if s.Len() != 3 {
			t.Fatalf("%d sessions held, want 3", s.Len())
		}
		for i, id := range ids {
			if _, ok := s.Get(id); ok != (i >= 2) {
				t.Errorf("session %d present %v", i, ok)
			}
		}
	})
}
