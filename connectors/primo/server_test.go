package primo

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/commonshelf/commonshelf/federate"
)

// fakeDoc is a catalogue record of the fake Primo.
type fakeDoc struct {
	ID, Title, Creator, Type string
	Year                     int
	ISBN                     []string
	Subjects                 []string
}

// fakePrimo speaks GET /primo/v1/search as documented: it checks vid, tab,
// scope and the API key, parses q into clauses (refusing a malformed one
// with Primo's error body, as the real one does), evaluates them with
// AND/NOT before OR over its documents, applies a qInclude year range, and
// pages with offset and limit. Mode makes it misbehave.
type fakePrimo struct {
	Key        string
	KeyInQuery bool
	Docs       []fakeDoc
	// Mode: "" answers; "error", "html", "500", "401", "truncated",
	// "wrongtype" misbehave as named.
	Mode string

	mu   sync.Mutex
	seen []string // q of every request
}

func (f *fakePrimo) start(t testing.TB) *httptest.Server {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := httptest.NewUnstartedServer(f)
	s.Listener.Close()
	s.Listener = l
	s.Start()
	t.Cleanup(s.Close)
	return s
}

func (f *fakePrimo) queries() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.seen...)
}

func primoError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"errorsExist":true,"errorList":{"error":[{"errorCode":%q,"errorMessage":%q,"trackingId":"E01-TEST"}]},"result":null}`, code, msg)
}

func (f *fakePrimo) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/primo/v1/search" {
		http.NotFound(w, r)
		return
	}
	p := r.URL.Query()
	key := p.Get("apikey")
	if !f.KeyInQuery {
		key = strings.TrimPrefix(r.Header.Get("Authorization"), "apikey ")
	}
	if f.Key != "" && key != f.Key {
		primoError(w, http.StatusBadRequest, "UNAUTHORIZED", "API-key not defined or not configured to allow this API.")
		return
	}
	f.mu.Lock()
	f.seen = append(f.seen, p.Get("q"))
	f.mu.Unlock()
	switch f.Mode {
	case "html":
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, "<!DOCTYPE html><html><head><title>Sign in</title></head><body>Institution login</body></html>")
		return
	case "500":
		http.Error(w, "Internal Server Error", http.StatusInternalServerError)
		return
	case "401":
		http.Error(w, "Unauthorized", http.StatusUnauthorized)
		return
	case "wrongtype":
		fmt.Fprint(w, `{"info":{"total":1},"docs":"oops"}`)
		return
	case "error":
		primoError(w, http.StatusBadRequest, "INVALID_PARAMETER", "Search failed: invalid query")
		return
	}
	for _, need := range []string{"vid", "tab", "scope", "q"} {
		if p.Get(need) == "" {
			primoError(w, http.StatusBadRequest, "MISSING_PARAMETER", "Mandatory parameter missing: "+need)
			return
		}
	}
	match, err := compile(p.Get("q"))
	if err != nil {
		primoError(w, http.StatusBadRequest, "INVALID_PARAMETER", err.Error())
		return
	}
	lo, hi := 0, 9999
	if inc := p.Get("qInclude"); inc != "" {
		if _, err := fmt.Sscanf(strings.TrimPrefix(inc, "facet_searchcreationdate,exact,"), "[%d TO %d]", &lo, &hi); err != nil {
			primoError(w, http.StatusBadRequest, "INVALID_PARAMETER", "bad qInclude "+inc)
			return
		}
	}
	var hits []fakeDoc
	for _, d := range f.Docs {
		if match(d) && d.Year >= lo && d.Year <= hi {
			hits = append(hits, d)
		}
	}
	offset, _ := strconv.Atoi(p.Get("offset"))
	limit, err := strconv.Atoi(p.Get("limit"))
	if err != nil {
		limit = 10
	}
	page := hits[min(offset, len(hits)):min(offset+limit, len(hits))]
	docs := make([]any, 0, len(page))
	for _, d := range page {
		docs = append(docs, map[string]any{
			"context": "L",
			"@id":     "http://" + r.Host + "/primo/v1/pnxs/L/" + d.ID,
			"pnx": map[string]any{
				"display": map[string]any{
					"title": []string{d.Title}, "creator": []string{d.Creator + "$$Q" + d.Creator},
					"creationdate": []string{strconv.Itoa(d.Year)}, "type": []string{d.Type}, "language": []string{"eng"},
					"subject": d.Subjects,
				},
				"control": map[string]any{"recordid": []string{d.ID}, "sourceid": "alma"},
				"addata":  map[string]any{"isbn": d.ISBN, "date": []string{strconv.Itoa(d.Year)}},
			},
		})
	}
	resp := map[string]any{"info": map[string]any{"total": len(hits), "first": offset + 1, "last": offset + len(page)}}
	if len(hits) > 0 {
		resp["docs"] = docs
	}
	body, _ := json.Marshal(resp)
	if f.Mode == "truncated" {
		body = body[:len(body)/2]
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(body)
}

// compile parses q as the documented clause list and returns its matcher.
func compile(q string) (func(fakeDoc) bool, error) {
	type lit struct {
		field, value string
		neg          bool
	}
	var conjs [][]lit
	cur := []lit{}
	neg := false
	clauses := strings.Split(q, ";")
	for i, c := range clauses {
		parts := strings.Split(c, ",")
		if len(parts) != 3 && len(parts) != 4 {
			return nil, fmt.Errorf("clause %q: want field,precision,value[,operator]", c)
		}
		if parts[1] != "contains" && parts[1] != "exact" && parts[1] != "begins_with" {
			return nil, fmt.Errorf("clause %q: unknown precision", c)
		}
		switch parts[0] {
		case "any", "title", "creator", "sub", "isbn", "issn":
		default:
			return nil, fmt.Errorf("clause %q: unknown field", c)
		}
		if strings.Count(parts[2], `"`)%2 != 0 {
			return nil, fmt.Errorf("clause %q: unbalanced quote", c)
		}
		cur = append(cur, lit{parts[0], parts[2], neg})
		neg = false
		op := "AND"
		if len(parts) == 4 {
			op = parts[3]
		}
		if i == len(clauses)-1 {
			break
		}
		switch op {
		case "AND":
		case "NOT":
			neg = true
		case "OR":
			conjs = append(conjs, cur)
			cur = []lit{}
		default:
			return nil, fmt.Errorf("clause %q: unknown operator", c)
		}
	}
	conjs = append(conjs, cur)
	has := func(d fakeDoc, l lit) bool {
		var text string
		switch l.field {
		case "title":
			text = d.Title
		case "creator":
			text = d.Creator
		case "sub":
			text = strings.Join(d.Subjects, " ")
		case "isbn":
			want, ok := federate.NormalizeISBN(l.value)
			for _, i := range d.ISBN {
				if n, nok := federate.NormalizeISBN(i); ok && nok && n == want {
					return true
				}
			}
			return false
		default:
			text = d.Title + " " + d.Creator + " " + strings.Join(d.Subjects, " ")
		}
		text = strings.ToLower(text)
		v := strings.ToLower(l.value)
		if strings.HasPrefix(v, `"`) {
			return strings.Contains(text, strings.Trim(v, `"`))
		}
		for _, w := range strings.Fields(v) {
			if !strings.Contains(text, w) {
				return false
			}
		}
		return true
	}
	return func(d fakeDoc) bool {
		for _, c := range conjs {
			ok := true
			for _, l := range c {
				if has(d, l) == l.neg {
					ok = false
					break
				}
			}
			if ok {
				return true
			}
		}
		return false
	}, nil
}
