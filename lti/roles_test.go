package lti_test

import (
	"testing"

	"github.com/commonshelf/commonshelf/lti"
)

func TestMapRole(t *testing.T) {
	const (
		m = "http://purl.imsglobal.org/vocab/lis/v2/membership"
		i = "http://purl.imsglobal.org/vocab/lis/v2/institution/person#"
		s = "http://purl.imsglobal.org/vocab/lis/v2/system/person#"
	)
	for _, tc := range []struct {
		title string
		roles []string
		want  string
	}{
		{"course instructor", []string{m + "#Instructor"}, lti.RoleInstructor},
		{"teaching assistant sub-role", []string{m + "/Instructor#TeachingAssistant"}, lti.RoleInstructor},
		{"teaching assistant under membership", []string{m + "#TeachingAssistant"}, lti.RoleInstructor},
		{"content developer", []string{m + "#ContentDeveloper"}, lti.RoleInstructor},
		{"course administrator", []string{m + "#Administrator"}, lti.RoleInstructor},
		{"course manager", []string{m + "#Manager"}, lti.RoleInstructor},
		{"system administrator", []string{s + "Administrator"}, lti.RoleInstructor},
		{"institution administrator next to a learner role", []string{m + "#Learner", i + "Administrator"}, lti.RoleInstructor},
		{"simple context role name", []string{"Instructor"}, lti.RoleInstructor},
		{"LTI 1.1 URN", []string{"urn:lti:role:ims/lis/TeachingAssistant"}, lti.RoleInstructor},
		{"learner", []string{m + "#Learner"}, lti.RoleStudent},
		{"mentor", []string{m + "#Mentor"}, lti.RoleStudent},
		{"faculty at the institution, learner in this course", []string{i + "Faculty", m + "#Learner"}, lti.RoleStudent},
		{"unknown role", []string{"http://example.com/roles#Wizard"}, lti.RoleStudent},
		{"no roles", []string{}, lti.RoleStudent},
	} {
		t.Run(tc.title, func(t *testing.T) {
			if got := lti.MapRole(tc.roles); got != tc.want {
				t.Errorf("MapRole(%v) = %q, want %q", tc.roles, got, tc.want)
			}
		})
	}
}
