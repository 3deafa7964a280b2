package requests

import (
	"context"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

var at = time.Date(2027, 2, 1, 9, 30, 0, 0, time.UTC)

// isoLoan is a loan with text that needs escaping.
func isoLoan() *Request {
	r := validLoan()
	r.ID, r.Created, r.Updated, r.Status = "req-7", at, at, RequestReceived
	r.Metadata.Title = `Bread & "roses" <1912>`
	r.Metadata.Authors = []string{"Oppenheim, James", "O'Neil, A."}
	r.Metadata.Edition = "2nd ed."
	r.Metadata.Publisher = "Smith & Sons"
	r.Metadata.Identifiers.ISSN = []string{"1234-5679"}
	r.Metadata.RecordID = r.Source.RecordID
	r.PickupLocation = "Desk <B> & co\x01"
	r.History = []Event{{At: at, Actor: "north", To: RequestReceived}}
	return r
}

func TestISO18626RequestIsTheSchemasRequest(t *testing.T) {
	body, name, err := ISO18626Message(Delivery{ID: "dlv-1", Institution: "south", Event: EventCreated, Request: isoLoan()})
	if err != nil || name != "request" {
		t.Fatalf("%s, %v", name, err)
	}
	want := xml.Header + `<ISO18626Message xmlns="http://illtransactions.org/2013/iso18626" xmlns:ill="http://illtransactions.org/2013/iso18626" ill:version="1.2">` +
		`<request><header>` +
		`<supplyingAgencyId><agencyIdType>CSHELF</agencyIdType><agencyIdValue>south</agencyIdValue></supplyingAgencyId>` +
		`<requestingAgencyId><agencyIdType>CSHELF</agencyIdType><agencyIdValue>north</agencyIdValue></requestingAgencyId>` +
		`<multipleItemRequestId></multipleItemRequestId><timestamp>2027-02-01T09:30:00Z</timestamp>` +
		`<requestingAgencyRequestId>req-7</requestingAgencyRequestId></header>` +
		`<bibliographicInfo><supplierUniqueRecordId>s1</supplierUniqueRecordId>` +
		`<title>Bread &amp; &#34;roses&#34; &lt;1912&gt;</title><author>Oppenheim, James; O&#39;Neil, A.</author><edition>2nd ed.</edition>` +
		`<bibliographicItemId><bibliographicItemIdentifier>9780439023481</bibliographicItemIdentifier><bibliographicItemIdentifierCode>ISBN</bibliographicItemIdentifierCode></bibliographicItemId>` +
		`<bibliographicItemId><bibliographicItemIdentifier>1234-5679</bibliographicItemIdentifier><bibliographicItemIdentifierCode>ISSN</bibliographicItemIdentifierCode></bibliographicItemId>` +
		`</bibliographicInfo>` +
		`<publicationInfo><publisher>Smith &amp; Sons</publisher><publicationDate>2008</publicationDate></publicationInfo>` +
		`<serviceInfo><serviceType>Loan</serviceType><needBeforeDate>2027-03-31T23:59:59Z</needBeforeDate></serviceInfo>` +
		`<requestedDeliveryInfo><address><physicalAddress><line1>Desk &lt;B&gt; &amp; co` + "\uFFFD" + `</line1></physicalAddress></address></requestedDeliveryInfo>` +
		`</request></ISO18626Message>`
	if string(body) != want {
		t.Fatalf("got\n%s\nwant\n%s", body, want)
	}
	// A namespace-aware reader sees the user's text unchanged.
	var back struct {
		XMLName xml.Name `xml:"http://illtransactions.org/2013/iso18626 ISO18626Message"`
		Version string   `xml:"http://illtransactions.org/2013/iso18626 version,attr"`
		Title   string   `xml:"http://illtransactions.org/2013/iso18626 request>bibliographicInfo>title"`
		Line1   string   `xml:"request>requestedDeliveryInfo>address>physicalAddress>line1"`
	}
	if err := xml.Unmarshal(body, &back); err != nil || back.Version != "1.2" || back.Title != `Bread & "roses" <1912>` || back.Line1 != "Desk <B> & co\uFFFD" {
		t.Fatalf("parsed back %+v: %v", back, err)
	}

	cp := isoLoan()
	cp.Kind, cp.NeededBy, cp.PickupLocation, cp.Metadata.Publisher, cp.Metadata.Year = KindCopy, "", "", "", 0
	body, _, err = ISO18626Message(Delivery{ID: "dlv-2", Institution: "south", Event: EventCreated, Request: cp})
	if err != nil || !strings.Contains(string(body), "<serviceInfo><serviceType>Copy</serviceType></serviceInfo></request>") ||
		strings.Contains(string(body), "publicationInfo") {
		t.Fatalf("copy: %s %v", body, err)
	}
}

func TestISO18626StatusChanges(t *testing.T) {
	later := at.Add(time.Hour)
	tests := []struct {
		title string
		to    Status
		party Party
		inst  string
		name  string
		want  string
	}{
		{"the supplier's change reaches the requester", WillSupply, Supplier, "north", "supplyingAgencyMessage",
			`<supplyingAgencyMessage><header><supplyingAgencyId><agencyIdType>CSHELF</agencyIdType><agencyIdValue>south</agencyIdValue></supplyingAgencyId>` +
				`<requestingAgencyId><agencyIdType>CSHELF</agencyIdType><agencyIdValue>north</agencyIdValue></requestingAgencyId>` +
				`<multipleItemRequestId></multipleItemRequestId><timestamp>2027-02-01T10:30:00Z</timestamp><requestingAgencyRequestId>req-7</requestingAgencyRequestId></header>` +
				`<messageInfo><reasonForMessage>StatusChange</reasonForMessage><note>shelf &lt;3&gt; &amp; more</note></messageInfo>` +
				`<statusInfo><status>WillSupply</status><lastChange>2027-02-01T10:30:00Z</lastChange></statusInfo></supplyingAgencyMessage>`},
		{"the requester's cancellation reaches the supplier", Cancelled, Requester, "south", "requestingAgencyMessage",
			`<requestingAgencyMessage><header><supplyingAgencyId><agencyIdType>CSHELF</agencyIdType><agencyIdValue>south</agencyIdValue></supplyingAgencyId>` +
				`<requestingAgencyId><agencyIdType>CSHELF</agencyIdType><agencyIdValue>north</agencyIdValue></requestingAgencyId>` +
				`<multipleItemRequestId></multipleItemRequestId><timestamp>2027-02-01T10:30:00Z</timestamp><requestingAgencyRequestId>req-7</requestingAgencyRequestId></header>` +
				`<action>Cancel</action><note>shelf &lt;3&gt; &amp; more</note></requestingAgencyMessage>`},
	}
	for _, tt := range tests {
		t.Run(tt.title, func(t *testing.T) {
			r := isoLoan()
			if err := r.Transition(tt.party, "x", tt.to, "shelf <3> & more", later); err != nil {
				t.Fatal(err)
			}
			body, name, err := ISO18626Message(Delivery{ID: "dlv-3", Institution: tt.inst, Event: EventStatusChanged, Request: r})
			if err != nil || name != tt.name || !strings.Contains(string(body), `ill:version="1.2">`+tt.want+`</ISO18626Message>`) {
				t.Fatalf("%s %v:\n%s\nwant\n%s", name, err, body, tt.want)
			}
		})
	}
	t.Run("a purchase suggestion has no ISO 18626 message", func(t *testing.T) {
		r := isoLoan()
		r.Kind, r.Supplier = KindPurchase, ""
		if _, _, err := ISO18626Message(Delivery{Institution: "north", Event: EventCreated, Request: r}); !errors.Is(err, errNoISOMessage) {
			t.Fatalf("%v", err)
		}
	})
}

func TestParseISO18626Confirmation(t *testing.T) {
	c, err := ParseISO18626Confirmation([]byte(`<?xml version="1.0"?><ISO18626Message xmlns="http://illtransactions.org/2013/iso18626" ill:version="1.2" xmlns:ill="http://illtransactions.org/2013/iso18626">
<supplyingAgencyMessageConfirmation><confirmationHeader><timestamp>2027-02-01T10:30:00Z</timestamp><messageStatus>ERROR</messageStatus></confirmationHeader>
<errorData><errorType>UnrecognisedDataValue</errorType><errorValue>requestingAgencyRequestId</errorValue></errorData></supplyingAgencyMessageConfirmation></ISO18626Message>`))
	if err != nil || c != (ISO18626Confirmation{Name: "supplyingAgencyMessageConfirmation", Status: "ERROR", ErrorType: "UnrecognisedDataValue", ErrorValue: "requestingAgencyRequestId"}) {
		t.Fatalf("%+v %v", c, err)
	}
	for _, bad := range []string{"", "ok", `<ISO18626Message xmlns="http://illtransactions.org/2013/iso18626"/>`} {
		if _, err := ParseISO18626Confirmation([]byte(bad)); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

// isoReceiver is a fake ISO 18626 endpoint answering each attempt at a
// <request> with the next of its answers (the last one repeats); other
// messages are confirmed OK.
type isoReceiver struct {
	mu       sync.Mutex
	answers  []isoAnswerSpec
	attempts []time.Time
	types    []string
	bodies   []string
}

type isoAnswerSpec struct {
	code   int
	status string // "" answers no XML
	conf   string // confirmation name; "" the one that matches
}

func (r *isoReceiver) Do(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	body, _ := io.ReadAll(req.Body)
	r.attempts = append(r.attempts, time.Now())
	r.types = append(r.types, req.Header.Get("Content-Type"))
	r.bodies = append(r.bodies, string(body))
	n := 0
	for _, b := range r.bodies {
		if strings.Contains(b, "<request>") {
			n++
		}
	}
	a := isoAnswerSpec{200, "OK", ""}
	if strings.Contains(string(body), "<request>") {
		a = r.answers[min(n, len(r.answers))-1]
	}
	out := ""
	if a.status != "" {
		conf := a.conf
		if conf == "" {
			for _, n := range []string{"request", "supplyingAgencyMessage", "requestingAgencyMessage"} {
				if strings.Contains(string(body), "<"+n+">") {
					conf = n + "Confirmation"
				}
			}
		}
		out = `<ISO18626Message xmlns="http://illtransactions.org/2013/iso18626"><` + conf + `><confirmationHeader><messageStatus>` + a.status +
			`</messageStatus></confirmationHeader><errorData><errorType>BadlyFormedMessage</errorType><errorValue>title</errorValue></errorData></` + conf + `></ISO18626Message>`
	}
	return &http.Response{StatusCode: a.code, Status: http.StatusText(a.code), Body: io.NopCloser(strings.NewReader(out))}, nil
}

func TestDelivererISO18626(t *testing.T) {
	tests := []struct {
		title    string
		answers  []isoAnswerSpec
		attempts int
		left     bool // the delivery stays, failed
		lastErr  string
	}{
		{"an OK confirmation acknowledges", []isoAnswerSpec{{200, "OK", ""}}, 1, false, ""},
		{"a non-2xx answer is retried", []isoAnswerSpec{{503, "", ""}, {500, "OK", ""}, {200, "OK", ""}}, 3, false, ""},
		{"a 2xx without a confirmation is retried", []isoAnswerSpec{{200, "", ""}, {204, "", ""}, {200, "OK", ""}}, 3, false, ""},
		{"a confirmation of another message is retried", []isoAnswerSpec{{200, "OK", "requestingAgencyMessageConfirmation"}, {200, "OK", ""}}, 2, false, ""},
		{"an ERROR confirmation fails for good", []isoAnswerSpec{{200, "ERROR", ""}}, 1, true, "ERROR BadlyFormedMessage"},
		{"an ERROR after an outage fails for good", []isoAnswerSpec{{502, "", ""}, {200, "ERROR", ""}}, 2, true, "ERROR BadlyFormedMessage"},
	}
	for _, tt := range tests {
		t.Run(tt.title, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ob := &memOutbox{queued: make(chan struct{}, 1)}
				r := isoLoan()
				ob.ds = []Delivery{{ID: "dlv-1", Institution: "south", Event: EventCreated, Request: r, NextAt: time.Now()},
					{ID: "dlv-2", Institution: "north", Event: EventStatusChanged, Request: func() *Request {
						c := isoLoan()
						c.Transition(Supplier, "south", WillSupply, "", at)
						return c
					}(), NextAt: time.Now()}}
				rcv := &isoReceiver{answers: tt.answers}
				d := NewDeliverer(nil, DelivererConfig{Outbox: ob, Client: rcv,
					Targets: map[string]Target{"south": {URL: "http://127.0.0.1:1/iso", ISO18626: true}, "north": {URL: "http://127.0.0.1:1/iso", ISO18626: true}}})
				ctx, cancel := context.WithCancel(t.Context())
				done := make(chan struct{})
				go func() { d.Run(ctx); close(done) }()
				time.Sleep(time.Hour)
				synctest.Wait()
				cancel()
				<-done
				south := 0
				for i, b := range rcv.bodies {
					if rcv.types[i] != "application/xml" {
						t.Errorf("attempt %d: Content-Type %q", i, rcv.types[i])
					}
					if strings.Contains(b, "<request>") {
						south++
						if b != rcv.bodies[0] {
							t.Errorf("attempt %d: the body changed between retries", i)
						}
					}
				}
				if south != tt.attempts {
					t.Fatalf("%d attempts of the request, want %d", south, tt.attempts)
				}
				ob.mu.Lock()
				defer ob.mu.Unlock()
				var left []Delivery
				for _, dl := range ob.ds {
					if dl.Institution == "south" {
						left = append(left, dl)
					}
				}
				if !tt.left {
					if len(left) != 0 {
						t.Fatalf("left in the outbox: %+v", left)
					}
					return
				}
				if len(left) != 1 || !left[0].Failed || left[0].Attempts != tt.attempts || !strings.Contains(left[0].LastError, tt.lastErr) {
					t.Fatalf("left in the outbox: %+v", left)
				}
			})
		})
	}
}

// A delivery that failed for good does not hold back the institution's
// later ones.
func TestDelivererGoesOnAfterAPermanentFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ob := &memOutbox{queued: make(chan struct{}, 1)}
		bad := isoLoan()
		bad.Kind, bad.Supplier = KindPurchase, "" // no ISO 18626 message expresses it
		ob.ds = []Delivery{{ID: "dlv-1", Institution: "south", Event: EventCreated, Request: bad, NextAt: time.Now()},
			{ID: "dlv-2", Institution: "south", Event: EventCreated, Request: isoLoan(), NextAt: time.Now()}}
		rcv := &isoReceiver{answers: []isoAnswerSpec{{200, "OK", ""}}}
		d := NewDeliverer(nil, DelivererConfig{Outbox: ob, Client: rcv, Targets: map[string]Target{"south": {URL: "http://127.0.0.1:1/", ISO18626: true}}})
		if _, err := d.RunOnce(t.Context()); err != nil {
			t.Fatal(err)
		}
		if _, err := d.RunOnce(t.Context()); err != nil {
			t.Fatal(err)
		}
		if len(rcv.attempts) != 1 || len(ob.ds) != 1 || ob.ds[0].ID != "dlv-1" || !ob.ds[0].Failed || ob.ds[0].Attempts != 1 {
			t.Fatalf("attempts %d, outbox %+v", len(rcv.attempts), ob.ds)
		}
	})
}
