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

// ImportNDJSON stores the lists of institution inst read from r, one JSON
// list per line, in batches of 100 per transaction, streaming: at most one
// batch is held in memory. It returns one result per line; a line marked
// "stored" is durable. fatal is a failure that stopped the import (later
// lines are not reported). progress, if not nil, is told after each batch
// how many lines are done.
func ImportNDJSON(ctx context.Context, store *Store, inst string, r io.Reader, progress func(lines int)) (results []LineResult, fatal error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var batch []*List
	var batchLines []int
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		errs, err := store.PutBatch(ctx, batch)
		for i, line := range batchLines {
			res := &results[line-1]
			switch {
			case i < len(errs) && errs[i] == nil:
				res.Result = "stored"
			case i < len(errs):
				var ve *ValidationError
				if errors.As(errs[i], &ve) {
					res.Result, res.Errors = "invalid", ve.Errors
					res.Message = lineMessage(line, ve.Errors)
				} else {
					res.Result, res.Message = "error", errs[i].Error()
				}
			default:
				res.Result, res.Message = "error", "not written"
			}
		}
		batch, batchLines = batch[:0], batchLines[:0]
		if progress != nil {
			progress(len(results))
		}
		return err
	}
	for lineNo := 1; ; lineNo++ {
		data, err := readLine(br, MaxListBytes)
		if errors.Is(err, io.EOF) && len(data) == 0 {
			break
		}
		if errors.Is(err, errLineTooLong) {
			results = append(results, LineResult{Line: lineNo, Result: "invalid",
				Message: fmt.Sprintf("line %d: a list may be at most %d MB of JSON", lineNo, MaxListBytes>>20)})
			continue
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return results, errors.Join(flush(), fmt.Errorf("read line %d: %w", lineNo, err))
		}
		res := LineResult{Line: lineNo}
		if len(bytes.TrimSpace(data)) == 0 {
			res.Result = "skipped"
			results = append(results, res)
			continue
		}
		l, msg := DecodeList(data)
		switch {
		case msg != "":
			res.Result, res.Message = "invalid", fmt.Sprintf("line %d: %s", lineNo, msg)
		default:
			l.Institution = inst
			res.ID = l.ID
			if fes := l.Validate(); len(fes) > 0 {
				res.Result, res.Errors, res.Message = "invalid", fes, lineMessage(lineNo, fes)
			} else {
				batch = append(batch, l)
				batchLines = append(batchLines, lineNo)
			}
		}
		results = append(results, res)
		if len(batch) >= importBatch {
			if err := flush(); err != nil {
				return results, err
			}
		}
	}
	return results, flush()
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
			return nil, errLineTooLong
		}
		line = append(line, chunk...)
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		return bytes.TrimRight(line, "\r\n"), err
	}
}
