package index

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// LineResult is one line's outcome of an NDJSON import.
type LineResult struct {
	Line int    `json:"line"`
	ID   string `json:"id,omitempty"`
	// Result is "stored" (durable), "invalid" (not stored: see Message and
	// Errors), "skipped" (a blank line) or "error" (not stored: the store
	// failed).
	Result  string       `json:"result"`
	Message string       `json:"message,omitempty"`
	Errors  []FieldError `json:"errors,omitempty"`
}

// importBatch is how many lines are committed in one transaction.
const importBatch = 100

// ImportSummary counts the lines of an NDJSON import by result.
type ImportSummary struct {
	Lines   int `json:"lines"`
	Stored  int `json:"stored,omitempty"`
	Invalid int `json:"invalid,omitempty"`
	Skipped int `json:"skipped,omitempty"`
	Error   int `json:"error,omitempty"`
}

func (s *ImportSummary) count(r LineResult) {
	s.Lines++
	switch r.Result {
	case "stored":
		s.Stored++
	case "invalid":
		s.Invalid++
	case "skipped":
		s.Skipped++
	default:
		s.Error++
	}
}

// ImportNDJSON stores the lists of institution inst read from r, one JSON
// list per line, in batches of 100 per transaction, streaming: at most one
// batch of lists and its lines' results are held in memory, whatever the
// input's length. Each line's result is handed to emit, in line order, as
// soon as it is final: a line reported "stored" is durable by then. An
// error from emit (the client went away) stops the import. fatal is a
// failure that stopped it (later lines are not reported); the summary
// counts the lines reported.
func ImportNDJSON(ctx context.Context, store *Store, inst string, r io.Reader, emit func(LineResult) error) (sum ImportSummary, fatal error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var (
		batch []*List
		// pending are the results of the lines since the last flush, in
		// order; batchAt[i] is the index in pending of batch[i]'s line.
		pending []LineResult
		batchAt []int
	)
	flush := func() error {
		var err error
		if len(batch) > 0 {
			var errs []error
			errs, err = store.PutBatch(ctx, batch)
			for i, at := range batchAt {
				res := &pending[at]
				switch {
				case i < len(errs) && errs[i] == nil:
					res.Result = "stored"
				case i < len(errs):
					var ve *ValidationError
					if errors.As(errs[i], &ve) {
						res.Result, res.Errors = "invalid", ve.Errors
						res.Message = lineMessage(res.Line, ve.Errors)
					} else {
						res.Result, res.Message = "error", errs[i].Error()
					}
				default:
					res.Result, res.Message = "error", "not written"
				}
			}
		}
		for _, res := range pending {
			sum.count(res)
			if eerr := emit(res); eerr != nil {
				return errors.Join(err, fmt.Errorf("report line %d: %w", res.Line, eerr))
			}
		}
		clear(batch) // let the stored lists go
		batch, batchAt, pending = batch[:0], batchAt[:0], pending[:0]
		return err
	}
	for lineNo := 1; ; lineNo++ {
		data, err := readLine(br, MaxListBytes)
		if errors.Is(err, io.EOF) && len(data) == 0 {
			break
		}
		if errors.Is(err, errLineTooLong) {
			pending = append(pending, LineResult{Line: lineNo, Result: "invalid",
				Message: fmt.Sprintf("line %d: a list may be at most %d MB of JSON", lineNo, MaxListBytes>>20)})
		} else if err != nil && !errors.Is(err, io.EOF) {
			return sum, errors.Join(flush(), fmt.Errorf("read line %d: %w", lineNo, err))
		} else {
			pending = append(pending, importLine(inst, lineNo, data, func(l *List) {
				batch = append(batch, l)
				batchAt = append(batchAt, len(pending))
			}))
		}
		// A batch is committed at 100 lists, or sooner when 100 lines
		// wait for it: what is held never grows with the input.
		if len(pending) >= importBatch {
			if err := flush(); err != nil {
				return sum, err
			}
		}
	}
	return sum, flush()
}

// importLine reads one line: its result, final unless the line holds a
// valid list, which is handed to add (its result is set when stored).
func importLine(inst string, lineNo int, data []byte, add func(*List)) LineResult {
	res := LineResult{Line: lineNo}
	if len(bytes.TrimSpace(data)) == 0 {
		res.Result = "skipped"
		return res
	}
	l, msg := DecodeList(data)
	if msg != "" {
		res.Result, res.Message = "invalid", fmt.Sprintf("line %d: %s", lineNo, msg)
		return res
	}
	l.Institution = inst
	res.ID = l.ID
	if fes := l.Validate(); len(fes) > 0 {
		res.Result, res.Errors, res.Message = "invalid", fes, lineMessage(lineNo, fes)
		return res
	}
	add(l)
	return res
}

func lineMessage(line int, fes []FieldError) string {
	if len(fes) == 0 {
		return fmt.Sprintf("line %d: invalid list", line)
	}
	msg := fmt.Sprintf("line %d: %s: %s", line, fes[0].Field, fes[0].Message)
	if len(fes) > 1 {
		msg += fmt.Sprintf(" (and %d more problems)", len(fes)-1)
	}
	return msg
}

// DecodeList reads one list from JSON, refusing unknown fields so that a
// misspelt field is an error rather than silently lost. The message says
// what is wrong for a person ("" when the list was read).
func DecodeList(data []byte) (*List, string) {
	if !utf8.Valid(data) {
		return nil, "the list is not valid UTF-8"
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var l List
	if err := dec.Decode(&l); err != nil {
		return nil, "the list is not valid JSON: " + jsonProblem(err)
	}
	if dec.More() {
		return nil, "more than one JSON value where one list was expected"
	}
	return &l, ""
}

// jsonProblem phrases a decoding error for a person.
func jsonProblem(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		kind := "a " + te.Type.Kind().String()
		switch te.Type.Kind().String() {
		case "slice":
			kind = "a list"
		case "struct", "map":
			kind = "an object"
		case "int", "int64":
			kind = "a whole number"
		}
		return fmt.Sprintf("%s must be %s, not %s", te.Field, kind, te.Value)
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("%s at byte %d", se.Error(), se.Offset)
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

var errLineTooLong = errors.New("line too long")

// readLine reads one line of at most max bytes (the rest of a longer line
// is skipped and errLineTooLong returned).
func readLine(br *bufio.Reader, max int) ([]byte, error) {
	var line []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if len(line)+len(chunk) > max+1 {
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = br.ReadSlice('\n')
			}
			if err != nil && !errors.Is(err, io.EOF) {
				return nil, err // the body failed while the line was skipped
			}
			return nil, errLineTooLong
		}
		line = append(line, chunk...)
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		return bytes.TrimRight(line, "\r\n"), err
	}
}
