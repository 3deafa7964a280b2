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

// Tickets (the new-window fallback) and form passes (a framed form's
// stand-in for the session id) are single-use tokens with a lifetime.
func TestTicketsAndFormPasses(t *testing.T) {
	for _, kind := range []struct {
		title string
		issue func(*lti.Sessions, string) string
		take  func(*lti.Sessions, string) (*lti.Session, bool)
		ttl   time.Duration
	}{
		{"tickets", (*lti.Sessions).Ticket, (*lti.Sessions).Redeem, lti.TicketTTL},
		{"form passes", (*lti.Sessions).FormPass, (*lti.Sessions).TakeFormPass, lti.FormPassTTL},
	} {
		t.Run(kind.title, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := lti.NewSessions(lti.SessionOptions{})
				sess := s.Create(testLaunch())

				token := kind.issue(s, sess.ID)
				if len(token) != 43 || token == sess.ID {
					t.Fatalf("token %q", token)
				}
				got, ok := kind.take(s, token)
				if !ok || got.ID != sess.ID {
					t.Fatalf("take: %+v %v", got, ok)
				}
				if _, ok := kind.take(s, token); ok {
					t.Fatal("token taken twice")
				}

				late := kind.issue(s, sess.ID)
				time.Sleep(kind.ttl)
				if _, ok := kind.take(s, late); ok {
					t.Fatal("token taken after its TTL")
				}

				inTime := kind.issue(s, sess.ID)
				time.Sleep(kind.ttl - time.Second)
				if _, ok := kind.take(s, inTime); !ok {
					t.Fatal("token refused within its TTL")
				}

				if kind.issue(s, "unknown") != "" {
					t.Fatal("token issued for an unknown session")
				}
				ended := kind.issue(s, sess.ID)
				s.Delete(sess.ID)
				if _, ok := kind.take(s, ended); ok {
					t.Fatal("token of an ended session taken")
				}
			})
		})
	}
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
