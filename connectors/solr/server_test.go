package solr

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

// lnode is a parsed Lucene-syntax query: an operator with children, or a
// leaf (a word, a phrase, a range) with its field ("" for keywords).
type lnode struct {
	op     string // "AND", "OR", "NOT" or "" for a leaf
	kids   []*lnode
	field  string
	text   string // unescaped
	phrase bool
	lo, hi string // range ends
	isRng  bool
}

// parseLucene parses the subset of Solr's standard syntax the connector
// writes, strictly: an unescaped special character where a word is
// expected is an error, so a test sees any user text that changed the
// structure.
func parseLucene(s string) (*lnode, error) {
	p := &lparser{s: []rune(s)}
	n, err := p.or("")
	if err != nil {
		return nil, err
	}
	p.space()
	if p.i != len(p.s) {
		return nil, fmt.Errorf("column %d: unexpected %q", p.i+1, string(p.s[p.i:]))
	}
	return n, nil
}

type lparser struct {
	s []rune
	i int
}

func (p *lparser) space() {
	for p.i < len(p.s) && p.s[p.i] == ' ' {
		p.i++
	}
}

func (p *lparser) keyword(k string) bool {
	p.space()
	end := p.i + len(k)
	if end > len(p.s) || string(p.s[p.i:end]) != k || (end < len(p.s) && p.s[end] != ' ') {
		return false
	}
	p.i = end
	return true
}

func (p *lparser) or(field string) (*lnode, error) {
	n, err := p.and(field)
	if err != nil {
		return nil, err
	}
	kids := []*lnode{n}
	for p.keyword("OR") {
		m, err := p.and(field)
		if err != nil {
			return nil, err
		}
		kids = append(kids, m)
	}
	if len(kids) == 1 {
		return n, nil
	}
	return &lnode{op: "OR", kids: kids}, nil
}

func (p *lparser) and(field string) (*lnode, error) {
	n, err := p.unary(field)
	if err != nil {
		return nil, err
	}
	kids := []*lnode{n}
	for p.keyword("AND") {
		m, err := p.unary(field)
		if err != nil {
			return nil, err
		}
		kids = append(kids, m)
	}
	if len(kids) == 1 {
		return n, nil
	}
	return &lnode{op: "AND", kids: kids}, nil
}

func (p *lparser) unary(field string) (*lnode, error) {
	if p.keyword("NOT") {
		n, err := p.unary(field)
		if err != nil {
			return nil, err
		}
		return &lnode{op: "NOT", kids: []*lnode{n}}, nil
	}
	return p.primary(field)
}

func (p *lparser) primary(field string) (*lnode, error) {
	p.space()
	if p.i >= len(p.s) {
		return nil, fmt.Errorf("unexpected end")
	}
	switch c := p.s[p.i]; c {
	case '(':
		p.i++
		n, err := p.or(field)
		if err != nil {
			return nil, err
		}
		p.space()
		if p.i >= len(p.s) || p.s[p.i] != ')' {
			return nil, fmt.Errorf("column %d: ( not closed", p.i+1)
		}
		p.i++
		return n, nil
	case '"':
		p.i++
		var sb strings.Builder
		for p.i < len(p.s) && p.s[p.i] != '"' {
			if p.s[p.i] == '\\' && p.i+1 < len(p.s) {
				p.i++
			}
			sb.WriteRune(p.s[p.i])
			p.i++
		}
		if p.i >= len(p.s) {
			return nil, fmt.Errorf("phrase not closed")
		}
		p.i++
		return &lnode{field: field, text: sb.String(), phrase: true}, nil
	case '[':
		if field == "" {
			return nil, fmt.Errorf("a range needs a field")
		}
		p.i++
		rest := string(p.s[p.i:])
		end := strings.IndexByte(rest, ']')
		lo, hi, ok := strings.Cut(rest[:max(end, 0)], " TO ")
		if end < 0 || !ok {
			return nil, fmt.Errorf("bad range")
		}
		p.i += len([]rune(rest[:end])) + 1
		return &lnode{field: field, lo: lo, hi: hi, isRng: true}, nil
	case ')', ']', '{', '}', '^', '~', '*', '?', ':', '+', '-', '!', '&', '|', '/', ';':
		return nil, fmt.Errorf("column %d: unescaped %q where a word is expected", p.i+1, c)
	}
	var sb strings.Builder
	for p.i < len(p.s) {
		c := p.s[p.i]
		if c == '\\' && p.i+1 < len(p.s) {
			sb.WriteRune(p.s[p.i+1])
			p.i += 2
			continue
		}
		if c == ' ' || c == '(' || c == ')' || c == ']' {
			break
		}
		if c == ':' {
			if field != "" {
				return nil, fmt.Errorf("column %d: a field inside a field", p.i+1)
			}
			p.i++
			return p.primary(sb.String())
		}
		if strings.ContainsRune(`"[{}^~*?+-!&|/;`, c) {
			return nil, fmt.Errorf("column %d: unescaped %q in a word", p.i+1, c)
		}
		sb.WriteRune(c)
		p.i++
	}
	w := sb.String()
	switch w {
	case "AND", "OR", "NOT", "TO", "":
		return nil, fmt.Errorf("column %d: operator %q where a word is expected", p.i+1, w)
	}
	return &lnode{field: field, text: w}, nil
}

// fakeDoc is a VuFind-like record of the fake Solr.
type fakeDoc map[string]any

func (d fakeDoc) values(field string) []string {
	switch v := d[field].(type) {
	case string:
		return []string{v}
	case []string:
		return v
	case int:
		return []string{strconv.Itoa(v)}
	}
	return nil
}

// match evaluates n against d; keywords search qf's fields.
func (n *lnode) match(d fakeDoc, qf []string) bool {
	switch n.op {
	case "AND":
		for _, k := range n.kids {
			if !k.match(d, qf) {
				return false
			}
		}
		return true
	case "OR":
		for _, k := range n.kids {
			if k.match(d, qf) {
				return true
			}
		}
		return false
	case "NOT":
		return !n.kids[0].match(d, qf)
	}
	fields := qf
	if n.field != "" {
		fields = []string{n.field}
	}
	for _, f := range fields {
		for _, v := range d.values(f) {
			switch {
			case n.isRng:
				y := federate.YearOf(v)
				lo, _ := strconv.Atoi(n.lo)
				hi, err := strconv.Atoi(n.hi)
				if err != nil {
					hi = 9999
				}
				if y != 0 && y >= lo && y <= hi {
					return true
				}
			case f == "isbn":
				a, ok1 := federate.NormalizeISBN(v)
				b, ok2 := federate.NormalizeISBN(n.text)
				if ok1 && ok2 && a == b {
					return true
				}
			case n.phrase:
				if strings.Contains(strings.ToLower(v), strings.ToLower(n.text)) {
					return true
				}
			default:
				for _, w := range strings.FieldsFunc(strings.ToLower(v), func(r rune) bool { return r == ' ' || r == ',' || r == '.' || r == '/' }) {
					if w == strings.ToLower(n.text) {
						return true
					}
				}
			}
		}
	}
	return false
}

// fakeSolr speaks GET {core}/select as VuFind's Solr does: it checks the
// parameters the connector must send, parses q strictly (a syntax error
// is Solr's 400 error body), evaluates it and the fq filters over its
// documents, and pages with start and rows. Mode makes it misbehave.
type fakeSolr struct {
	Docs []fakeDoc
	// Mode: "" answers; "error", "html", "500", "truncated", "wrongtype",
	// "401" misbehave as named.
	Mode string

	mu   sync.Mutex
	seen []string
}

func (f *fakeSolr) start(t testing.TB) *httptest.Server {
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

func (f *fakeSolr) queries() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.seen...)
}

func solrFail(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	b, _ := json.Marshal(map[string]any{
		"responseHeader": map[string]any{"status": code, "QTime": 0},
		"error":          map[string]any{"metadata": []string{"error-class", "org.apache.solr.common.SolrException"}, "msg": msg, "code": code},
	})
	w.Write(b)
}

func (f *fakeSolr) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasSuffix(r.URL.Path, "/select") {
		http.NotFound(w, r)
		return
	}
	p := r.URL.Query()
	f.mu.Lock()
	f.seen = append(f.seen, p.Get("q"))
	f.mu.Unlock()
	switch f.Mode {
	case "html":
		fmt.Fprint(w, "<html><head><title>Error 404 Not Found</title></head><body><h2>HTTP ERROR 404</h2></body></html>")
		return
	case "500":
		solrFail(w, 500, "java.lang.OutOfMemoryError: Java heap space")
		return
	case "401":
		http.Error(w, "Unauthorized", http.StatusUnauthorized)
		return
	case "wrongtype":
		fmt.Fprint(w, `{"responseHeader":{"status":0},"response":{"numFound":1,"docs":"oops"}}`)
		return
	case "error":
		solrFail(w, 400, "org.apache.solr.search.SyntaxError: Cannot parse 'x': undefined field xyz")
		return
	}
	for k, want := range map[string]string{"defType": "edismax", "q.op": "AND", "wt": "json"} {
		if p.Get(k) != want {
			solrFail(w, 400, fmt.Sprintf("%s must be %s, not %q", k, want, p.Get(k)))
			return
		}
	}
	q, err := parseLucene(p.Get("q"))
	if err != nil {
		solrFail(w, 400, "org.apache.solr.search.SyntaxError: "+err.Error())
		return
	}
	var qf []string
	for _, f := range strings.Fields(p.Get("qf")) {
		name, _, _ := strings.Cut(f, "^")
		qf = append(qf, name)
	}
	var fqs []*lnode
	for _, s := range p["fq"] {
		n, err := parseLucene(s)
		if err != nil {
			solrFail(w, 400, "bad fq: "+err.Error())
			return
		}
		fqs = append(fqs, n)
	}
	var hits []fakeDoc
docs:
	for _, d := range f.Docs {
		for _, fq := range fqs {
			if !fq.match(d, qf) {
				continue docs
			}
		}
		if q.match(d, qf) {
			hits = append(hits, d)
		}
	}
	start, _ := strconv.Atoi(p.Get("start"))
	rows, err := strconv.Atoi(p.Get("rows"))
	if err != nil {
		rows = 10
	}
	page := hits[min(start, len(hits)):min(start+rows, len(hits))]
	fl := strings.Split(p.Get("fl"), ",")
	docsOut := make([]map[string]any, 0, len(page))
	for _, d := range page {
		o := map[string]any{}
		for _, name := range fl {
			if v, ok := d[name]; ok {
				o[name] = v
			}
		}
		docsOut = append(docsOut, o)
	}
	body, _ := json.Marshal(map[string]any{
		"responseHeader": map[string]any{"status": 0, "QTime": 1},
		"response":       map[string]any{"numFound": len(hits), "start": start, "numFoundExact": true, "docs": docsOut},
	})
	if f.Mode == "truncated" {
		body = body[:len(body)/2]
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(body)
}
