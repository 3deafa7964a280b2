package lms

import (
	"bytes"
	"cmp"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/valyala/fasthttp"

	"github.com/commonshelf/commonshelf/lti"
)

// Roles a person may take on the platform.
const (
	roleStudent    = "student"
	roleInstructor = "instructor"
)

// LIS role URIs of the launches.
const (
	roleURIInstructor = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"
	roleURILearner    = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
	roleURIFaculty    = "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Faculty"
	roleURIStudent    = "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Student"
)

// launchHint is the lti_message_hint of a login: what the person chose on
// the platform's page, sealed.
type launchHint struct {
	Institution string        `json:"i"`
	Course      string        `json:"c"`
	Role        string        `json:"r"`
	DeepLinking bool          `json:"d,omitempty"`
	Link        *resourceLink `json:"l,omitempty"` // a deep-linked resource; nil → the course's own link
	Expires     int64         `json:"x"`
}

// resourceLink is a link in a course that deep linking created.
type resourceLink struct {
	ID     string            `json:"id"`
	Title  string            `json:"t,omitempty"`
	Text   string            `json:"tx,omitempty"`
	URL    string            `json:"u,omitempty"` // target_link_uri; "" → the tool's launch URL
	Custom map[string]string `json:"cu,omitempty"`
}

// linkToken is a deep-linked resource link and its course, sealed into the
// buttons that open it.
type linkToken struct {
	Institution string       `json:"i"`
	Course      string       `json:"c"`
	Link        resourceLink `json:"l"`
}

// deepLinkData is the data of a deep-linking request, sealed; the tool
// echoes it in its response, which binds the response to the request.
type deepLinkData struct {
	Institution string `json:"i"`
	Course      string `json:"c"`
	Subject     string `json:"s"`
	Expires     int64  `json:"x"`
}

// user is the fake person of a role in a course: the same one every time.
type user struct {
	sub, name, given, family, email string
}

func userOf(inst, course, role string) user {
	slug := slugify(course)
	if role == roleInstructor {
		return user{sub: "demo-instructor-" + inst + "-" + slug, name: "Iris Instructor", given: "Iris", family: "Instructor",
			email: "iris.instructor." + slug + "@" + inst + ".example.edu"}
	}
	return user{sub: "demo-student-" + inst + "-" + slug, name: "Sam Student", given: "Sam", family: "Student",
		email: "sam.student." + slug + "@" + inst + ".example.edu"}
}

// slugify keeps the lower-case letters and digits of s ("CHEM 101" →
// "chem101").
func slugify(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func (in *Institution) course(code string) (Course, bool) {
	i := slices.IndexFunc(in.Courses, func(c Course) bool { return c.Code == code })
	if i < 0 {
		return Course{}, false
	}
	return in.Courses[i], true
}

// serveLaunch: GET /demo-lms/launch — a course link: ?i=institution&c=course
// (or ?link=, a deep-linked resource) and ?as=student|instructor|setup. The
// browser goes to the tool's login initiation, as from a real platform.
func (p *Platform) serveLaunch(ctx *fasthttp.RequestCtx) {
	q := ctx.QueryArgs()
	as := string(q.Peek("as"))
	h := launchHint{Role: as, Expires: p.now().Add(hintTTL).Unix()}
	switch as {
	case roleStudent, roleInstructor:
	case "setup":
		h.Role, h.DeepLinking = roleInstructor, true
	default:
		p.problem(ctx, fasthttp.StatusBadRequest, "Unknown role", "Open a course link as a student or an instructor, or set it up as an instructor.")
		return
	}
	if sealed := string(q.Peek("link")); sealed != "" {
		var lt linkToken
		if err := p.seal.open(purposeLink, sealed, &lt); err != nil || h.DeepLinking {
			p.problem(ctx, fasthttp.StatusBadRequest, "Unknown link", "This link was not created on this platform (or the platform has restarted since); set up the course link again.")
			return
		}
		h.Institution, h.Course, h.Link = lt.Institution, lt.Course, &lt.Link
	} else {
		h.Institution, h.Course = string(q.Peek("i")), string(q.Peek("c"))
	}
	in := p.byID[h.Institution]
	if in == nil {
		p.problem(ctx, fasthttp.StatusNotFound, "Unknown course", fmt.Sprintf("The platform has no institution %q.", h.Institution))
		return
	}
	if _, ok := in.course(h.Course); !ok {
		p.problem(ctx, fasthttp.StatusNotFound, "Unknown course", fmt.Sprintf("%s has no course %q on the platform.", in.Name, h.Course))
		return
	}
	hint, err := p.seal.seal(purposeHint, h)
	if err != nil {
		p.log.Error("demo lms: seal login hint", "err", err)
		p.problem(ctx, fasthttp.StatusInternalServerError, "Could not start", "The course link could not be started.")
		return
	}
	target := p.tool.launch
	if h.Link != nil && h.Link.URL != "" {
		target = h.Link.URL
	}
	v := url.Values{
		"iss":               {p.ep.Issuer},
		"login_hint":        {userOf(h.Institution, h.Course, h.Role).sub},
		"target_link_uri":   {target},
		"client_id":         {in.ClientID},
		"lti_deployment_id": {in.DeploymentID},
		"lti_message_hint":  {hint},
	}
	p.log.Info("demo lms course link", "institution", in.ID, "course", h.Course, "role", h.Role, "deep_linking", h.DeepLinking, "linked", h.Link != nil)
	ctx.Response.Header.Set("Cache-Control", "no-store")
	ctx.Response.Header.Set("Referrer-Policy", "no-referrer")
	ctx.Response.Header.Set("Location", p.tool.login+"?"+v.Encode())
	ctx.SetStatusCode(fasthttp.StatusFound)
}

// authError is an OIDC error answered to the tool's redirect_uri.
type authError struct {
	code, description string
}

// serveAuth: GET|POST /demo-lms/auth — the OIDC authorization endpoint. A
// request with an unknown client_id or a redirect_uri the client did not
// register gets an error page (nothing may be sent to an unregistered
// address); any other fault is answered to the redirect_uri as an OIDC
// error; a correct request gets a signed id_token, form-posted there with
// the state.
func (p *Platform) serveAuth(ctx *fasthttp.RequestCtx) {
	q, err := readForm(ctx)
	if err != nil {
		p.problem(ctx, fasthttp.StatusBadRequest, "Bad sign-in request", "The sign-in request could not be read: "+err.Error())
		return
	}
	in := p.byCli[q.Get("client_id")]
	if in == nil {
		p.log.Warn("demo lms auth rejected", "reason", "unknown client_id", "client_id", q.Get("client_id"))
		p.problem(ctx, fasthttp.StatusBadRequest, "Bad sign-in request", fmt.Sprintf("client_id %q is not registered on this platform.", q.Get("client_id")))
		return
	}
	redirect := q.Get("redirect_uri")
	if redirect != p.tool.launch {
		p.log.Warn("demo lms auth rejected", "reason", "redirect_uri not registered", "redirect_uri", redirect)
		p.problem(ctx, fasthttp.StatusBadRequest, "Bad sign-in request",
			fmt.Sprintf("redirect_uri %q is not registered for client %s (the registered one is %s).", redirect, in.ClientID, p.tool.launch))
		return
	}
	state := q.Get("state")
	h, aerr := p.checkAuthRequest(in, q)
	if aerr != nil {
		p.log.Warn("demo lms auth rejected", "reason", aerr.description, "error", aerr.code, "client_id", in.ClientID)
		fields := []field{{"error", aerr.code}, {"error_description", aerr.description}}
		if state != "" {
			fields = append(fields, field{"state", state})
		}
		p.autoPost(ctx, redirect, "The sign-in request was refused: "+aerr.description, fields)
		return
	}
	tok, err := jwt.Signed(p.signer).Claims(p.launchClaims(in, h, q.Get("nonce"))).Serialize()
	if err != nil {
		p.log.Error("demo lms: sign id_token", "err", err)
		p.problem(ctx, fasthttp.StatusInternalServerError, "Could not sign in", "The platform could not sign the launch.")
		return
	}
	u := userOf(h.Institution, h.Course, h.Role)
	p.autoPost(ctx, redirect, fmt.Sprintf("Signing in to Commonshelf as %s (%s) in %s…", u.name, h.Role, h.Course),
		[]field{{"id_token", tok}, {"state", state}})
}

// checkAuthRequest checks an authorization request as LTI 1.3 asks of a
// platform, client_id and redirect_uri aside: scope openid, response_type
// id_token, response_mode form_post, prompt none, a nonce and a state, and
// the login and message hints this platform issued.
func (p *Platform) checkAuthRequest(in *Institution, q url.Values) (launchHint, *authError) {
	var h launchHint
	switch {
	case !slices.Contains(strings.Fields(q.Get("scope")), "openid"):
		return h, &authError{"invalid_scope", fmt.Sprintf("scope must include openid, got %q", q.Get("scope"))}
	case q.Get("response_type") != "id_token":
		return h, &authError{"unsupported_response_type", fmt.Sprintf("response_type must be id_token, got %q", q.Get("response_type"))}
	case q.Get("response_mode") != "form_post":
		return h, &authError{"invalid_request", fmt.Sprintf("response_mode must be form_post, got %q", q.Get("response_mode"))}
	case q.Get("prompt") != "none":
		return h, &authError{"invalid_request", fmt.Sprintf("prompt must be none, got %q", q.Get("prompt"))}
	case q.Get("nonce") == "" || len(q.Get("nonce")) > 1024:
		return h, &authError{"invalid_request", "nonce is missing or longer than 1024 characters"}
	case q.Get("state") == "" || len(q.Get("state")) > 4096:
		return h, &authError{"invalid_request", "state is missing or longer than 4096 characters"}
	case q.Get("login_hint") == "":
		return h, &authError{"invalid_request", "login_hint is missing"}
	}
	if err := p.seal.open(purposeHint, q.Get("lti_message_hint"), &h); err != nil {
		return h, &authError{"invalid_request", "lti_message_hint is missing or was not issued by this platform"}
	}
	switch {
	case p.now().After(time.Unix(h.Expires, 0)):
		return h, &authError{"invalid_request", "lti_message_hint has expired; open the course link again"}
	case h.Institution != in.ID:
		return h, &authError{"invalid_request", "lti_message_hint belongs to another client"}
	case q.Get("login_hint") != userOf(h.Institution, h.Course, h.Role).sub:
		return h, &authError{"login_required", "login_hint names another user than the one who opened the link"}
	}
	return h, nil
}

// launchClaims are the id_token of a launch.
func (p *Platform) launchClaims(in *Institution, h launchHint, nonce string) map[string]any {
	now := p.now()
	u := userOf(h.Institution, h.Course, h.Role)
	course, _ := in.course(h.Course)
	roles := []string{roleURILearner, roleURIStudent}
	if h.Role == roleInstructor {
		roles = []string{roleURIInstructor, roleURIFaculty}
	}
	c := map[string]any{
		"iss":                 p.ep.Issuer,
		"aud":                 in.ClientID,
		"azp":                 in.ClientID,
		"sub":                 u.sub,
		"name":                u.name,
		"given_name":          u.given,
		"family_name":         u.family,
		"email":               u.email,
		"iat":                 now.Unix(),
		"exp":                 now.Add(idTokenTTL).Unix(),
		"nonce":               nonce,
		lti.ClaimVersion:      lti.Version,
		lti.ClaimDeploymentID: in.DeploymentID,
		lti.ClaimRoles:        roles,
		lti.ClaimContext: map[string]any{
			"id":    in.ID + "-" + slugify(course.Code),
			"label": course.Code,
			"title": course.Title,
			"type":  []string{"http://purl.imsglobal.org/vocab/lis/v2/course#CourseOffering"},
		},
		lti.ClaimLaunchPresentation: map[string]any{
			"document_target": "window",
			"locale":          in.Locale,
			"return_url":      p.ep.Home + "#" + in.ID,
		},
		"https://purl.imsglobal.org/spec/lti/claim/tool_platform": map[string]any{
			"guid": p.ep.Issuer, "name": "Commonshelf demo learning platform", "product_family_code": "commonshelf-demo-lms", "version": "1",
		},
	}
	if h.DeepLinking {
		data, err := p.seal.seal(purposeData, deepLinkData{Institution: in.ID, Course: course.Code, Subject: u.sub, Expires: now.Add(dataTTL).Unix()})
		if err != nil {
			p.log.Error("demo lms: seal deep-linking data", "err", err) // the tool's response will then be refused
		}
		c[lti.ClaimMessageType] = lti.MessageDeepLinking
		c[lti.ClaimTargetLinkURI] = p.tool.launch
		c[lti.ClaimDeepLinkingSettings] = map[string]any{
			"deep_link_return_url":                 p.ep.DeepLinkReturn,
			"accept_types":                         []string{lti.ContentTypeResourceLink},
			"accept_presentation_document_targets": []string{"iframe", "window"},
			"accept_multiple":                      false,
			"auto_create":                          true,
			"title":                                "Reading list",
			"text":                                 "The resource list of " + course.Code,
			"data":                                 data,
		}
		return c
	}
	link := resourceLink{ID: "course-link-" + in.ID + "-" + slugify(course.Code), Title: "Reading list (Commonshelf)", URL: p.tool.launch}
	if h.Link != nil {
		link = *h.Link
	}
	c[lti.ClaimMessageType] = lti.MessageResourceLink
	c[lti.ClaimTargetLinkURI] = cmp.Or(link.URL, p.tool.launch)
	rl := map[string]any{"id": link.ID}
	if link.Title != "" {
		rl["title"] = link.Title
	}
	if link.Text != "" {
		rl["description"] = link.Text
	}
	c[lti.ClaimResourceLink] = rl
	if len(link.Custom) > 0 {
		c[lti.ClaimCustom] = link.Custom
	}
	return c
}

// readForm reads the query of a GET, or a urlencoded POST body of at most
// maxForm bytes.
func readForm(ctx *fasthttp.RequestCtx) (url.Values, error) {
	if !ctx.IsPost() {
		return url.ParseQuery(string(ctx.URI().QueryString()))
	}
	var r io.Reader = bytes.NewReader(ctx.PostBody())
	if s := ctx.RequestBodyStream(); s != nil {
		r = s
	}
	data, err := io.ReadAll(io.LimitReader(r, maxForm+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxForm {
		return nil, fmt.Errorf("the form is larger than %d KB", maxForm>>10)
	}
	return url.ParseQuery(string(data))
}
