package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/commonshelf/commonshelf/consortium"
	"github.com/commonshelf/commonshelf/index"
	"github.com/valyala/fasthttp"
)

// Error codes of the resource-list endpoints.
const (
	CodeUnauthorized  = "unauthorized"
	CodeForbidden     = "forbidden"
	CodeInvalidList   = "invalid_list"
	CodeInvalidJSON   = "invalid_json"
	CodeTooLarge      = "too_large"
	CodeListsDisabled = "lists_disabled"
	CodeUnavailable   = "unavailable"
)

// listsWriteTimeout bounds one write request's work on the store.
const listsWriteTimeout = 2 * time.Minute

// SetLists enables the resource-list endpoints on store.
func (s *Server) SetLists(store *index.Store) { s.lists = store }

// bearer returns the token of an "Authorization: Bearer …" header.
func bearer(ctx *fasthttp.RequestCtx) string { return bearerOf(&ctx.Request.Header) }

func bearerOf(rh *fasthttp.RequestHeader) string {
	h := string(rh.Peek("Authorization"))
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// caller identifies the institution and role an API key belongs to; ok is
// false without a valid key.
func (s *Server) caller(ctx *fasthttp.RequestCtx) (inst, role string, ok bool) {
	return s.callerOf(&ctx.Request.Header)
}

func (s *Server) callerOf(h *fasthttp.RequestHeader) (inst, role string, ok bool) {
	token := bearerOf(h)
	if token == "" {
		return "", "", false
	}
	for i := range s.cfg.Institutions {
		in := &s.cfg.Institutions[i]
		if r, ok := in.KeyRole(token); ok {
			return in.ID, r, true
		}
	}
	return "", "", false
}

// authorizeWrite checks that the caller may write institution id's lists.
func (s *Server) authorizeWrite(ctx *fasthttp.RequestCtx, id string) *apiError {
	if _, ok := s.cfg.Institution(id); !ok {
		return &apiError{Status: fasthttp.StatusNotFound, Code: CodeUnknownInstitution, Field: "id", Message: fmt.Sprintf("unknown institution %q", id)}
	}
	inst, role, ok := s.caller(ctx)
	if !ok {
		ctx.Response.Header.Set("WWW-Authenticate", `Bearer realm="commonshelf"`)
		msg := "an API key is required: send Authorization: Bearer <key>"
		if bearer(ctx) != "" {
			msg = "the API key is not valid"
		}
		return &apiError{Status: fasthttp.StatusUnauthorized, Code: CodeUnauthorized, Message: msg}
	}
	if inst != id {
		return &apiError{Status: fasthttp.StatusForbidden, Code: CodeForbidden,
			Message: fmt.Sprintf("this API key belongs to %s; it may not change the lists of %s", inst, id)}
	}
	if role == consortium.RoleStudent {
		return &apiError{Status: fasthttp.StatusForbidden, Code: CodeForbidden, Message: "a student key may not change resource lists"}
	}
	return nil
}

func (s *Server) listsEnabled(ctx *fasthttp.RequestCtx) bool {
	if s.lists == nil {
		writeError(ctx, &apiError{Status: fasthttp.StatusNotFound, Code: CodeListsDisabled, Message: "resource lists are not enabled on this server"})
		return false
	}
	return true
}

// bodyReader reads the request body, streamed when the server streams it.
func bodyReader(ctx *fasthttp.RequestCtx) io.Reader {
	if r := ctx.RequestBodyStream(); r != nil {
		return r
	}
	return bytes.NewReader(ctx.PostBody())
}

// decodeList reads one list from JSON (see index.DecodeList).
func decodeList(data []byte) (*index.List, *apiError) {
	l, msg := index.DecodeList(data)
	if msg != "" {
		return nil, &apiError{Status: fasthttp.StatusBadRequest, Code: CodeInvalidJSON, Message: msg}
	}
	return l, nil
}

// validationError is the API error for an invalid list: the first problem
// in field and message, all of them in details.
func validationError(fes []index.FieldError, line int) *apiError {
	e := &apiError{Status: fasthttp.StatusUnprocessableEntity, Code: CodeInvalidList, Details: fes}
	if len(fes) > 0 {
		e.Field, e.Message = fes[0].Field, fes[0].Field+": "+fes[0].Message
		if len(fes) > 1 {
			e.Message += fmt.Sprintf(" (and %d more problems)", len(fes)-1)
		}
	}
	if line > 0 {
		e.Message = fmt.Sprintf("line %d: %s", line, e.Message)
	}
	return e
}

// handlePutList stores a whole list: PUT /api/v1/institutions/{id}/lists/{list_id}.
func (s *Server) handlePutList(ctx *fasthttp.RequestCtx, p []string) {
	if !s.listsEnabled(ctx) {
		return
	}
	inst, listID := p[0], p[1]
	if aerr := s.authorizeWrite(ctx, inst); aerr != nil {
		writeError(ctx, aerr)
		return
	}
	data, err := io.ReadAll(io.LimitReader(bodyReader(ctx), index.MaxListBytes+1))
	if err != nil {
		writeError(ctx, &apiError{Status: fasthttp.StatusBadRequest, Code: CodeInvalidJSON, Message: "could not read the body: " + err.Error()})
		return
	}
	if len(data) > index.MaxListBytes {
		writeError(ctx, &apiError{Status: fasthttp.StatusRequestEntityTooLarge, Code: CodeTooLarge,
			Message: fmt.Sprintf("a list may be at most %d MB of JSON", index.MaxListBytes>>20)})
		return
	}
	l, aerr := decodeList(data)
	if aerr != nil {
		writeError(ctx, aerr)
		return
	}
	if l.ID != "" && l.ID != listID {
		writeError(ctx, &apiError{Status: fasthttp.StatusBadRequest, Code: CodeInvalidList, Field: "id",
			Message: fmt.Sprintf("the body's id %q differs from the URL's %q", l.ID, listID)})
		return
	}
	l.ID, l.Institution = listID, inst
	if fes := l.Validate(); len(fes) > 0 {
		writeError(ctx, validationError(fes, 0))
		return
	}
	wctx, cancel := context.WithTimeout(context.Background(), listsWriteTimeout)
	defer cancel()
	res, err := s.lists.Put(wctx, l)
	if err != nil {
		s.writeStoreError(ctx, err)
		return
	}
	status := fasthttp.StatusOK
	if res.Created {
		status = fasthttp.StatusCreated
	}
	writeJSON(ctx, status, map[string]any{"institution": inst, "id": listID, "created": res.Created, "version": res.Version, "updated": l.Updated})
}

// handleDeleteList: DELETE /api/v1/institutions/{id}/lists/{list_id}.
func (s *Server) handleDeleteList(ctx *fasthttp.RequestCtx, p []string) {
	if !s.listsEnabled(ctx) {
		return
	}
	inst, listID := p[0], p[1]
	if aerr := s.authorizeWrite(ctx, inst); aerr != nil {
		writeError(ctx, aerr)
		return
	}
	wctx, cancel := context.WithTimeout(context.Background(), listsWriteTimeout)
	defer cancel()
	found, err := s.lists.Delete(wctx, inst, listID)
	if err != nil {
		s.writeStoreError(ctx, err)
		return
	}
	if !found {
		writeError(ctx, &apiError{Status: fasthttp.StatusNotFound, Code: CodeNotFound, Message: fmt.Sprintf("%s has no list %q", inst, listID)})
		return
	}
	ctx.SetStatusCode(fasthttp.StatusNoContent)
}

// maxBulkLines is how many lines one lists:bulk request may hold: far
// more lists than an institution has, few enough that the answer's spool
// stays small.
const maxBulkLines = 200_000

// maxBulkDrain is how much of a body past maxBulkLines is read and dropped
// so that the client gets its answer.
const maxBulkDrain = 64 << 20

// handleBulk imports NDJSON, one list per line: POST
// /api/v1/institutions/{id}/lists:bulk. The body is read as a stream, in
// batches of at most 100 lines each committed in one transaction; the
// answer has one result line per input line, in order, then a summary
// line, and is sent once every line has been handled (a "stored" line was
// durable before the answer was sent). Memory stays flat however long the
// body: each result is written to a spool file as soon as it is final, and
// the answer is streamed from that file.
func (s *Server) handleBulk(ctx *fasthttp.RequestCtx, p []string) {
	if !s.listsEnabled(ctx) {
		return
	}
	inst := p[0]
	if aerr := s.authorizeWrite(ctx, inst); aerr != nil {
		writeError(ctx, aerr)
		return
	}
	spool, err := newSpool()
	if err != nil {
		s.log.Error("bulk list import: spool for the answer", "err", err)
		writeError(ctx, &apiError{Status: fasthttp.StatusServiceUnavailable, Code: CodeUnavailable,
			Message: "the import could not start; nothing was stored, try again"})
		return
	}
	handed := false
	defer func() {
		if !handed { // a panic, say: the spool goes with the request
			spool.Close()
		}
	}()
	wctx, cancel := context.WithTimeout(context.Background(), listsWriteTimeout)
	defer cancel()
	w := bufio.NewWriterSize(spool, 64<<10)
	enc := json.NewEncoder(w)
	body := &lineLimitReader{r: bodyReader(ctx), max: maxBulkLines}
	sum, fatal := index.ImportNDJSON(wctx, s.lists, inst, body, func(r index.LineResult) error { return enc.Encode(r) })
	out := map[string]any{"summary": sum}
	if fatal != nil {
		s.log.Warn("bulk list import stopped", "institution", inst, "lines", sum.Lines, "err", fatal)
		out["error"] = fatal.Error()
	}
	if errors.Is(fatal, errTooManyLines) {
		// A client still sending would see its connection reset, and lose
		// the answer, if the rest were left unread: read it away, within
		// reason.
		if n, _ := io.Copy(io.Discard, io.LimitReader(body.r, maxBulkDrain)); n == maxBulkDrain {
			ctx.SetConnectionClose()
		}
	}
	if err := errors.Join(enc.Encode(out), w.Flush()); err != nil {
		// The import itself went as the lines say; only its report is lost.
		s.log.Error("bulk list import: writing the answer", "institution", inst, "lines", sum.Lines, "err", err)
		writeError(ctx, &apiError{Status: fasthttp.StatusServiceUnavailable, Code: CodeUnavailable,
			Message: fmt.Sprintf("%d lines were handled (%d stored) but the answer could not be written; list the institution's lists to see what is stored", sum.Lines, sum.Stored)})
		return
	}
	size, err := spool.Seek(0, io.SeekCurrent)
	if err == nil {
		_, err = spool.Seek(0, io.SeekStart)
	}
	if err != nil {
		s.log.Error("bulk list import: reading the answer back", "err", err)
		writeError(ctx, &apiError{Status: fasthttp.StatusServiceUnavailable, Code: CodeUnavailable,
			Message: fmt.Sprintf("%d lines were handled (%d stored) but the answer could not be read back", sum.Lines, sum.Stored)})
		return
	}
	ctx.SetStatusCode(fasthttp.StatusOK)
	ctx.SetContentType("application/x-ndjson; charset=utf-8")
	ctx.SetBodyStream(spool, int(size)) // fasthttp closes it once sent
	handed = true
}

// newSpool is an anonymous temporary file: removed from the directory at
// once, so that it goes when closed, even after a crash.
func newSpool() (*os.File, error) {
	f, err := os.CreateTemp("", "commonshelf-spool-*")
	if err != nil {
		return nil, err
	}
	if err := os.Remove(f.Name()); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// errTooManyLines ends a bulk body past maxBulkLines.
var errTooManyLines = fmt.Errorf("a bulk request holds at most %d lines; send the rest in another request", maxBulkLines)

// lineLimitReader passes on r's first max lines, then fails with
// errTooManyLines if anything follows them.
type lineLimitReader struct {
	r     io.Reader
	max   int
	lines int
	done  bool // max lines were passed on
	more  bool // and bytes came after them
}

func (l *lineLimitReader) Read(p []byte) (int, error) {
	if l.done {
		if !l.more {
			var one [1]byte
			n, err := l.r.Read(one[:])
			if n == 0 {
				return 0, err
			}
		}
		return 0, errTooManyLines
	}
	n, err := l.r.Read(p)
	for i := 0; i < n; i++ {
		if p[i] == '\n' {
			if l.lines++; l.lines == l.max {
				l.done, l.more = true, i+1 < n
				return i + 1, nil
			}
		}
	}
	return n, err
}

func (s *Server) writeStoreError(ctx *fasthttp.RequestCtx, err error) {
	var ve *index.ValidationError
	if errors.As(err, &ve) {
		writeError(ctx, validationError(ve.Errors, 0))
		return
	}
	s.log.Error("resource list store", "err", err)
	writeError(ctx, &apiError{Status: fasthttp.StatusServiceUnavailable, Code: CodeUnavailable,
		Message: "the resource list could not be stored; nothing was acknowledged, try again"})
}

// listSearchParams are the query parameters GET /api/v1/lists/search accepts.
var listSearchParams = map[string]bool{"q": true, "institution": true, "limit": true, "offset": true}

// handleListSearch: GET /api/v1/lists/search — the gateway's search over
// every member's resource lists.
func (s *Server) handleListSearch(ctx *fasthttp.RequestCtx, _ []string) {
	if !s.listsEnabled(ctx) {
		return
	}
	var q index.ListQuery
	filters := map[string][]string{}
	for k, v := range ctx.QueryArgs().All() {
		key, val := string(k), string(v)
		if !utf8.ValidString(key) || !utf8.ValidString(val) {
			writeError(ctx, badParam(key, "parameter is not valid UTF-8"))
			return
		}
		if name, ok := strings.CutPrefix(key, "filter."); ok {
			for _, part := range strings.Split(val, ",") {
				if part = strings.TrimSpace(part); part != "" {
					filters[name] = append(filters[name], part)
				}
			}
			continue
		}
		if !listSearchParams[key] {
			writeError(ctx, &apiError{Status: fasthttp.StatusBadRequest, Code: CodeUnknownParameter, Field: key,
				Message: fmt.Sprintf("unknown parameter %q; known: q, institution, limit, offset, filter.<facet> (%s)", key, strings.Join(index.FacetNames, ", "))})
			return
		}
	}
	args := ctx.QueryArgs()
	q.Text = string(args.Peek("q"))
	if n := utf8.RuneCountInString(q.Text); n > 1000 {
		writeError(ctx, &apiError{Status: fasthttp.StatusBadRequest, Code: CodeInvalidQuery, Field: "q", Message: fmt.Sprintf("q is %d characters long; the limit is 1000", n)})
		return
	}
	q.Institution = string(args.Peek("institution"))
	if q.Institution != "" {
		if _, ok := s.cfg.Institution(q.Institution); !ok {
			writeError(ctx, &apiError{Status: fasthttp.StatusBadRequest, Code: CodeUnknownInstitution, Field: "institution", Message: fmt.Sprintf("unknown institution %q", q.Institution)})
			return
		}
	}
	var aerr *apiError
	if q.Limit, aerr = intArg(args, "limit", 1, index.MaxLimit, index.DefaultLimit); aerr != nil {
		writeError(ctx, aerr)
		return
	}
	if q.Offset, aerr = intArg(args, "offset", 0, index.MaxWindow-q.Limit, 0); aerr != nil {
		aerr.Message += fmt.Sprintf(" (offset+limit may be at most %d; narrow the search instead)", index.MaxWindow)
		writeError(ctx, aerr)
		return
	}
	if len(filters) > 0 {
		q.Filters = filters
	}
	// A key sees what its holder would see of its own institution: staff
	// its drafts too, a student only what is published.
	if inst, role, ok := s.caller(ctx); ok {
		q.MemberOf = inst
		if role == consortium.RoleAdmin || role == consortium.RoleInstructor {
			q.IncludePrivateOf = inst
		}
	} else if bearer(ctx) != "" {
		writeError(ctx, &apiError{Status: fasthttp.StatusUnauthorized, Code: CodeUnauthorized, Message: "the API key is not valid"})
		return
	}
	// The list index has its own slots (one per core); a search that
	// finds them taken for a second is refused, like a catalogue search
	// past the engine's bound.
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := s.lists.Search(sctx, q)
	if errors.Is(err, index.ErrBusy) {
		writeError(ctx, overloaded(ctx))
		return
	}
	if err != nil {
		var qe *index.QueryError
		if errors.As(err, &qe) {
			field := qe.Param
			if field == "text" {
				field = "q"
			}
			field = strings.Replace(field, "filters.", "filter.", 1)
			writeError(ctx, &apiError{Status: fasthttp.StatusBadRequest, Code: CodeInvalidQuery, Field: field, Message: qe.Message, Position: qe.Pos})
			return
		}
		s.log.Error("list search", "err", err)
		writeError(ctx, &apiError{Status: fasthttp.StatusServiceUnavailable, Code: CodeUnavailable, Message: "the list search failed; try again"})
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, res)
}

// handleGetList: GET /api/v1/lists/{institution}/{list_id} — one whole
// list; drafts and lists not public only with that institution's key.
func (s *Server) handleGetList(ctx *fasthttp.RequestCtx, p []string) {
	if !s.listsEnabled(ctx) {
		return
	}
	inst, id := p[0], p[1]
	l, found, err := s.lists.Get(inst, id)
	if err != nil {
		s.writeStoreError(ctx, err)
		return
	}
	notFound := &apiError{Status: fasthttp.StatusNotFound, Code: CodeNotFound, Message: fmt.Sprintf("%s has no published list %q", inst, id)}
	if !found {
		writeError(ctx, notFound)
		return
	}
	who, signed := s.principal(ctx)
	if !seesList(who, signed, l) {
		writeError(ctx, notFound) // not 403: whether a private list exists is private too
		return
	}
	filterFiles(l, who, signed)
	writeJSON(ctx, fasthttp.StatusOK, l)
}
