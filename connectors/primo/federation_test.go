package primo

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/commonshelf/commonshelf/connectors/solr"
	"github.com/commonshelf/commonshelf/federate"
)

// loopback serves h on 127.0.0.1 for the test's life.
func loopback(t *testing.T, h http.Handler) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := httptest.NewUnstartedServer(h)
	s.Listener.Close()
	s.Listener = l
	s.Start()
	t.Cleanup(s.Close)
	return s.URL
}

// A search over a Primo member, a Solr (VuFind) member and a member whose
// Solr fails: the work both hold joins by ISBN (ISBN-10 at one, hyphenated
// ISBN-13 at the other), the failing member is reported, the answer is
// partial.
func TestEngineOverPrimoSolrAndAFailingMember(t *testing.T) {
	primoURL := (&fakePrimo{Key: "k", Docs: shelf}).start(t).URL
	vufind := loopback(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Query()
		if r.URL.Path != "/solr/biblio/select" || p.Get("defType") != "edismax" || p.Get("q") != "hunger AND games" {
			http.Error(w, fmt.Sprintf(`{"error":{"msg":"unexpected request %s","code":400}}`, r.URL), http.StatusBadRequest)
			return
		}
		fmt.Fprint(w, `{"responseHeader":{"status":0,"QTime":2},"response":{"numFound":2,"start":0,"docs":[
			{"id":"v1","title":"The hunger games /","author":["Collins, Suzanne"],"publishDate":["2008"],
			 "isbn":["978-0-439-02348-1 (hardcover)"],"format":["Book"],"language":["English"]},
			{"id":"v9","title":"Hunger games and game theory","author":["Nash, Jo"],"publishDate":["2015"],"format":["Book"]}]}}`)
	}))
	broken := loopback(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprint(w, `{"error":{"msg":"java.lang.OutOfMemoryError: Java heap space","code":500}}`)
	}))

	logger := slog.New(slog.DiscardHandler)
	pc, err := New(logger, "east", primoURL, map[string]any{"vid": "01INST:MAIN", "api_key": "k",
		"record_url": "https://primo.example.org/discovery/fulldisplay?docid={id}&vid=01INST:MAIN"})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	sc, err := solr.New(logger, "west", vufind+"/solr/biblio", map[string]any{"record_url": "https://vufind.example.org/Record/{id}"})
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	bc, err := solr.New(logger, "south", broken+"/solr/biblio", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer bc.Close()

	e, err := federate.NewEngine(logger, federate.EngineConfig{}, nil, []federate.Member{
		{ID: "east", Name: "East (Primo)", Connector: pc, Timeout: 5 * time.Second},
		{ID: "west", Name: "West (VuFind)", Connector: sc, Timeout: 5 * time.Second},
		{ID: "south", Name: "South (broken)", Connector: bc, Timeout: 5 * time.Second},
	})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := e.Search(context.Background(), federate.Request{Query: mustParse(t, "hunger games"), Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if !resp.Partial {
		t.Error("partial = false, want true")
	}
	status := map[string]federate.MemberStatus{}
	for _, m := range resp.Members {
		status[m.ID] = m
	}
	if s := status["east"]; s.Status != federate.StatusOK || s.Hits != 1 || s.Returned != 1 {
		t.Errorf("east: %+v", s)
	}
	if s := status["west"]; s.Status != federate.StatusOK || s.Hits != 2 || s.Returned != 2 {
		t.Errorf("west: %+v", s)
	}
	if s := status["south"]; s.Status != federate.StatusError || s.Error == "" {
		t.Errorf("south: %+v", s)
	}
	var joined *federate.Result
	for i := range resp.Results {
		if resp.Results[i].ID == "isbn:9780439023481" {
			joined = &resp.Results[i]
		}
	}
	if joined == nil {
		t.Fatalf("no work isbn:9780439023481 in %+v", resp.Results)
	}
	var holders []string
	for _, h := range joined.Holdings {
		holders = append(holders, h.Member+"/"+h.RecordID)
	}
	slices.Sort(holders)
	if !slices.Equal(holders, []string{"east/alma001", "west/v1"}) {
		t.Errorf("holdings %v, want east/alma001 and west/v1", holders)
	}
	if !slices.Contains(joined.MergedBy, "shared isbn 9780439023481") {
		t.Errorf("merged_by %v", joined.MergedBy)
	}
	if len(resp.Results) != 2 {
		t.Errorf("%d works, want 2 (the joined one and West's other record)", len(resp.Results))
	}
}
