package demo

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// institution is the configuration of one member beyond its catalogue.
type institution struct {
	overrides   string // YAML flow mapping
	color       string
	timeoutMS   int
	maxInFlight int
}

var institutions = map[string]institution{
	"north":   {`{language: fr, upload_max_mb: {student: 5}}`, "#1d4e89", 2000, 16},
	"south":   {`{language: de}`, "#8a1538", 2500, 8},
	"east":    {`{upload_max_mb: {instructor: 25}, files: {student_uploads: true}}`, "#2e6b30", 2000, 16},
	"west":    {`{upload_max_mb: {student: 2}}`, "#b35900", 1500, 8},
	"central": {`{}`, "#5b3f8c", 3000, 4},
}

func q(s string) string { return strconv.Quote(s) }

// configYAML is the consortium.yaml of the demo; member files are relative
// to its directory.
func configYAML(st *Stats, opts Options) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Commonshelf demo consortium, written by package demo (%s).\n", st.Version)
	b.WriteString("# Catalogues built from real records; see NOTICE.md for the sources and their licences.\n")
	pl := opts.Platform
	if pl != nil {
		fmt.Fprintf(&b, "# Every institution registers the demo learning platform at %s for LTI 1.3 launches.\n", pl.Issuer)
	}
	b.WriteString(`# The demo serves its operational data (/metrics, members' live status,
# storage use, cache=bypass) to anyone, so that it can be tried; a
# consortium facing the open web gives operators keys or an address of
# their own instead (server.operator.keys, server.operator.listen).
server:
  operator: {open: true}
consortium:
  id: demo
  name: Commonshelf Demo Consortium
  defaults:
    language: en
    upload_max_mb: {instructor: 50, student: 10}
    external_links:
`)
	if pl != nil && pl.HomeURL != "" {
		fmt.Fprintf(&b, "      - {label: %s, url: %s}\n", q(TryLinkLabel), q(pl.HomeURL))
	}
	b.WriteString(`      - {label: "Interlibrary loan help", url: "https://help.commonshelf.example.org/ill"}
      - {label: "Consortium news", url: "https://news.commonshelf.example.org/"}
    search: {timeout_ms: 3000, max_timeout_ms: 10000, page_size: 20}
    requests: {kinds: [loan, copy, purchase]}
    files: {student_uploads: false, quota_mb: 2048}
  locked: []
institutions:
`)
	for i, m := range Members {
		in := institutions[m.ID]
		ms := st.Members[i]
		files := make([]string, len(ms.Files))
		for j, f := range ms.Files {
			files[j] = f
		}
		fmt.Fprintf(&b, "  - id: %s\n", m.ID)
		fmt.Fprintf(&b, "    name: %s\n", q(m.Name))
		fmt.Fprintf(&b, "    overrides: %s\n", in.overrides)
		fmt.Fprintf(&b, "    branding: {logo: \"\", primary_color: %s}\n", q(in.color))
		b.WriteString("    member:\n")
		b.WriteString("      connector: local\n")
		fmt.Fprintf(&b, "      files: [%s]\n", strings.Join(files, ", "))
		fmt.Fprintf(&b, "      options: {record_url: %s}\n", q("https://catalogue."+m.ID+".example.org/record/{id}"))
		fmt.Fprintf(&b, "      timeout_ms: %d\n", in.timeoutMS)
		fmt.Fprintf(&b, "      max_in_flight: %d\n", in.maxInFlight)
		b.WriteString("      breaker: {failures: 5, open_for: 30s}\n")
		b.WriteString("    api_keys:\n")
		for _, role := range []string{"admin", "instructor", "student"} {
			sum := sha256.Sum256([]byte(APIKey(m.ID, role)))
			fmt.Fprintf(&b, "      - {sha256: %s, role: %s}\n", hex.EncodeToString(sum[:]), role)
		}
		if pl != nil {
			b.WriteString("    lti:\n      platforms:\n")
			fmt.Fprintf(&b, "        - {name: %s, issuer: %s, client_id: %s, deployment_ids: [%s],\n           auth_url: %s, jwks_url: %s}\n",
				q(cmp.Or(pl.Name, pl.Issuer)), q(pl.Issuer), q(LMSClientID(m.ID)), q(LMSDeploymentID(m.ID)), q(pl.AuthURL), q(pl.JWKSURL))
		}
	}
	return b.Bytes()
}

// TryLinkLabel is the gateway's external link to the demo learning
// platform's course links (Platform.HomeURL).
const TryLinkLabel = "Try a course link (demo learning platform)"

// APIKey is the demo's API key of an institution for a role ("admin",
// "instructor", "student"): public, for trying the write endpoints of the
// demo only. A real consortium's file holds only the SHA-256 of secret keys.
func APIKey(institution, role string) string { return "demo-" + institution + "-" + role }
