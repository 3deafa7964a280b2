package api

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/url"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/commonshelf/commonshelf/api/web"
	"github.com/commonshelf/commonshelf/consortium"
	"github.com/commonshelf/commonshelf/index"
	"github.com/commonshelf/commonshelf/index/files"
	"github.com/valyala/fasthttp"
)

// Error codes of the file endpoints.
const (
	CodeUnsupportedType = "unsupported_type"
	CodeQuotaExceeded   = "quota_exceeded"
	CodeUploadsDisabled = "uploads_disabled"
	CodeTooManyFiles    = "too_many_files"
	CodeUploadCut       = "upload_incomplete"
)

const (
	// multipartSlack is what a multipart body may carry beyond the file's
	// limit: the boundaries, part headers and small form fields.
	multipartSlack = 64 << 10
	// maxFormField caps a multipart form field before the file part.
	maxFormField = 1 << 10
	// uploadTimeout bounds one upload; a client slower than about 40 KB/s
	// for a 50 MB file is cut off.
	uploadTimeout = 20 * time.Minute
)

// fileRoute matches /api/v1/lists/{inst}/{list}/citations/{citation}/files[/{file}].
func fileRoute(rest string) (params []string, ok bool) {
	parts := strings.Split(rest, "/")
	switch {
	case len(parts) == 5 && parts[2] == "citations" && parts[4] == "files":
		params = []string{parts[0], parts[1], parts[3]}
	case len(parts) == 6 && parts[2] == "citations" && parts[4] == "files" && parts[5] != "":
		params = []string{parts[0], parts[1], parts[3], parts[5]}
	default:
		return nil, false
	}
	for _, p := range params {
		if p == "" {
			return nil, false
		}
	}
	return params, true
}

func (s *Server) filesEnabled(ctx *fasthttp.RequestCtx) bool {
	if !s.listsEnabled(ctx) {
		return false
	}
	if !s.lists.FilesEnabled() {
		writeError(ctx, &apiError{Status: fasthttp.StatusNotFound, Code: CodeListsDisabled, Message: "file attachments are not enabled on this server"})
		return false
	}
	return true
}

// uploadParams returns the parameters (institution, list, citation) of an
// upload, a POST to …/citations/{citation}/files; path is the request's
// decoded path, as routing sees it.
func uploadParams(method, path string) ([]string, bool) {
	if method != fasthttp.MethodPost {
		return nil, false
	}
	rest, ok := strings.CutPrefix(path, "/api/v1/lists/")
	if !ok {
		return nil, false
	}
	params, ok := fileRoute(rest)
	return params, ok && len(params) == 3
}

// uploadHeaderReceived runs once a request's headers are read, before any
// of its body. fasthttp reads the first min(8 KiB, Content-Length,
// MaxRequestBodySize) bytes of a body before it calls the handler; an
// upload gets a body size of 1 instead, so that its handler (and
// judgeUpload) runs once the first byte has arrived and refuses an
// upload the headers already rule out while the client has sent next to
// nothing — rather than waiting, up to the read timeout, for 8 KiB that
// a stalled client never sends. The rest of the body is read as a
// stream, capped by the uploader's limit.
func (s *Server) uploadHeaderReceived(h *fasthttp.RequestHeader) fasthttp.RequestConfig {
	if string(h.Method()) != fasthttp.MethodPost {
		return fasthttp.RequestConfig{}
	}
	// The path decoded and normalised as the router will see it.
	u := fasthttp.AcquireURI()
	defer fasthttp.ReleaseURI(u)
	if err := u.Parse(nil, h.RequestURI()); err != nil {
		return fasthttp.RequestConfig{}
	}
	if _, ok := uploadParams(fasthttp.MethodPost, string(u.Path())); ok {
		return fasthttp.RequestConfig{MaxRequestBodySize: 1}
	}
	return fasthttp.RequestConfig{}
}

// expectUpload decides an "Expect: 100-continue" request before its body
// is sent, with judgeUpload, the judgement the upload's handler makes
// first: an upload the headers already refuse (no or a wrong key, a
// student where students may not upload, a declared size over the
// caller's limit…) is answered with its status at once (fasthttp sends it
// without a body and closes the connection) so the client never sends the
// body. Everything else continues.
func (s *Server) expectUpload(ctx *fasthttp.RequestCtx) int {
	params, ok := uploadParams(string(ctx.Method()), string(ctx.Path()))
	if !ok {
		return fasthttp.StatusContinue
	}
	if _, e := s.judgeUpload(ctx, params); e != nil {
		s.log.Info("upload refused before its body", "institution", params[0], "status", e.Status, "code", e.Code,
			"content_length", ctx.Request.Header.ContentLength())
		return e.Status
	}
	return fasthttp.StatusContinue
}

// uploadGrant is what judgeUpload allows an upload: who sends it, as which
// role, and how much.
type uploadGrant struct {
	who principal
	// role is the role whose limit applies: the caller's, or student for
	// those who do not manage the list.
	role string
	eff  consortium.Effective
	// limit is the most the file may hold, in bytes; mb is the same in
	// megabytes, for messages.
	limit int64
	mb    int
	// boundary is a multipart body's boundary; "" for a raw body.
	boundary string
	// declared is the body's Content-Length; -1 when it is chunked or not
	// given.
	declared int64
}

// multipart reports whether the body is a multipart form.
func (g uploadGrant) multipart() bool { return g.boundary != "" }

// slack is what the body may carry beyond the file: the boundaries, part
// headers and small fields of a form.
func (g uploadGrant) slack() int64 {
	if g.multipart() {
		return multipartSlack
	}
	return 0
}

// judgeUpload decides from the request line and headers alone, before any
// of the body is read, whether an upload to params (institution, list,
// citation) may proceed: files are enabled; the caller is signed in (401)
// and acts for the institution (403); the list exists and the caller sees
// it (404); the caller's role may upload there (403); a multipart body
// names its boundary (400); the declared Content-Length does not pass the
// caller's limit (413). It is the one judgement of an upload, made by the
// handler first and by the Expect: 100-continue handler. It writes nothing
// to the response but the WWW-Authenticate header of a 401.
func (s *Server) judgeUpload(ctx *fasthttp.RequestCtx, params []string) (uploadGrant, *apiError) {
	inst, listID, citation := params[0], params[1], params[2]
	switch {
	case s.lists == nil:
		return uploadGrant{}, &apiError{Status: fasthttp.StatusNotFound, Code: CodeListsDisabled, Message: "resource lists are not enabled on this server"}
	case !s.lists.FilesEnabled():
		return uploadGrant{}, &apiError{Status: fasthttp.StatusNotFound, Code: CodeListsDisabled, Message: "file attachments are not enabled on this server"}
	}
	who, aerr := s.member(ctx, inst)
	if aerr != nil {
		return uploadGrant{}, aerr
	}
	l, found, err := s.lists.Get(inst, listID)
	if err != nil {
		s.log.Error("upload file: read list", "institution", inst, "list", listID, "err", err)
		return uploadGrant{}, &apiError{Status: fasthttp.StatusServiceUnavailable, Code: CodeUnavailable, Message: "the list could not be read; try again"}
	}
	if !found || !seesList(who, true, l) {
		return uploadGrant{}, &apiError{Status: fasthttp.StatusNotFound, Code: CodeNotFound, Message: fmt.Sprintf("%s has no list %q with a citation %q", inst, listID, citation)}
	}
	// Those who do not manage the list (students, and instructors of other
	// courses) upload as students do.
	g := uploadGrant{who: who, role: who.Role}
	if !who.manages(l) {
		g.role = consortium.RoleStudent
	}
	g.eff, _ = s.cfg.Effective(inst)
	if g.role == consortium.RoleStudent && !g.eff.StudentUploads() {
		msg := "students may not upload files at " + inst
		if who.staff() {
			msg = "you may attach files only to the lists of your own course"
		}
		return uploadGrant{}, &apiError{Status: fasthttp.StatusForbidden, Code: CodeUploadsDisabled, Message: msg}
	}
	g.mb, g.limit = g.eff.UploadMaxMB(g.role), g.eff.UploadMaxBytes(g.role)
	if g.limit <= 0 { // an unknown role: no upload rather than no limit
		return uploadGrant{}, &apiError{Status: fasthttp.StatusForbidden, Code: CodeUploadsDisabled, Message: "this caller may not upload files"}
	}
	h := &ctx.Request.Header
	if mediaType, mparams, _ := mime.ParseMediaType(string(h.ContentType())); mediaType == "multipart/form-data" {
		if g.boundary = mparams["boundary"]; g.boundary == "" {
			return uploadGrant{}, badParam("Content-Type", "multipart/form-data needs a boundary parameter")
		}
	}
	g.declared = int64(h.ContentLength())
	if g.declared < 0 {
		g.declared = -1
	}
	// Compared without adding to the declared length (rule 21): limit and
	// slack are small, the declared length is the caller's.
	if g.declared > g.limit+g.slack() {
		return uploadGrant{}, s.tooLarge(inst, g, "Content-Length")
	}
	return g, nil
}

// tooLarge is the 413 of a file over the caller's limit.
func (s *Server) tooLarge(inst string, g uploadGrant, field string) *apiError {
	return &apiError{Status: fasthttp.StatusRequestEntityTooLarge, Code: CodeTooLarge, Field: field,
		Message: "the file is larger than the upload limit of " + s.uploadLimitMessage(inst, g.role, g.mb)}
}

// uploadLimitMessage names the limit that applies, e.g. "10 MB for
// students at North University".
func (s *Server) uploadLimitMessage(inst, role string, mb int) string {
	name := inst
	if in, ok := s.cfg.Institution(inst); ok {
		name = in.Name
	}
	who := "instructors"
	if role == consortium.RoleStudent {
		who = "students"
	}
	return fmt.Sprintf("%d MB for %s at %s", mb, who, name)
}

// handleUploadFile: POST /api/v1/lists/{institution}/{list_id}/citations/{citation_id}/files
// — attach a file, sent as multipart/form-data (a "file" part, after any
// "csrf" and "copyright" fields; parts after it are read and dropped) or as
// the raw body with its name in ?filename= or a Content-Disposition header.
// The upload is judged from its headers before its body is read
// (judgeUpload), and stored only once the whole body has arrived: as many
// bytes as its Content-Length declares, a chunked body's last chunk, a
// form's final boundary. A body that ends short is answered 400
// upload_incomplete and leaves nothing stored.
func (s *Server) handleUploadFile(ctx *fasthttp.RequestCtx, params []string) {
	inst, listID, citation := params[0], params[1], params[2]
	// return=page: a form on a gateway page, answered with the page again
	// (or an error page) rather than JSON.
	args := ctx.QueryArgs()
	asPage := string(args.Peek("return")) == "page"
	fail := func(e *apiError) {
		if asPage {
			s.uploadProblemPage(ctx, inst, e)
		} else {
			writeError(ctx, e)
		}
		// The rest of the body is not read: close the connection rather
		// than drain it, after the client has had the answer.
		s.closeAfterAnswer(ctx)
	}
	g, aerr := s.judgeUpload(ctx, params)
	if aerr != nil {
		fail(aerr)
		return
	}
	// The server's read timeout fits a request, not a large file from a
	// slow connection: the upload gets its own.
	if err := ctx.SetReadDeadline(time.Now().Add(uploadTimeout)); err != nil {
		fail(&apiError{Status: fasthttp.StatusServiceUnavailable, Code: CodeUnavailable, Message: "the upload could not be started; try again"})
		return
	}
	// Before the file part a multipart body may carry only small fields;
	// from it on, the file up to its limit.
	body := &uploadBody{r: bodyReader(ctx), max: g.slack(), declared: g.declared}
	if !g.multipart() {
		body.max = g.limit
	}
	name, copyright, csrf := string(args.Peek("filename")), string(args.Peek("copyright")), ""
	var content io.Reader
	if g.multipart() {
		mr := multipart.NewReader(body, g.boundary)
		for content == nil {
			part, err := mr.NextPart()
			if err == io.EOF {
				fail(badParam("file", `the form has no file part: send the file in a part named "file" with a filename`))
				return
			}
			if err != nil {
				fail(s.uploadReadError(formErr(err), inst, g))
				return
			}
			if part.FileName() != "" || part.FormName() == "file" {
				name = part.FileName()
				content = &formFile{part: part, mr: mr, body: body}
				body.max = body.n + g.limit + multipartSlack
				break
			}
			v, err := io.ReadAll(io.LimitReader(part, maxFormField+1))
			if err != nil {
				fail(s.uploadReadError(formErr(err), inst, g))
				return
			}
			if len(v) > maxFormField {
				fail(badParam(part.FormName(), "form field %q is longer than %d bytes", part.FormName(), maxFormField))
				return
			}
			switch part.FormName() {
			case "csrf":
				csrf = string(v)
			case "copyright":
				copyright = string(v)
			}
		}
	} else {
		if cd := string(ctx.Request.Header.Peek("Content-Disposition")); cd != "" && name == "" {
			if _, p, err := mime.ParseMediaType(cd); err == nil {
				name = p["filename"]
			}
		}
		if name == "" {
			fail(badParam("filename", "name the file: ?filename=notes.pdf or a Content-Disposition header, or send multipart/form-data"))
			return
		}
		content = body
	}
	if e := checkCSRF(ctx, g.who, csrf); e != nil {
		fail(e)
		return
	}
	switch {
	case copyright == "" || g.role == consortium.RoleStudent:
		copyright = index.CopyrightPending // a student's upload waits for the library
	case !slices.Contains(index.CopyrightStatuses, copyright):
		fail(badParam("copyright", "%q is not a copyright status (expected one of %s)", copyright, strings.Join(index.CopyrightStatuses, ", ")))
		return
	}
	// The type is decided from the first bytes before anything is stored.
	br := bufio.NewReaderSize(content, files.SniffLen)
	head, err := br.Peek(files.SniffLen)
	if err != nil && err != io.EOF && !errors.Is(err, bufio.ErrBufferFull) {
		fail(s.uploadReadError(err, inst, g))
		return
	}
	t := files.Detect(head, files.CleanName(name))
	if !files.Allowed(t, g.eff.FileTypes()) {
		fail(&apiError{Status: fasthttp.StatusUnsupportedMediaType, Code: CodeUnsupportedType, Field: "file",
			Message: fmt.Sprintf("%s does not accept files of type %s; allowed: %s", inst, t, strings.Join(g.eff.FileTypes(), ", "))})
		return
	}
	actx, cancel := context.WithTimeout(context.Background(), uploadTimeout)
	defer cancel()
	// The name is stored with the extension of the detected type (see
	// files.NameFor); Put detects the same type from it and the same bytes.
	who := g.who
	f := index.File{Name: files.NameFor(name, t), Copyright: copyright, Uploader: index.Uploader{Role: who.Role, Name: who.Name, Subject: who.Subject, Issuer: who.Issuer, Via: who.Via}}
	f, err = s.lists.Attach(actx, inst, listID, citation, f, br, g.limit, g.eff.FileQuotaBytes())
	var qe *index.QuotaError
	switch {
	case err == nil:
	case isBodyError(err):
		fail(s.uploadReadError(err, inst, g))
		return
	case errors.Is(err, index.ErrTooManyFiles):
		fail(&apiError{Status: fasthttp.StatusConflict, Code: CodeTooManyFiles, Field: "file", Message: err.Error() + "; remove one first"})
		return
	case errors.Is(err, index.ErrNoCitation):
		fail(&apiError{Status: fasthttp.StatusNotFound, Code: CodeNotFound, Message: fmt.Sprintf("%s has no list %q with a citation %q", inst, listID, citation)})
		return
	case errors.As(err, &qe):
		fail(&apiError{Status: fasthttp.StatusRequestEntityTooLarge, Code: CodeQuotaExceeded, Field: "file",
			Message: fmt.Sprintf("%s has used %s of its %s file storage; this file needs %s more", inst, humanBytes(qe.Used), humanBytes(qe.Quota), humanBytes(qe.Size))})
		return
	default:
		s.log.Error("upload file", "institution", inst, "list", listID, "citation", citation, "err", err)
		fail(&apiError{Status: fasthttp.StatusServiceUnavailable, Code: CodeUnavailable, Message: "the file could not be stored; try again"})
		return
	}
	if asPage {
		ctx.Redirect("/lists/"+url.PathEscape(inst)+"/"+url.PathEscape(listID)+langQuery(string(args.Peek("lang")))+"#c-"+url.PathEscape(citation), fasthttp.StatusSeeOther)
		return
	}
	ctx.Response.Header.Set("Location", fmt.Sprintf("/api/v1/lists/%s/%s/citations/%s/files/%s",
		url.PathEscape(inst), url.PathEscape(listID), url.PathEscape(citation), f.ID))
	writeJSON(ctx, fasthttp.StatusCreated, f)
}

// A refused upload's connection is held open for up to lingerTime after
// the answer, reading and dropping at most lingerBytes of what the client
// still sends.
const (
	lingerTime  = 500 * time.Millisecond
	lingerBytes = 256 << 10
	// answerTimeout bounds writing the answer to a refused upload.
	answerTimeout = 10 * time.Second
)

// closeAfterAnswer sends the answer already in ctx.Response with
// "Connection: close" and then closes the connection, call it last. Closing
// at once, with the client still sending the body, makes the kernel answer
// the arriving bytes with a reset that can destroy the answer before the
// client reads it (on loopback about every other oversized upload got
// "connection reset" instead of the 413). As net/http does, the
// connection's sending side is shut after the answer and the connection is
// held for a moment, reading (and dropping) a bounded amount, before it is
// closed. fasthttp does not hijack a connection whose answer says
// "Connection: close", so the answer is written here.
func (s *Server) closeAfterAnswer(ctx *fasthttp.RequestCtx) {
	ctx.SetConnectionClose()
	h := &ctx.Response.Header
	h.Set(fasthttp.HeaderDate, string(fasthttp.AppendHTTPDate(nil, time.Now())))
	h.Set(fasthttp.HeaderServer, "commonshelf")
	var answer bytes.Buffer
	if _, err := ctx.Response.WriteTo(&answer); err != nil {
		return // fasthttp writes the answer and closes the connection
	}
	conn := ctx.Conn()
	ctx.HijackSetNoResponse(true)
	ctx.Hijack(func(c net.Conn) {
		// fasthttp runs this on a goroutine of its own, without the
		// handler's recovery: a panic is logged here, and fasthttp closes
		// the connection once this returns.
		defer func() {
			if r := recover(); r != nil {
				s.log.Error("closing a refused upload's connection panicked", "panic", r, "stack", string(debug.Stack()))
			}
		}()
		if err := c.SetWriteDeadline(time.Now().Add(answerTimeout)); err != nil {
			return
		}
		if _, err := c.Write(answer.Bytes()); err != nil {
			return
		}
		if cw, ok := conn.(interface{ CloseWrite() error }); ok {
			_ = cw.CloseWrite()
		}
		deadline := time.Now().Add(lingerTime)
		if err := c.SetReadDeadline(deadline); err != nil {
			return
		}
		if n, _ := io.CopyN(io.Discard, c, lingerBytes); n == lingerBytes {
			// Still sending: let flow control stop the client while it
			// reads the answer.
			time.Sleep(time.Until(deadline))
		}
	})
}

// uploadProblemPage answers a failed upload from a gateway form with an
// error page in the institution's branding.
func (s *Server) uploadProblemPage(ctx *fasthttp.RequestCtx, inst string, e *apiError) {
	p, ok := s.readPage(ctx, inst)
	if !ok {
		p, _ = s.readPage(ctx, "")
	}
	p.form = web.Form{Tab: web.TabLists, Lang: p.form.Lang}
	s.writePage(ctx, e.Status, p.lang, func(b *bytes.Buffer) error { return s.web.r.Problem(b, p.site, p.lang, p.form, e.Message) })
}

// uploadBody is an upload's body as it streams: it fails with a
// files.TooLargeError once more than max bytes have been read (max grows
// when a multipart body reaches its file part), marks every error of the
// client's connection as a *clientBodyError, and — as fasthttp's stream
// ends a fixed-length body with a plain io.EOF when the connection closes
// early — counts what it read against the declared length: a body that
// ends short is a *clientBodyError wrapping io.ErrUnexpectedEOF, never an
// io.EOF (rule 25). Its errors are sticky.
type uploadBody struct {
	r      io.Reader
	n, max int64
	// declared is the Content-Length; -1: chunked or not given (fasthttp
	// reports a chunked body cut short as io.ErrUnexpectedEOF itself).
	declared int64
	err      error
}

func (b *uploadBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if b.n > b.max {
		b.err = &files.TooLargeError{Limit: b.max}
		return 0, b.err
	}
	if rest := b.max - b.n + 1; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := b.r.Read(p)
	b.n += int64(n)
	switch {
	case b.n > b.max:
		err = &files.TooLargeError{Limit: b.max}
	case err == io.EOF && b.declared >= 0 && b.n < b.declared:
		err = &clientBodyError{fmt.Errorf("the body ended after %d of its %d bytes: %w", b.n, b.declared, io.ErrUnexpectedEOF)}
	case err != nil && err != io.EOF:
		err = &clientBodyError{err}
	}
	if err != nil {
		b.err = err
	}
	return n, err
}

// formFile is the file part of a multipart upload. It ends (io.EOF) only
// once the whole form has arrived: after the part, the parts that follow
// it are read and dropped (at most multipartSlack bytes in all) up to the
// final boundary, and the body to its end, so that a form cut anywhere —
// in the file, after it, before its final boundary — fails the read, and
// Put stores nothing. Its errors are typed as formErr makes them.
type formFile struct {
	part *multipart.Part
	mr   *multipart.Reader
	body *uploadBody
	err  error // sticky: the error or io.EOF that ended it
}

func (f *formFile) Read(p []byte) (int, error) {
	if f.err != nil {
		return 0, f.err
	}
	n, err := f.part.Read(p)
	switch {
	case err == io.EOF:
		err = f.finish()
	case err != nil:
		err = formErr(err)
	}
	if err != nil {
		f.err = err
	}
	return n, err
}

// finish reads the rest of the form after the file part: io.EOF if it
// ends as a form must, an error otherwise.
func (f *formFile) finish() error {
	f.body.max = f.body.n + multipartSlack
	for {
		part, err := f.mr.NextPart()
		if err == io.EOF {
			break
		}
		if err == nil {
			_, err = io.Copy(io.Discard, part)
		}
		if errors.Is(err, files.ErrTooLarge) {
			return &formError{fmt.Errorf("more than %d KB follow the file part", multipartSlack>>10)}
		}
		if err != nil {
			return formErr(err)
		}
	}
	// After the final boundary: the body's end, and with it the check of
	// its declared length.
	if _, err := io.Copy(io.Discard, f.body); errors.Is(err, files.ErrTooLarge) {
		return &formError{fmt.Errorf("more than %d KB follow the form", multipartSlack>>10)}
	} else if err != nil {
		return formErr(err)
	}
	return io.EOF
}

// formErr types an error met while reading a multipart body: the body's
// own errors (*clientBodyError, *files.TooLargeError) as they are; a form
// that ends early (io.EOF or io.ErrUnexpectedEOF from mime/multipart: the
// stream ended before a boundary) as a *clientBodyError; anything else (a
// malformed part) as a *formError.
func formErr(err error) error {
	var ce *clientBodyError
	switch {
	case errors.As(err, &ce), errors.Is(err, files.ErrTooLarge):
		return err
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return &clientBodyError{fmt.Errorf("the form ended before its final boundary: %w", io.ErrUnexpectedEOF)}
	}
	return &formError{err}
}

// clientBodyError is the client's connection failing (cut, timed out, or
// ending before the whole body arrived) while it sends a body.
type clientBodyError struct{ err error }

func (e *clientBodyError) Error() string { return "reading the upload: " + e.err.Error() }
func (e *clientBodyError) Unwrap() error { return e.err }

// formError is a multipart body that is not a well-formed form.
type formError struct{ err error }

func (e *formError) Error() string { return "reading the form: " + e.err.Error() }
func (e *formError) Unwrap() error { return e.err }

// isBodyError reports whether err comes from reading the upload's body
// (the client's doing) rather than from storing it.
func isBodyError(err error) bool {
	var ce *clientBodyError
	var fe *formError
	return errors.Is(err, files.ErrTooLarge) || errors.As(err, &ce) || errors.As(err, &fe)
}

// uploadReadError is the answer to an upload whose body could not be read
// to its end: too large (413), not a well-formed form (400), or cut short
// by the client (400 upload_incomplete, logged at INFO: the client's
// doing, not the server's).
func (s *Server) uploadReadError(err error, inst string, g uploadGrant) *apiError {
	var fe *formError
	switch {
	case errors.Is(err, files.ErrTooLarge):
		return s.tooLarge(inst, g, "file")
	case errors.As(err, &fe):
		// The parser's message can quote the body: it is not echoed.
		return badParam("file", "the body is not a well-formed multipart/form-data form")
	}
	s.log.Info("upload cut short by the client", "institution", inst, "err", err)
	return &apiError{Status: fasthttp.StatusBadRequest, Code: CodeUploadCut, Field: "file",
		Message: "the upload ended before the whole file arrived (the connection was cut or too slow); nothing was stored, send it again"}
}

// humanBytes writes a size for people: "512 KB", "3.2 MB".
func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return strconv.FormatFloat(float64(n)/(1<<30), 'f', 1, 64) + " GB"
	case n >= 1<<20:
		return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MB"
	case n >= 1<<10:
		return strconv.FormatInt(n>>10, 10) + " KB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}

// visibleFile reports whether a principal may open a file of list l:
// those who manage the list every file, the person who uploaded it their
// own, the institution's other members only cleared ones, nobody else any.
func visibleFile(p principal, signed bool, l *index.List, f index.File) bool {
	if !signed || p.Inst != l.Institution {
		return false
	}
	return p.manages(l) || p.uploaded(f) || f.Copyright == index.CopyrightCleared
}

// filterFiles keeps in l only the files the principal may open.
func filterFiles(l *index.List, p principal, signed bool) {
	for i := range l.Sections {
		for j := range l.Sections[i].Citations {
			c := &l.Sections[i].Citations[j]
			c.Files = slices.DeleteFunc(c.Files, func(f index.File) bool { return !visibleFile(p, signed, l, f) })
			if len(c.Files) == 0 {
				c.Files = nil
			}
		}
	}
}

// lookupFile finds a file the caller may see, and its list; 404 otherwise
// (whether an uncleared file, or a list the caller may not see, exists is
// not told).
func (s *Server) lookupFile(ctx *fasthttp.RequestCtx, params []string) (index.File, *index.List, principal, bool) {
	inst, listID, citation, fileID := params[0], params[1], params[2], params[3]
	p, signed := s.principal(ctx)
	if !signed {
		writeError(ctx, unauthorized(ctx))
		return index.File{}, nil, p, false
	}
	notFound := &apiError{Status: fasthttp.StatusNotFound, Code: CodeNotFound, Message: fmt.Sprintf("no file %q on citation %q of %s/%s that you may open", fileID, citation, inst, listID)}
	l, found, err := s.lists.Get(inst, listID)
	if err != nil {
		s.writeStoreError(ctx, err)
		return index.File{}, nil, p, false
	}
	if !found || !seesList(p, signed, l) {
		writeError(ctx, notFound)
		return index.File{}, nil, p, false
	}
	f, err := s.lists.File(inst, listID, citation, fileID)
	if err != nil && !errors.Is(err, index.ErrNoFile) {
		s.writeStoreError(ctx, err)
		return index.File{}, nil, p, false
	}
	if err != nil || !visibleFile(p, signed, l, f) {
		writeError(ctx, notFound)
		return index.File{}, nil, p, false
	}
	return f, l, p, true
}

// handleGetFile: GET …/files/{file_id} — the content, with its detected
// type, as an attachment, with range requests.
func (s *Server) handleGetFile(ctx *fasthttp.RequestCtx, params []string) {
	if !s.filesEnabled(ctx) {
		return
	}
	f, _, _, ok := s.lookupFile(ctx, params)
	if !ok {
		return
	}
	etag := `"` + f.SHA256 + `"`
	h := &ctx.Response.Header
	h.Set("ETag", etag)
	h.Set("Cache-Control", "private, max-age=0, must-revalidate")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("Accept-Ranges", "bytes")
	// The name and type are those of the detected content: a record stored
	// before names followed types still downloads under an agreeing
	// name, and nothing is sent as a type a browser renders.
	h.Set("Content-Disposition", contentDisposition(files.NameFor(f.Name, f.Type)))
	if inm := string(ctx.Request.Header.Peek("If-None-Match")); inm != "" && strings.Contains(inm, etag) {
		ctx.SetStatusCode(fasthttp.StatusNotModified)
		return
	}
	c, err := s.lists.OpenFile(f)
	if err != nil {
		s.log.Error("open file content", "sha256", f.SHA256, "err", err)
		writeError(ctx, &apiError{Status: fasthttp.StatusServiceUnavailable, Code: CodeUnavailable, Message: "the file could not be read; try again"})
		return
	}
	// The content is closed here unless the answer's body stream took it
	// (fasthttp closes that once it is sent), also on a panic.
	handedOver := false
	defer func() {
		if !handedOver {
			c.Close()
		}
	}()
	size := c.Size()
	start, end, status := int64(0), size-1, fasthttp.StatusOK
	if rh := string(ctx.Request.Header.Peek("Range")); rh != "" && ifRangeMatches(ctx, etag) {
		var satisfiable bool
		start, end, satisfiable = parseRange(rh, size)
		switch {
		case !satisfiable:
			h.Set("Content-Range", "bytes */"+strconv.FormatInt(size, 10))
			writeError(ctx, &apiError{Status: fasthttp.StatusRequestedRangeNotSatisfiable, Code: CodeInvalidParameter, Field: "Range",
				Message: fmt.Sprintf("the range %q is outside the file's %d bytes", rh, size)})
			return
		case start > 0 || end < size-1:
			status = fasthttp.StatusPartialContent
			h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, end, size))
		}
	}
	if _, err := c.Seek(start, io.SeekStart); err != nil {
		writeError(ctx, &apiError{Status: fasthttp.StatusServiceUnavailable, Code: CodeUnavailable, Message: "the file could not be read; try again"})
		return
	}
	ctx.SetStatusCode(status)
	ctx.SetContentType(files.ServeType(f.Type))
	ctx.SetBodyStream(readCloser{io.LimitReader(c, end-start+1), c}, int(end-start+1))
	handedOver = true
}

type readCloser struct {
	io.Reader
	io.Closer
}

// ifRangeMatches honours If-Range: a range applies only to the version the
// client names.
func ifRangeMatches(ctx *fasthttp.RequestCtx, etag string) bool {
	ir := string(ctx.Request.Header.Peek("If-Range"))
	return ir == "" || ir == etag
}

// parseRange reads a single "bytes=" range of a size-byte file: first and
// last byte (inclusive). A malformed or multi-range header yields the whole
// file (as RFC 9110 allows); a range beyond the end is unsatisfiable.
func parseRange(h string, size int64) (start, end int64, satisfiable bool) {
	spec, ok := strings.CutPrefix(strings.TrimSpace(h), "bytes=")
	if !ok || strings.Contains(spec, ",") {
		return 0, size - 1, true
	}
	first, last, ok := strings.Cut(strings.TrimSpace(spec), "-")
	if !ok {
		return 0, size - 1, true
	}
	if first == "" { // the last n bytes
		n, err := strconv.ParseInt(last, 10, 64)
		if err != nil || n < 0 {
			return 0, size - 1, true
		}
		if n == 0 || size == 0 {
			return 0, 0, false
		}
		return max(0, size-n), size - 1, true
	}
	a, err := strconv.ParseInt(first, 10, 64)
	if err != nil || a < 0 {
		return 0, size - 1, true
	}
	if a >= size {
		return 0, 0, false
	}
	b := size - 1
	if last != "" {
		v, err := strconv.ParseInt(last, 10, 64)
		if err != nil || v < a {
			return 0, size - 1, true
		}
		b = min(v, size-1)
	}
	return a, b, true
}

// contentDisposition is an attachment header carrying the name both as an
// ASCII fallback and in RFC 5987 UTF-8 form.
func contentDisposition(name string) string {
	ascii := make([]byte, 0, len(name))
	for _, r := range name {
		switch {
		case r == '"' || r == '\\' || r < 0x20 || r > 0x7e:
			ascii = append(ascii, '_')
		default:
			ascii = append(ascii, byte(r))
		}
	}
	return fmt.Sprintf(`attachment; filename="%s"; filename*=UTF-8''%s`, ascii, url.PathEscape(name))
}

// handlePatchFile: PATCH …/files/{file_id} with {"copyright": "cleared"} —
// staff of the owning institution set a file's copyright status.
func (s *Server) handlePatchFile(ctx *fasthttp.RequestCtx, params []string) {
	if !s.filesEnabled(ctx) {
		return
	}
	f, l, p, ok := s.lookupFile(ctx, params)
	if !ok {
		return
	}
	if !p.manages(l) {
		writeError(ctx, &apiError{Status: fasthttp.StatusForbidden, Code: CodeForbidden, Message: "only the course's instructors and library staff may change a file's copyright status"})
		return
	}
	if e := checkCSRF(ctx, p, ""); e != nil {
		writeError(ctx, e)
		return
	}
	var body struct {
		Copyright string `json:"copyright"`
	}
	if e := readJSON(ctx, &body); e != nil {
		writeError(ctx, e)
		return
	}
	if !slices.Contains(index.CopyrightStatuses, body.Copyright) {
		writeError(ctx, badParam("copyright", "%q is not a copyright status (expected one of %s)", body.Copyright, strings.Join(index.CopyrightStatuses, ", ")))
		return
	}
	f, err := s.lists.SetCopyright(params[0], params[1], params[2], f.ID, body.Copyright)
	if err != nil {
		s.writeStoreError(ctx, err)
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, f)
}

// handleDeleteFile: DELETE …/files/{file_id} — staff, or the student who
// uploaded it, remove a file from a citation; content no other citation
// uses is deleted.
func (s *Server) handleDeleteFile(ctx *fasthttp.RequestCtx, params []string) {
	if !s.filesEnabled(ctx) {
		return
	}
	f, l, p, ok := s.lookupFile(ctx, params)
	if !ok {
		return
	}
	if !p.manages(l) && !p.uploaded(f) {
		writeError(ctx, &apiError{Status: fasthttp.StatusForbidden, Code: CodeForbidden, Message: "only the course's instructors, library staff and the person who uploaded it may remove a file"})
		return
	}
	if e := checkCSRF(ctx, p, ""); e != nil {
		writeError(ctx, e)
		return
	}
	if err := s.lists.Detach(params[0], params[1], params[2], f.ID); err != nil && !errors.Is(err, index.ErrNoFile) {
		s.writeStoreError(ctx, err)
		return
	}
	ctx.SetStatusCode(fasthttp.StatusNoContent)
}
