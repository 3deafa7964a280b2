package api

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/commonshelf/commonshelf/federate"
	"github.com/valyala/fasthttp"
)

// searchParams are the query parameters GET /api/v1/search accepts.
var searchParams = map[string]bool{
	"q": true, "scope": true, "home": true, "limit": true, "offset": true, "explain": true, "timeout_ms": true,
	"cache": true,
}

// maxLimit is the largest page a caller may ask for; maxOffset the largest
// offset any paged endpoint reads (each checks its own depth too).
const (
	maxLimit  = 100
	maxOffset = 1 << 20
)

// searchResponse is the JSON of a search: the engine's response and the
// query as understood.
type searchResponse struct {
	Query queryEcho `json:"query"`
	*federate.Response
}

type queryEcho struct {
	Raw       string `json:"raw"`
	Canonical string `json:"canonical"`
}

// parseSearch turns the query string into an engine request. Everything
// the handler needs is copied out of the fasthttp context here.
//
// op says what the caller may do as an operator (see Server.operator).
func (s *Server) parseSearch(args *fasthttp.Args, op operatorAccess) (federate.Request, *apiError) {
	var req federate.Request
	var perr *apiError
	filters := map[string][]string{}
	for k, v := range args.All() {
		key, val := string(k), string(v)
		if perr != nil {
			continue
		}
		if !utf8.ValidString(key) || !utf8.ValidString(val) {
			perr = badParam(key, "parameter is not valid UTF-8")
			continue
		}
		if name, ok := strings.CutPrefix(key, "filter."); ok {
			for _, part := range strings.Split(val, ",") {
				if part = strings.TrimSpace(part); part != "" {
					filters[name] = append(filters[name], part)
				}
			}
			continue
		}
		if !searchParams[key] {
			perr = &apiError{Status: fasthttp.StatusBadRequest, Code: CodeUnknownParameter, Field: key,
				Message: fmt.Sprintf("unknown parameter %q; known: q, scope, home, limit, offset, filter.<facet>, explain, timeout_ms, cache", key)}
		}
	}
	if perr != nil {
		return req, perr
	}

	raw := string(args.Peek("q"))
	if strings.TrimSpace(raw) == "" {
		return req, &apiError{Status: fasthttp.StatusBadRequest, Code: CodeInvalidQuery, Field: "q", Message: "q is required: type something to search for"}
	}
	if n := utf8.RuneCountInString(raw); n > federate.MaxQueryLength {
		return req, &apiError{Status: fasthttp.StatusBadRequest, Code: CodeInvalidQuery, Field: "q",
			Message: fmt.Sprintf("q is %d characters long; the limit is %d", n, federate.MaxQueryLength)}
	}
	q, err := federate.ParseQuery(raw)
	if err != nil {
		var qe *federate.QueryError
		if errors.As(err, &qe) {
			return req, &apiError{Status: fasthttp.StatusBadRequest, Code: CodeInvalidQuery, Field: "q", Message: qe.Error(), Position: qe.Pos}
		}
		return req, &apiError{Status: fasthttp.StatusBadRequest, Code: CodeInvalidQuery, Field: "q", Message: err.Error()}
	}
	req.Query = q

	req.Home = string(args.Peek("home"))
	if req.Home != "" {
		if _, ok := s.cfg.Institution(req.Home); !ok {
			return req, &apiError{Status: fasthttp.StatusBadRequest, Code: CodeUnknownInstitution, Field: "home",
				Message: fmt.Sprintf("unknown institution %q", req.Home)}
		}
	}
	switch scope := strings.TrimSpace(string(args.Peek("scope"))); scope {
	case "", "consortium":
	case "home":
		if req.Home == "" {
			return req, badParam("scope", "scope=home needs home=<institution id>")
		}
		if !s.engine.HasMember(req.Home) {
			return req, &apiError{Status: fasthttp.StatusBadRequest, Code: CodeUnknownMember, Field: "scope",
				Message: fmt.Sprintf("institution %q has no catalogue to search", req.Home)}
		}
		req.Members = []string{req.Home}
	default:
		for _, id := range strings.Split(scope, ",") {
			id = strings.TrimSpace(id)
			if id == "" {
				continue
			}
			if !s.engine.HasMember(id) {
				return req, &apiError{Status: fasthttp.StatusBadRequest, Code: CodeUnknownMember, Field: "scope",
					Message: fmt.Sprintf("unknown member %q; known members: %s", id, strings.Join(s.engine.MemberIDs(), ", "))}
			}
			req.Members = append(req.Members, id)
		}
		if len(req.Members) == 0 {
			return req, badParam("scope", "scope names no member")
		}
	}

	eff, _ := s.cfg.Effective(req.Home)
	req.Limit = eff.PageSize()
	var aerr *apiError
	if req.Limit, aerr = intArg(args, "limit", 1, maxLimit, req.Limit); aerr != nil {
		return req, aerr
	}
	// The engine checks offset+limit against its depth; this only keeps
	// the number in range.
	if req.Offset, aerr = intArg(args, "offset", 0, maxOffset, 0); aerr != nil {
		aerr.Message += "; refine the query instead of paging deeper"
		return req, aerr
	}
	if v := args.Peek("explain"); v != nil {
		switch string(v) {
		case "1", "true", "yes":
			req.Explain = true
		case "0", "false", "no", "":
		default:
			return req, badParam("explain", "explain must be 1 or 0")
		}
	}
	req.Timeout = eff.SearchTimeout()
	// A shorter timeout_ms is served alone: never shared or cached partial.
	req.ConfiguredTimeout = req.Timeout
	if args.Has("timeout_ms") {
		// The engine caps the budget far lower; this bound only keeps the
		// product in range.
		n, aerr := intArg(args, "timeout_ms", 1, 24*3600*1000, 0)
		if aerr != nil {
			return req, aerr
		}
		req.Timeout = time.Duration(n) * time.Millisecond
	}
	if v := args.Peek("cache"); v != nil {
		if string(v) != "bypass" {
			return req, badParam("cache", "cache must be bypass (search the members now, even if the answer is cached)")
		}
		// The fresh answer replaces the cached one for everyone, and a
		// stream of bypasses would turn every hot query into a fan-out:
		// operators only.
		if aerr := s.operatorOnly(op, "cache=bypass"); aerr != nil {
			return req, aerr
		}
		req.BypassCache = true
	}
	if len(filters) > 0 {
		req.Filters = filters
	}
	return req, nil
}
