package consortium

import (
	"net/url"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// DefaultCourseClaim is the launch claim an institution's course code is
// read from unless it says otherwise: the LTI context's label, which most
// platforms fill with the course's short code ("CHEM 101").
const DefaultCourseClaim = "context.label"

// LTI is an institution's LTI 1.3 tool registration: the learning platforms
// (Moodle, Canvas, Blackboard, Brightspace…) whose course pages launch
// Commonshelf.
type LTI struct {
	// CourseClaim names the launch claim holding the course code that
	// matches the institution's resource lists: "context.label" (built-in
	// default), "context.title", "context.id", "custom.<name>" (e.g.
	// custom.lis_course_code), "lis.course_offering_sourcedid" or
	// "lis.course_section_sourcedid". Never "" after Load.
	CourseClaim string
	// Platforms are the registrations, in file order. Nil: none (the
	// institution is not reached through LTI).
	Platforms []LTIPlatform
}

// LTIPlatform is one learning platform registered with the tool. Every
// field is set after Load.
type LTIPlatform struct {
	// Name is for people and logs; the issuer when the file leaves it out.
	Name string
	// Issuer is the platform's issuer identifier (the id_token's iss),
	// compared exactly.
	Issuer string
	// ClientID is the client id the platform gave Commonshelf (the
	// id_token's aud). Issuer and ClientID together are unique in the file.
	ClientID string
	// DeploymentIDs are the deployments of the tool on the platform that may
	// launch it; never empty.
	DeploymentIDs []string
	// AuthURL is the platform's OIDC authorization endpoint.
	AuthURL string
	// JWKSURL is where the platform publishes its signing keys.
	JWKSURL string
	// CourseClaim is the platform's own course claim when set in the file,
	// else the institution's.
	CourseClaim string
	// FrameOrigins are further origins (scheme://host[:port]) whose pages
	// show the tool in a frame, for platforms whose course pages live on
	// another host than their issuer and authorization endpoint (Canvas:
	// https://north.instructure.com). Nil: none.
	FrameOrigins []string
}

var customClaimPattern = regexp.MustCompile(`^custom\.[A-Za-z0-9_.-]{1,64}$`)

// courseClaims are the fixed course claims; "custom.<name>" is the other
// form.
var courseClaims = []string{"context.label", "context.title", "context.id", "lis.course_offering_sourcedid", "lis.course_section_sourcedid"}

// LTIPlatforms lists every institution's platforms with the institution
// they belong to, in file order.
func (c *Config) LTIPlatforms() []InstitutionPlatform {
	var out []InstitutionPlatform
	for i := range c.Institutions {
		for _, pl := range c.Institutions[i].LTI.Platforms {
			out = append(out, InstitutionPlatform{Institution: c.Institutions[i].ID, LTIPlatform: pl})
		}
	}
	return out
}

// InstitutionPlatform is a platform and the institution that registered it.
type InstitutionPlatform struct {
	Institution string
	LTIPlatform
}

func (p *parser) courseClaim(n *yaml.Node, path string) (string, bool) {
	s, ok := p.str(n, path)
	if !ok {
		return "", false
	}
	if !slices.Contains(courseClaims, s) && !customClaimPattern.MatchString(s) {
		p.add(resolve(n), path, "%q is not a course claim (expected one of %s, or custom.<name> such as custom.lis_course_code)", s, strings.Join(courseClaims, ", "))
		return "", false
	}
	return s, true
}

// lti reads an institution's lti block.
func (p *parser) lti(n *yaml.Node, path string, l *LTI) {
	l.CourseClaim = DefaultCourseClaim
	m, ok := p.mapping(n, path, "course_claim", "platforms")
	if !ok {
		return
	}
	if cn := m.get("course_claim"); present(cn) {
		if s, ok := p.courseClaim(cn, join(path, "course_claim")); ok {
			l.CourseClaim = s
		}
	}
	items, _ := p.list(m.get("platforms"), join(path, "platforms"))
	for i, item := range items {
		ip := index(join(path, "platforms"), i)
		pm, ok := p.mapping(item, ip, "name", "issuer", "client_id", "deployment_ids", "auth_url", "jwks_url", "course_claim", "frame_origins")
		if !ok {
			continue
		}
		if isNull(resolve(item)) {
			p.add(resolve(item), ip, "an empty platform; each needs issuer, client_id, deployment_ids, auth_url and jwks_url")
			continue
		}
		pl := LTIPlatform{CourseClaim: l.CourseClaim}
		var okI, okC bool
		pl.Issuer, _, okI = p.required(pm, "issuer", ip)
		pl.ClientID, _, okC = p.required(pm, "client_id", ip)
		ok = okI && okC
		if ok {
			key := pl.Issuer + "\x00" + pl.ClientID
			if line, dup := p.ltiOwner[key]; dup {
				p.add(resolve(pm.get("client_id")), join(ip, "client_id"), "issuer %q with client_id %q is already registered on line %d; each registration must be unique", pl.Issuer, pl.ClientID, line)
				ok = false
			} else {
				p.ltiOwner[key] = resolve(pm.get("client_id")).Line
			}
		}
		pl.Name = pl.Issuer
		if nn := pm.get("name"); present(nn) {
			if s, sok := p.str(nn, join(ip, "name")); sok && strings.TrimSpace(s) != "" {
				pl.Name = s
			}
		}
		for _, u := range []struct {
			key string
			dst *string
		}{{"auth_url", &pl.AuthURL}, {"jwks_url", &pl.JWKSURL}} {
			un := pm.get(u.key)
			if !present(un) {
				p.add(pm.node, join(ip, u.key), "required")
				ok = false
				continue
			}
			v, uok := p.url(un, join(ip, u.key))
			ok = ok && uok
			*u.dst = v
		}
		dn := pm.get("deployment_ids")
		if !present(dn) {
			p.add(pm.node, join(ip, "deployment_ids"), "required: the deployment ids the platform launches with")
			ok = false
		} else {
			ds, _ := p.list(dn, join(ip, "deployment_ids"))
			for j, d := range ds {
				dp := index(join(ip, "deployment_ids"), j)
				s, sok := p.str(d, dp)
				switch {
				case !sok:
					ok = false
				case strings.TrimSpace(s) == "":
					p.add(resolve(d), dp, "must not be blank")
					ok = false
				case slices.Contains(pl.DeploymentIDs, s):
					p.add(resolve(d), dp, "deployment id %q is repeated", s)
					ok = false
				default:
					pl.DeploymentIDs = append(pl.DeploymentIDs, s)
				}
			}
			if len(ds) == 0 {
				p.add(resolve(dn), join(ip, "deployment_ids"), "must list at least one deployment id")
				ok = false
			}
		}
		if cn := pm.get("course_claim"); present(cn) {
			s, cok := p.courseClaim(cn, join(ip, "course_claim"))
			ok = ok && cok
			pl.CourseClaim = s
		}
		fos, _ := p.list(pm.get("frame_origins"), join(ip, "frame_origins"))
		for j, fo := range fos {
			fp := index(join(ip, "frame_origins"), j)
			v, sok := p.str(fo, fp)
			u, err := url.Parse(v)
			switch {
			case !sok:
				ok = false
			case err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "":
				p.add(resolve(fo), fp, "%q is not an origin like https://north.instructure.com", v)
				ok = false
			default:
				pl.FrameOrigins = append(pl.FrameOrigins, u.Scheme+"://"+u.Host)
			}
		}
		if ok {
			l.Platforms = append(l.Platforms, pl)
		}
	}
}
