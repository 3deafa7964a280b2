package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/commonshelf/commonshelf/connectors/marc"
	"github.com/commonshelf/commonshelf/consortium"
	"github.com/commonshelf/commonshelf/requests"
	"github.com/valyala/fasthttp"
)

// Error codes of the request endpoints.
const (
	CodeRequestsDisabled    = "requests_disabled"
	CodeKindDisabled        = "kind_disabled"
	CodeInvalidRequest      = "invalid_request"
	CodeIdempotencyConflict = "idempotency_conflict"
	CodeIllegalTransition   = "illegal_transition"
)

// Limits of the request endpoints.
const (
	maxRequestBody     = 64 << 10
	maxIdempotencyKey  = 200
	requestsTimeout    = 30 * time.Second
	defaultRequestPage = 100
	maxRequestPage     = 500
)

// SetRequests enables the request endpoints on store.
func (s *Server) SetRequests(store requests.Store) { s.requests = store }

// requestCaller authenticates the caller of a request endpoint: any key of
// an institution except a student's.
func (s *Server) requestCaller(ctx *fasthttp.RequestCtx) (string, *apiError) {
	if s.requests == nil {
		return "", &apiError{Status: fasthttp.StatusNotFound, Code: CodeRequestsDisabled, Message: "requests are not enabled on this server"}
	}
	inst, role, ok := s.caller(ctx)
	if !ok {
		ctx.Response.Header.Set("WWW-Authenticate", `Bearer realm="commonshelf"`)
		msg := "an API key is required: send Authorization: Bearer <key>"
		if bearer(ctx) != "" {
			msg = "the API key is not valid"
		}
		return "", &apiError{Status: fasthttp.StatusUnauthorized, Code: CodeUnauthorized, Message: msg}
	}
	if role == consortium.RoleStudent {
		return "", &apiError{Status: fasthttp.StatusForbidden, Code: CodeForbidden, Message: "a student key may not make or read requests"}
	}
	return inst, nil
}

// createRequestBody is what POST /api/v1/requests accepts.
type createRequestBody struct {
	Kind           requests.Kind     `json:"kind"`
	Requester      string            `json:"requester,omitempty"`
	Supplier       string            `json:"supplier,omitempty"`
	Source         requests.Source   `json:"source"`
	Metadata       requests.Metadata `json:"metadata"`
	NeededBy       string            `json:"needed_by,omitempty"`
	PickupLocation string            `json:"pickup_location,omitempty"`
	Course         *requests.Course  `json:"course,omitempty"`
}

func requestValidationError(fes []requests.FieldError) *apiError {
	e := &apiError{Status: fasthttp.StatusUnprocessableEntity, Code: CodeInvalidRequest, Details: fes}
	if len(fes) > 0 {
		e.Field, e.Message = fes[0].Field, fes[0].Error()
		if len(fes) > 1 {
			e.Message += fmt.Sprintf(" (and %d more problems)", len(fes)-1)
		}
	}
	return e
}

// readJSON decodes a small JSON body strictly into v.
func readJSON(ctx *fasthttp.RequestCtx, v any) *apiError {
	data, err := io.ReadAll(io.LimitReader(bodyReader(ctx), maxRequestBody+1))
	if err != nil {
		return &apiError{Status: fasthttp.StatusBadRequest, Code: CodeInvalidJSON, Message: "could not read the body: " + err.Error()}
	}
	if len(data) > maxRequestBody {
		return &apiError{Status: fasthttp.StatusRequestEntityTooLarge, Code: CodeTooLarge, Message: fmt.Sprintf("the body may be at most %d KB", maxRequestBody>>10)}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return &apiError{Status: fasthttp.StatusBadRequest, Code: CodeInvalidJSON, Message: "the body is not the expected JSON: " + err.Error()}
	}
	if dec.More() {
		return &apiError{Status: fasthttp.StatusBadRequest, Code: CodeInvalidJSON, Message: "the body holds more than one JSON value"}
	}
	return nil
}

// kindEnabled says why kind may not be used by inst, or "".
func (s *Server) kindDisabled(kind requests.Kind, inst, side string) string {
	if !slices.Contains(s.cfg.RequestKinds(inst), string(kind)) {
		if !slices.Contains(s.cfg.Consortium.Defaults.Requests.Kinds, string(kind)) {
			return fmt.Sprintf("%s requests are not enabled in this consortium (consortium.defaults.requests.kinds)", kind)
		}
		return fmt.Sprintf("%s requests are not enabled for %s (the %s)", kind, inst, side)
	}
	return ""
}

// webhookOf returns inst as a notification target when it has a webhook
// or an ISO 18626 endpoint.
func (s *Server) webhookOf(inst string) []string {
	if in, ok := s.cfg.Institution(inst); ok && (in.Requests.Webhook != nil || in.Requests.ISO18626 != nil) {
		return []string{inst}
	}
	return nil
}

// handleCreateRequest: POST /api/v1/requests.
func (s *Server) handleCreateRequest(ctx *fasthttp.RequestCtx, _ []string) {
	inst, aerr := s.requestCaller(ctx)
	if aerr != nil {
		writeError(ctx, aerr)
		return
	}
	key := string(ctx.Request.Header.Peek("Idempotency-Key"))
	if len(key) > maxIdempotencyKey {
		writeError(ctx, badParam("Idempotency-Key", "the Idempotency-Key header may be at most %d characters", maxIdempotencyKey))
		return
	}
	var body createRequestBody
	if aerr := readJSON(ctx, &body); aerr != nil {
		writeError(ctx, aerr)
		return
	}
	if body.Requester != "" && body.Requester != inst {
		writeError(ctx, &apiError{Status: fasthttp.StatusForbidden, Code: CodeForbidden, Field: "requester",
			Message: fmt.Sprintf("this API key belongs to %s; it may not make requests for %s", inst, body.Requester)})
		return
	}
	body.Requester = inst
	r := &requests.Request{Kind: body.Kind, Requester: inst, Supplier: body.Supplier, Source: body.Source, Metadata: body.Metadata,
		NeededBy: body.NeededBy, PickupLocation: body.PickupLocation, Course: body.Course}
	isMember := func(id string) bool { in, ok := s.cfg.Institution(id); return ok && in.Member != nil }
	if fes := r.Validate(isMember); len(fes) > 0 {
		writeError(ctx, requestValidationError(fes))
		return
	}
	if msg := s.kindDisabled(r.Kind, inst, "requester"); msg != "" {
		writeError(ctx, &apiError{Status: fasthttp.StatusForbidden, Code: CodeKindDisabled, Field: "kind", Message: msg})
		return
	}
	var notify []string
	if r.Kind != requests.KindPurchase {
		if msg := s.kindDisabled(r.Kind, r.Supplier, "supplier"); msg != "" {
			writeError(ctx, &apiError{Status: fasthttp.StatusForbidden, Code: CodeKindDisabled, Field: "supplier", Message: msg})
			return
		}
		notify = s.webhookOf(r.Supplier)
	}
	// The fingerprint covers the request as understood, so that the same
	// request sent with other spacing or key order is still "the same".
	canon, _ := json.Marshal(body)
	wctx, cancel := context.WithTimeout(context.Background(), requestsTimeout)
	defer cancel()
	stored, created, err := s.requests.Create(wctx, r, key, requests.Fingerprint(canon), notify)
	switch {
	case errors.Is(err, requests.ErrIdempotencyConflict):
		writeError(ctx, &apiError{Status: fasthttp.StatusUnprocessableEntity, Code: CodeIdempotencyConflict, Field: "Idempotency-Key",
			Message: "this Idempotency-Key was already used for a different request; use a new key for a new request"})
		return
	case err != nil:
		s.requestStoreError(ctx, err)
		return
	}
	status := fasthttp.StatusOK
	if created {
		status = fasthttp.StatusCreated
		ctx.Response.Header.Set("Location", "/api/v1/requests/"+stored.ID)
	}
	writeJSON(ctx, status, stored)
}

func (s *Server) requestStoreError(ctx *fasthttp.RequestCtx, err error) {
	s.log.Error("request store", "err", err)
	writeError(ctx, &apiError{Status: fasthttp.StatusServiceUnavailable, Code: CodeUnavailable,
		Message: "the request could not be stored; nothing was acknowledged, try again"})
}

// visibleRequest returns request id when the caller is one of its parties;
// anyone else gets the same 404 as for a request that does not exist.
func (s *Server) visibleRequest(ctx *fasthttp.RequestCtx, id string) (*requests.Request, requests.Party, string, bool) {
	inst, aerr := s.requestCaller(ctx)
	if aerr != nil {
		writeError(ctx, aerr)
		return nil, "", "", false
	}
	r, err := s.requests.Get(context.Background(), id)
	var party requests.Party
	ok := err == nil
	if ok {
		party, ok = r.Party(inst)
	}
	if !ok {
		if err != nil && !errors.Is(err, requests.ErrNotFound) {
			s.requestStoreError(ctx, err)
			return nil, "", "", false
		}
		writeError(ctx, requestNotFound(id))
		return nil, "", "", false
	}
	return r, party, inst, true
}

func requestNotFound(id string) *apiError {
	return &apiError{Status: fasthttp.StatusNotFound, Code: CodeNotFound, Message: fmt.Sprintf("no request %q that this key may see", id)}
}

// handleGetRequest: GET /api/v1/requests/{id}.
func (s *Server) handleGetRequest(ctx *fasthttp.RequestCtx, p []string) {
	if r, _, _, ok := s.visibleRequest(ctx, p[0]); ok {
		writeJSON(ctx, fasthttp.StatusOK, r)
	}
}

var listRequestParams = map[string]bool{"status": true, "role": true, "institution": true, "limit": true}

// handleListRequests: GET /api/v1/requests?status=&role=requester|supplier.
func (s *Server) handleListRequests(ctx *fasthttp.RequestCtx, _ []string) {
	inst, aerr := s.requestCaller(ctx)
	if aerr != nil {
		writeError(ctx, aerr)
		return
	}
	args := ctx.QueryArgs()
	var bad *apiError
	for k := range args.All() {
		if !listRequestParams[string(k)] && bad == nil {
			bad = &apiError{Status: fasthttp.StatusBadRequest, Code: CodeUnknownParameter, Field: string(k),
				Message: fmt.Sprintf("unknown parameter %q (expected status, role, institution, limit)", k)}
		}
	}
	if bad != nil {
		writeError(ctx, bad)
		return
	}
	if in := string(args.Peek("institution")); in != "" && in != inst {
		writeError(ctx, &apiError{Status: fasthttp.StatusForbidden, Code: CodeForbidden, Field: "institution",
			Message: fmt.Sprintf("this API key belongs to %s; it may not list the requests of %s", inst, in)})
		return
	}
	party := requests.Requester
	switch role := string(args.Peek("role")); role {
	case "", "requester":
	case "supplier":
		party = requests.Supplier
	default:
		writeError(ctx, badParam("role", "%q is not requester or supplier", role))
		return
	}
	status := requests.Status(args.Peek("status"))
	if status != "" && !requests.KnownStatus(status) {
		writeError(ctx, badParam("status", "%q is not a request status", status))
		return
	}
	limit, aerr := intArg(args, "limit", 1, maxRequestPage, defaultRequestPage)
	if aerr != nil {
		writeError(ctx, aerr)
		return
	}
	rs, err := s.requests.List(context.Background(), inst, party, status, limit)
	if err != nil {
		s.requestStoreError(ctx, err)
		return
	}
	if rs == nil {
		rs = []*requests.Request{}
	}
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{"institution": inst, "role": party, "requests": rs})
}

// errNotParty makes Update report a request the caller may not see.
var errNotParty = errors.New("not a party")

// handleTransition: POST /api/v1/requests/{id}/transitions.
func (s *Server) handleTransition(ctx *fasthttp.RequestCtx, p []string) {
	id := p[0]
	inst, aerr := s.requestCaller(ctx)
	if aerr != nil {
		writeError(ctx, aerr)
		return
	}
	var body struct {
		To   requests.Status `json:"to"`
		Note string          `json:"note,omitempty"`
	}
	if aerr := readJSON(ctx, &body); aerr != nil {
		writeError(ctx, aerr)
		return
	}
	if body.To == "" {
		writeError(ctx, requestValidationError([]requests.FieldError{{Field: "to", Message: "required: the status to move to"}}))
		return
	}
	if len(body.Note) > 2000 {
		writeError(ctx, requestValidationError([]requests.FieldError{{Field: "note", Message: "at most 2000 bytes"}}))
		return
	}
	wctx, cancel := context.WithTimeout(context.Background(), requestsTimeout)
	defer cancel()
	r, err := s.requests.Update(wctx, id, func(r *requests.Request) ([]string, error) {
		party, ok := r.Party(inst)
		if !ok {
			return nil, errNotParty
		}
		if err := r.Transition(party, inst, body.To, body.Note, time.Now().UTC()); err != nil {
			return nil, err
		}
		if party == requests.Requester {
			if r.Supplier == "" {
				return nil, nil
			}
			return s.webhookOf(r.Supplier), nil
		}
		return s.webhookOf(r.Requester), nil
	})
	var te *requests.TransitionError
	switch {
	case errors.Is(err, requests.ErrNotFound) || errors.Is(err, errNotParty):
		writeError(ctx, requestNotFound(id))
	case errors.As(err, &te):
		allowed := te.Allowed
		if allowed == nil {
			allowed = []requests.Status{}
		}
		writeError(ctx, &apiError{Status: fasthttp.StatusConflict, Code: CodeIllegalTransition, Field: "to", Message: te.Error(),
			Details: map[string]any{"from": te.From, "to": te.To, "role": te.Party, "allowed": allowed}})
	case err != nil:
		s.requestStoreError(ctx, err)
	default:
		writeJSON(ctx, fasthttp.StatusOK, r)
	}
}

// handleRequestMARCXML: GET /api/v1/requests/{id}/marcxml — a purchase
// suggestion's snapshot as a MARCXML collection of one record, for the
// requester's acquisitions system.
func (s *Server) handleRequestMARCXML(ctx *fasthttp.RequestCtx, p []string) {
	r, _, _, ok := s.visibleRequest(ctx, p[0])
	if !ok {
		return
	}
	if r.Kind != requests.KindPurchase {
		writeError(ctx, &apiError{Status: fasthttp.StatusConflict, Code: CodeInvalidRequest,
			Message: fmt.Sprintf("request %s is a %s request; MARCXML export is for purchase suggestions", r.ID, r.Kind)})
		return
	}
	var out bytes.Buffer
	w := marc.NewXMLWriter(&out)
	if err := w.Write(requests.MARC(r)); err != nil {
		writeError(ctx, &apiError{Status: fasthttp.StatusInternalServerError, Code: CodeInternal, Message: "could not write the record: " + err.Error()})
		return
	}
	if err := w.Close(); err != nil {
		writeError(ctx, &apiError{Status: fasthttp.StatusInternalServerError, Code: CodeInternal, Message: "could not write the record: " + err.Error()})
		return
	}
	ctx.SetStatusCode(fasthttp.StatusOK)
	ctx.SetContentType("application/marcxml+xml; charset=utf-8")
	ctx.Response.Header.Set("Content-Disposition", `attachment; filename="`+strings.ReplaceAll(r.ID, `"`, "")+`.xml"`)
	ctx.SetBody(out.Bytes())
}
