// Package sim runs simulated member catalogues on loopback for load and
// fault scenarios. Each speaks a real discovery protocol — SRU 1.2 with
// MARCXML records, or Primo REST JSON — with real record payloads from the
// demo data, and follows a latency profile, an error profile and a page
// size.
package sim

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/commonshelf/commonshelf/connectors/marc"
)

// Latency is how long a member takes to answer.
type Latency struct {
	// Fixed is added to every answer.
	Fixed time.Duration
	// Median and Sigma, if Median > 0, add a lognormal delay with that
	// median and shape (1.0 gives a long tail: p99 ≈ 10× the median).
	Median time.Duration
	Sigma  float64
	// Stall, when true, makes the member hang until the client gives up.
	Stall bool
}

// Faults are the ways a member fails, each a probability in [0,1].
type Faults struct {
	ServerError float64 // answer 503
	Reset       float64 // close the connection without an answer
	Garbage     float64 // answer 200 with a body that is not the protocol
	Trickle     float64 // send the answer one small chunk every 100ms
}

// Profile describes one simulated member.
type Profile struct {
	Latency Latency
	Faults  Faults
	// Records per page; 0 means the page size asked for.
	Records int
}

// Member is a running simulated member.
type Member struct {
	srv      *http.Server
	ln       net.Listener
	URL      string
	Calls    atomic.Int64
	mu       sync.Mutex
	profile  Profile
	rng      *rand.Rand
	protocol string
	records  []*marc.Record
	// pages memoises rendered pages by protocol window, so that a
	// simulated member costs the machine almost nothing per answer and
	// the CPU goes to the server under test.
	pagesMu sync.Mutex
	pages   map[[2]int][]byte
}

// Protocols a Member can speak.
const (
	SRU   = "sru"
	Primo = "primo"
)

// Start runs a member on a free 127.0.0.1 port, serving records (in
// order, wrapping around) under the given protocol.
func Start(protocol string, records []*marc.Record, p Profile, seed uint64) (*Member, error) {
	if protocol != SRU && protocol != Primo {
		return nil, fmt.Errorf("sim: unknown protocol %q", protocol)
	}
	if len(records) == 0 {
		return nil, fmt.Errorf("sim: no records to serve")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	m := &Member{ln: ln, profile: p, rng: rand.New(rand.NewPCG(seed, seed^0x5eed)), protocol: protocol, records: records}
	m.srv = &http.Server{Handler: http.HandlerFunc(m.serve), ReadHeaderTimeout: 10 * time.Second}
	switch protocol {
	case SRU:
		m.URL = "http://" + ln.Addr().String() + "/sru"
	case Primo:
		m.URL = "http://" + ln.Addr().String()
	}
	go m.srv.Serve(ln)
	return m, nil
}

// SetProfile changes the member's behaviour from the next request on
// (e.g. a stalled member comes back).
func (m *Member) SetProfile(p Profile) {
	m.mu.Lock()
	m.profile = p
	m.mu.Unlock()
}

// Close stops the member, cutting open connections.
func (m *Member) Close() error { return m.srv.Close() }

// draw returns this request's profile, delay and fault.
func (m *Member) draw() (Profile, time.Duration, string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p := m.profile
	d := p.Latency.Fixed
	if p.Latency.Median > 0 {
		d += time.Duration(float64(p.Latency.Median) * math.Exp(p.Latency.Sigma*m.rng.NormFloat64()))
	}
	u := m.rng.Float64()
	f := p.Faults
	fault := ""
	switch {
	case u < f.ServerError:
		fault = "5xx"
	case u < f.ServerError+f.Reset:
		fault = "reset"
	case u < f.ServerError+f.Reset+f.Garbage:
		fault = "garbage"
	case u < f.ServerError+f.Reset+f.Garbage+f.Trickle:
		fault = "trickle"
	}
	return p, d, fault
}

func (m *Member) serve(w http.ResponseWriter, r *http.Request) {
	m.Calls.Add(1)
	p, delay, fault := m.draw()
	if p.Latency.Stall {
		<-r.Context().Done()
		return
	}
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	switch fault {
	case "5xx":
		http.Error(w, "<html><body>Service Unavailable</body></html>", http.StatusServiceUnavailable)
		return
	case "reset":
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				if tc, ok := conn.(*net.TCPConn); ok {
					tc.SetLinger(0)
				}
				conn.Close()
				return
			}
		}
	case "garbage":
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte("<html><head><title>Maintenance</title></head><body>Back soon</body></html>"))
		return
	}
	q := r.URL.Query()
	var body []byte
	var ctype string
	switch m.protocol {
	case SRU:
		start, _ := strconv.Atoi(q.Get("startRecord"))
		n, _ := strconv.Atoi(q.Get("maximumRecords"))
		start, n = max(start, 1), pageSize(p, n)
		body, ctype = m.memo(start, n, func() []byte { return m.sruPage(start, n) }), "text/xml; charset=utf-8"
	case Primo:
		off, _ := strconv.Atoi(q.Get("offset"))
		n, _ := strconv.Atoi(q.Get("limit"))
		off, n = max(off, 0), pageSize(p, n)
		body, ctype = m.memo(off, n, func() []byte { return m.primoPage(off, n) }), "application/json;charset=UTF-8"
	}
	w.Header().Set("Content-Type", ctype)
	if fault == "trickle" {
		fl, _ := w.(http.Flusher)
		for len(body) > 0 {
			n := min(64, len(body))
			if _, err := w.Write(body[:n]); err != nil {
				return
			}
			body = body[n:]
			if fl != nil {
				fl.Flush()
			}
			select {
			case <-time.After(100 * time.Millisecond):
			case <-r.Context().Done():
				return
			}
		}
		return
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.Write(body)
}

// memo returns the page for a window, rendering it once.
func (m *Member) memo(start, n int, render func() []byte) []byte {
	key := [2]int{start, n}
	m.pagesMu.Lock()
	defer m.pagesMu.Unlock()
	if b, ok := m.pages[key]; ok {
		return b
	}
	if m.pages == nil || len(m.pages) > 1000 {
		m.pages = map[[2]int][]byte{}
	}
	b := render()
	m.pages[key] = b
	return b
}

func pageSize(p Profile, asked int) int {
	if p.Records > 0 {
		return p.Records
	}
	if asked <= 0 {
		return 10
	}
	return asked
}

// total is the hit count the member claims.
func (m *Member) total() int { return len(m.records) }

func (m *Member) page(start, n int) []*marc.Record {
	out := make([]*marc.Record, 0, n)
	for i := range n {
		out = append(out, m.records[(start+i)%len(m.records)])
	}
	return out
}

// sruPage is an SRU 1.2 searchRetrieveResponse with MARCXML records.
func (m *Member) sruPage(startRecord, n int) []byte {
	var recs bytes.Buffer
	for i, r := range m.page(startRecord-1, n) {
		var one bytes.Buffer
		xw := marc.NewXMLWriter(&one)
		xw.Write(r)
		xw.Close()
		rec := one.Bytes()
		// Keep the <record> element only: drop the declaration and collection.
		if i0 := bytes.Index(rec, []byte("<record")); i0 >= 0 {
			if i1 := bytes.LastIndex(rec, []byte("</record>")); i1 > i0 {
				rec = rec[i0 : i1+len("</record>")]
			}
		}
		if !bytes.Contains(rec[:min(len(rec), 80)], []byte("xmlns")) {
			rec = bytes.Replace(rec, []byte("<record"), []byte(`<record xmlns="`+marc.Namespace+`"`), 1)
		}
		fmt.Fprintf(&recs, "<zs:record><zs:recordSchema>marcxml</zs:recordSchema><zs:recordPacking>xml</zs:recordPacking><zs:recordData>%s</zs:recordData><zs:recordPosition>%d</zs:recordPosition></zs:record>",
			rec, startRecord+i)
	}
	return fmt.Appendf(nil, `<?xml version="1.0" encoding="UTF-8"?>
<zs:searchRetrieveResponse xmlns:zs="http://www.loc.gov/zing/srw/"><zs:version>1.2</zs:version><zs:numberOfRecords>%d</zs:numberOfRecords><zs:records>%s</zs:records></zs:searchRetrieveResponse>`,
		m.total(), recs.Bytes())
}
