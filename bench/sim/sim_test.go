package sim

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/commonshelf/commonshelf/connectors/marc"
)

func sampleRecords(n int) []*marc.Record {
	var out []*marc.Record
	for i := range n {
		out = append(out, &marc.Record{
			Leader:  "00000nam a2200000 a 4500",
			Control: []marc.ControlField{{Tag: "001", Value: "sim" + string(rune('a'+i))}},
			Data: []marc.DataField{
				{Tag: "020", Ind1: ' ', Ind2: ' ', Subfields: []marc.Subfield{{Code: 'a', Value: "0439023483"}}},
				{Tag: "100", Ind1: '1', Ind2: ' ', Subfields: []marc.Subfield{{Code: 'a', Value: "Collins, Suzanne"}}},
				{Tag: "245", Ind1: '1', Ind2: '4', Subfields: []marc.Subfield{{Code: 'a', Value: "The Hunger Games & more"}}},
			},
		})
	}
	return out
}

func get(t *testing.T, url string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func TestSRUMemberServesReadableMARCXMLPages(t *testing.T) {
	m, err := Start(SRU, sampleRecords(3), Profile{}, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	code, body := get(t, m.URL+"?version=1.2&operation=searchRetrieve&query=x&startRecord=2&maximumRecords=5")
	if code != 200 || !strings.Contains(string(body), "<zs:numberOfRecords>3</zs:numberOfRecords>") {
		t.Fatalf("%d %s", code, body)
	}
	rd := marc.NewReader(strings.NewReader(string(body)))
	n := 0
	for {
		r, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if _, err := marc.ToRecord(r); err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 5 {
		t.Fatalf("read %d records, want 5 (wrapping around)", n)
	}
}

func TestPrimoMemberServesPNX(t *testing.T) {
	m, err := Start(Primo, sampleRecords(2), Profile{Records: 2}, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	_, body := get(t, m.URL+"/primo/v1/search?vid=X&q=any,contains,x&offset=0&limit=10")
	var got struct {
		Info struct{ Total int } `json:"info"`
		Docs []struct {
			PNX struct {
				Display map[string][]string `json:"display"`
				Addata  map[string][]string `json:"addata"`
			} `json:"pnx"`
		} `json:"docs"`
	}
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	if got.Info.Total != 2 || len(got.Docs) != 2 || got.Docs[0].PNX.Display["title"][0] != "The Hunger Games & more" ||
		got.Docs[0].PNX.Addata["isbn"][0] != "0439023483" {
		t.Fatalf("%+v", got)
	}
}

func TestFaultProfiles(t *testing.T) {
	tests := []struct {
		title  string
		faults Faults
		check  func(code int, body string, err error) bool
	}{
		{"server errors answer 503", Faults{ServerError: 1}, func(c int, _ string, err error) bool { return err == nil && c == 503 }},
		{"garbage is an HTML page with 200", Faults{Garbage: 1}, func(c int, b string, err error) bool {
			return err == nil && c == 200 && strings.Contains(b, "<html>")
		}},
		{"a reset is a transport error", Faults{Reset: 1}, func(_ int, _ string, err error) bool { return err != nil }},
	}
	for _, tt := range tests {
		t.Run(tt.title, func(t *testing.T) {
			m, _ := Start(SRU, sampleRecords(1), Profile{Faults: tt.faults}, 1)
			defer m.Close()
			resp, err := http.Get(m.URL + "?maximumRecords=1")
			code, body := 0, ""
			if err == nil {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				code, body = resp.StatusCode, string(b)
			}
			if !tt.check(code, body, err) {
				t.Fatalf("code %d err %v body %q", code, err, body)
			}
		})
	}
}
