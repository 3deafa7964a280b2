package lti

import "strings"

// Derived roles of a [Launch].
const (
	RoleInstructor = "instructor"
	RoleStudent    = "student"
)

// Role vocabularies of LTI 1.3 Core (appendix A.2) and the LTI 1.1 URNs some
// platforms still send.
const (
	contextRolePrefix     = "http://purl.imsglobal.org/vocab/lis/v2/membership"
	institutionRolePrefix = "http://purl.imsglobal.org/vocab/lis/v2/institution/person#"
	systemRolePrefix      = "http://purl.imsglobal.org/vocab/lis/v2/system/person#"
)

// MapRole derives Commonshelf's role from the LTI roles of a launch.
//
// "instructor" is for people who shape what a course reads, and therefore may
// answer a deep-linking request and edit course lists:
//   - the context (course) roles Instructor, ContentDeveloper, Administrator
//     and Manager, and every sub-role of them
//     (membership/Instructor#TeachingAssistant, membership/Administrator#…),
//     by full URI or by the simple names LTI 1.3 allows for context roles;
//   - a TeachingAssistant fragment under membership (membership#TeachingAssistant),
//     which some platforms send although it is not in the vocabulary;
//   - the institution and system roles Administrator and SysAdmin (platform
//     administrators can configure any course anyway);
//   - the LTI 1.1 URNs of the same roles.
//
// Everything else is "student": Learner and its sub-roles, Mentor (parents,
// advisors and reviewers observe learners; they do not publish into a
// course), Member, Officer, institution Faculty or Staff without a course role
// (being faculty somewhere does not make one teach this course), unknown
// roles, and no roles at all.
func MapRole(roles []string) string {
	for _, r := range roles {
		if isInstructorRole(strings.TrimSpace(r)) {
			return RoleInstructor
		}
	}
	return RoleStudent
}

var instructorContextRoles = map[string]bool{
	"Instructor":       true,
	"ContentDeveloper": true,
	"Administrator":    true,
	"Manager":          true,
}

func isInstructorRole(r string) bool {
	switch {
	case strings.HasPrefix(r, contextRolePrefix+"#"):
		name := strings.TrimPrefix(r, contextRolePrefix+"#")
		return instructorContextRoles[name] || name == "TeachingAssistant"
	case strings.HasPrefix(r, contextRolePrefix+"/"):
		// A sub-role, membership/<Principal>#<Sub>: the principal role decides.
		principal, _, _ := strings.Cut(strings.TrimPrefix(r, contextRolePrefix+"/"), "#")
		return instructorContextRoles[principal]
	case strings.HasPrefix(r, institutionRolePrefix):
		name := strings.TrimPrefix(r, institutionRolePrefix)
		return name == "Administrator" || name == "SysAdmin"
	case strings.HasPrefix(r, systemRolePrefix):
		name := strings.TrimPrefix(r, systemRolePrefix)
		return name == "Administrator" || name == "SysAdmin"
	case strings.HasPrefix(r, "urn:lti:role:ims/lis/"):
		principal, _, _ := strings.Cut(strings.TrimPrefix(r, "urn:lti:role:ims/lis/"), "/")
		return instructorContextRoles[principal] || principal == "TeachingAssistant"
	case strings.HasPrefix(r, "urn:lti:instrole:ims/lis/"), strings.HasPrefix(r, "urn:lti:sysrole:ims/lis/"):
		name := r[strings.LastIndex(r, "/")+1:]
		return name == "Administrator" || name == "SysAdmin"
	case !strings.Contains(r, ":"):
		return instructorContextRoles[r] || r == "TeachingAssistant" // simple context role name
	}
	return false
}
