package api

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/commonshelf/commonshelf/federate"
	"github.com/valyala/fasthttp"
)

// Error codes of the JSON API. Every error response is
// {"error":{"code","message","field"}} with a 4xx or 5xx status.
const (
	CodeInvalidQuery       = "invalid_query"
	CodeInvalidParameter   = "invalid_parameter"
	CodeUnknownParameter   = "unknown_parameter"
	CodeUnknownMember      = "unknown_member"
	CodeUnknownInstitution = "unknown_institution"
	CodeNotFound           = "not_found"
	CodeMethodNotAllowed   = "method_not_allowed"
	CodeNotReady           = "not_ready"
	CodeOverloaded         = "overloaded"
	CodeInternal           = "internal_error"
)

// apiError is an error the caller sees.
type apiError struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
	// Position is the 1-based character position of a query syntax error.
	Position int `json:"position,omitempty"`
	// Details lists every problem of an invalid resource list.
	Details any `json:"details,omitempty"`
	// allow is the Allow header of a 405.
	allow string
	// authenticate adds the WWW-Authenticate header of a 401.
	authenticate bool
}

func (e *apiError) Error() string { return fmt.Sprintf("%s: %s", e.Code, e.Message) }

func badParam(field, format string, args ...any) *apiError {
	return &apiError{Status: fasthttp.StatusBadRequest, Code: CodeInvalidParameter, Field: field, Message: fmt.Sprintf(format, args...)}
}

// fromEngine maps an engine error to what the caller sees.
func fromEngine(err error) *apiError {
	var re *federate.RequestError
	if errors.As(err, &re) {
		code := CodeInvalidParameter
		if re.Field == "scope" {
			code = CodeUnknownMember
		}
		return &apiError{Status: fasthttp.StatusBadRequest, Code: code, Field: re.Field, Message: re.Message}
	}
	return &apiError{Status: fasthttp.StatusInternalServerError, Code: CodeInternal, Message: "the search failed; the server log has the details"}
}

func writeError(ctx *fasthttp.RequestCtx, e *apiError) {
	if e.allow != "" {
		ctx.Response.Header.Set("Allow", e.allow)
	}
	if e.authenticate {
		ctx.Response.Header.Set("WWW-Authenticate", `Bearer realm="commonshelf"`)
	}
	writeJSON(ctx, e.Status, map[string]*apiError{"error": e})
}

func writeJSON(ctx *fasthttp.RequestCtx, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status = fasthttp.StatusInternalServerError
		body = []byte(`{"error":{"code":"internal_error","message":"could not encode the response"}}`)
	}
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json; charset=utf-8")
	ctx.SetBody(body)
}
