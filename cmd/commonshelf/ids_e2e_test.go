package main

import (
	"encoding/json"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
)

// Identifiers handed to API callers must not tell them how busy the service
// is: request ids are random, and writing a list answers with nothing that
// counts the writes of other callers.

// requestIDPattern is the form of a request id: "req-" and 16 base32
// characters (80 random bits).
var requestIDPattern = regexp.MustCompile(`^req-[a-z2-7]{16}$`)

func TestRequestIDsAndListAnswersRevealNoVolume(t *testing.T) {
	if os.Getenv("COMMONSHELF_E2E_CHILD") != "" {
		t.Skip("child")
	}
	_, hookSrv := newHookReceiver(t)
	cfg, data := requestConsortium(t, hookSrv.URL)
	cmd, base := startServer(t, cfg, data)
	defer func() { stopServer(cmd) }()

	t.Run("two requests in a row get unrelated random ids", func(t *testing.T) {
		body := searchSnapshot(t, base, "south", "pride prejudice")
		var ids []string
		for _, key := range []string{"ids-1", "ids-2"} {
			code, b := postRequest(t, base, northKey, key, body)
			if code != http.StatusCreated {
				t.Fatalf("create: %d %s", code, b)
			}
			ids = append(ids, decodeRequest(t, b).ID)
		}
		for _, id := range ids {
			if !requestIDPattern.MatchString(id) {
				t.Errorf("request id %q is not req- and 16 random base32 characters", id)
			}
		}
		if ids[0] == ids[1] {
			t.Fatalf("two requests share the id %s", ids[0])
		}
		if strings.TrimLeft(ids[0][4:], "0123456789") == "" || strings.TrimLeft(ids[1][4:], "0123456789") == "" {
			t.Fatalf("ids %v are counters", ids)
		}
		// Both ids still find their requests.
		for _, id := range ids {
			if code, b := send(t, http.MethodGet, base+"/api/v1/requests/"+id, northKey, nil); code != http.StatusOK {
				t.Fatalf("get %s: %d %s", id, code, b)
			}
		}
		// The list of North's requests is newest first, as before.
		code, b := send(t, http.MethodGet, base+"/api/v1/requests", northKey, nil)
		var list struct {
			Requests []struct {
				ID string `json:"id"`
			} `json:"requests"`
		}
		if code != http.StatusOK || json.Unmarshal(b, &list) != nil || len(list.Requests) < 2 {
			t.Fatalf("list: %d %s", code, b)
		}
		if list.Requests[0].ID != ids[1] || list.Requests[1].ID != ids[0] {
			t.Fatalf("list order %v, want newest first %s, %s", list.Requests, ids[1], ids[0])
		}
	})

	t.Run("writing a list answers without a global counter", func(t *testing.T) {
		put := func(id string) map[string]any {
			t.Helper()
			body, _ := json.Marshal(chemistryList(id))
			code, b := send(t, http.MethodPut, base+"/api/v1/institutions/north/lists/"+id, northKey, body)
			if code != http.StatusCreated && code != http.StatusOK {
				t.Fatalf("put %s: %d %s", id, code, b)
			}
			var got map[string]any
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatal(err)
			}
			return got
		}
		first, second, again := put("ids-a"), put("ids-b"), put("ids-a")
		for _, got := range []map[string]any{first, second, again} {
			for k := range got {
				switch k {
				case "institution", "id", "created", "updated", "version":
				default:
					t.Errorf("the answer carries %q: %v", k, got)
				}
			}
		}
		if again["version"] != first["version"] {
			t.Errorf("an unchanged list's version moved from %v to %v", first["version"], again["version"])
		}
		if v, _ := first["version"].(string); v == "" || strings.TrimLeft(v, "0123456789") == "" {
			t.Errorf("version %v is empty or a number", first["version"])
		}
	})
}
