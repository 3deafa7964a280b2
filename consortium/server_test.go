package consortium

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

const serverBase = `
consortium:
  id: c
  name: C
institutions:
  - id: north
    name: North
`

func TestServerBlock(t *testing.T) {
	sum := sha256.Sum256([]byte("op-token"))
	good := "server:\n  max_searches: 40\n  memory_limit_mb: 900\n  operator: {keys: [{sha256: " + strings.ToUpper(hex.EncodeToString(sum[:])) + "}], listen: \"127.0.0.1:9090\"}\n" + serverBase
	c, err := Parse([]byte(good), "c.yaml", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s := c.Server
	if s.MaxSearches != 40 || s.MemoryLimitMB != 900 || s.Operator.Listen != "127.0.0.1:9090" || s.Operator.Open {
		t.Fatalf("server %+v", s)
	}
	if !s.Operator.IsKey("op-token") || s.Operator.IsKey("op-token ") || s.Operator.IsKey("") {
		t.Fatal("operator keys: the token (and only it) must match, whatever the digest's case")
	}
	c, err = Parse([]byte(serverBase), "c.yaml", t.TempDir())
	if err != nil || c.Server.MaxSearches != 0 || c.Server.Operator.Open || len(c.Server.Operator.KeySHA256) != 0 {
		t.Fatalf("left out: %+v, %v", c.Server, err)
	}

	for _, tt := range []struct {
		title, block, key, message string
	}{
		{"no searches at all", "server: {max_searches: 0}", "server.max_searches", ""},
		{"too little memory", "server: {memory_limit_mb: 10}", "server.memory_limit_mb", "at least 64"},
		{"an operator address on every interface", `server: {operator: {listen: "0.0.0.0:9090"}}`, "server.operator.listen", "every interface"},
		{"an operator address on every IPv6 interface", `server: {operator: {listen: "[::]:9090"}}`, "server.operator.listen", "every interface"},
		{"an operator address without a host", `server: {operator: {listen: ":9090"}}`, "server.operator.listen", "every interface"},
		{"an operator address that is no address", `server: {operator: {listen: "localhost"}}`, "server.operator.listen", "not an address"},
		{"an operator key that is not a digest", `server: {operator: {keys: [{sha256: op-token}]}}`, "server.operator.keys[0].sha256", "64 hex digits"},
		{"a misspelt key", "server: {max_serches: 4}", "server", "max_serches"},
	} {
		t.Run(tt.title, func(t *testing.T) {
			_, err := Parse([]byte(tt.block+"\n"+serverBase), "c.yaml", t.TempDir())
			var cerr *Error
			if !errors.As(err, &cerr) {
				t.Fatalf("accepted: %v", err)
			}
			for _, p := range cerr.Problems {
				if strings.HasPrefix(p.Key, tt.key) && strings.Contains(p.Error(), tt.message) && p.Line == 1 {
					return
				}
			}
			t.Fatalf("no problem on %s mentioning %q at line 1: %v", tt.key, tt.message, err)
		})
	}
}

func TestAnOperatorKeyIsNoInstitutionsKey(t *testing.T) {
	sum := sha256.Sum256([]byte("shared-token"))
	d := hex.EncodeToString(sum[:])
	cfg := "server: {operator: {keys: [{sha256: " + d + "}]}}\n" + serverBase + "    api_keys: [{sha256: " + d + "}]\n"
	_, err := Parse([]byte(cfg), "c.yaml", t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "already given to the operator on line 1") {
		t.Fatalf("an institution key equal to the operator's: %v", err)
	}
}
