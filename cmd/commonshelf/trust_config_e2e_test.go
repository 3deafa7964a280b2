package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// check-config and serve run one validation: whatever serve refuses at
// start-up, check-config reports first, each problem naming the file, the
// line, the institution and the key.

func TestCheckConfigRefusesWhatServeRefuses(t *testing.T) {
	dir := t.TempDir()
	catalogue := filepath.Join(dir, "north.xml")
	os.WriteFile(catalogue, []byte(`<?xml version="1.0"?><collection xmlns="http://www.loc.gov/MARC21/slim">`+
		marcRecord("n1", "9780140449136", "Dostoyevsky, Fyodor", "Crime and punishment", "", "Penguin", "2003")+`</collection>`), 0o644)
	const unset = "COMMONSHELF_TEST_SECRET_THAT_IS_NOT_SET"
	os.Unsetenv(unset)

	// Each block starts on line 8 of the file (the institution's third
	// line); the offending key is on the line given.
	for _, c := range []struct {
		title string
		block string   // the institution's lines after id and name
		line  int      // the line the problem is on
		key   string   // the key, relative to the institution
		says  []string // parts of the message
	}{
		{"a misspelt local option", `    member:
      connector: local
      files: [north.xml]
      options:
        recrod_url: "https://cat.north.example/r/{id}"`, 12, "member.options.recrod_url",
			[]string{`unknown option "recrod_url" for the local connector`, `did you mean "record_url"?`}},
		{"a misspelt SRU option", `    member:
      connector: sru
      url: http://127.0.0.1:9/north
      options: {record_shcema: dc}`, 11, "member.options.record_shcema",
			[]string{`unknown option "record_shcema" for the sru connector`, `did you mean "record_schema"?`}},
		{"an unknown option far from every known one", `    member:
      connector: solr
      url: http://127.0.0.1:9/solr/biblio
      options: {colour: blue}`, 11, "member.options.colour",
			[]string{`unknown option "colour" for the solr connector`, "known: fields, qf, record_url, fq, handler"}},
		{"an SRU version the connector does not speak", `    member:
      connector: sru
      url: http://127.0.0.1:9/north
      options:
        explain: false
        version: 3.0`, 13, "member.options.version",
			[]string{"3.0", "not supported"}},
		{"a Primo member without its view id", `    member:
      connector: primo
      url: https://api-eu.hosted.exlibrisgroup.com
      options:
        tab: books`, 11, "member.options",
			[]string{"vid is required"}},
		{"a Primo key in an unset environment variable", `    member:
      connector: primo
      url: https://api-eu.hosted.exlibrisgroup.com
      options:
        vid: "01NORTH:MAIN"
        api_key_env: ` + unset, 13, "member.options.api_key_env",
			[]string{unset, "not set"}},
		{"a broken OpenSearch template", `    member:
      connector: opensearch
      url: http://127.0.0.1:9/desc.xml
      options:
        template: "http://127.0.0.1:9/s?q={searchTerms"`, 12, "member.options.template",
			[]string{"never closed"}},
		{"a Solr filter that is blank", `    member:
      connector: solr
      url: http://127.0.0.1:9/solr/biblio
      options:
        fq: ["format:Book", " "]`, 12, "member.options.fq",
			[]string{"fq[1]"}},
		{"a webhook secret in an unset environment variable", `    requests:
      webhook:
        url: http://127.0.0.1:9/hook
        secret_env: ` + unset, 11, "requests.webhook.secret_env",
			[]string{unset, "not set"}},
		{"an LTI issuer with a trailing space", `    lti:
      platforms:
        - issuer: "https://lms.north.example "
          client_id: commonshelf
          deployment_ids: ["1"]
          auth_url: https://lms.north.example/auth
          jwks_url: https://lms.north.example/jwks`, 10, "lti.platforms[0].issuer",
			[]string{"surrounding spaces"}},
	} {
		t.Run(c.title, func(t *testing.T) {
			path := filepath.Join(dir, "consortium.yaml") // next to north.xml
			os.WriteFile(path, []byte(`consortium:
  id: c
  name: C
  defaults: {requests: {kinds: [loan]}}
institutions:
  - id: north
    name: North
`+c.block+"\n"), 0o644)
			want := fmt.Sprintf("%s:%d: institution north: %s: ", path, c.line, c.key)

			var out, errOut strings.Builder
			code := run(context.Background(), []string{"check-config", path}, &out, &errOut)
			if code != 1 {
				t.Fatalf("check-config: exit %d, want 1\nstdout: %s\nstderr: %s", code, out.String(), errOut.String())
			}
			checkProblem(t, "check-config", errOut.String(), want, c.says)

			out.Reset()
			errOut.Reset()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			code = run(ctx, []string{"serve", "--config", path, "--addr", "127.0.0.1:0", "--data-dir", filepath.Join(t.TempDir(), "data")}, &out, &errOut)
			if code != 1 {
				t.Fatalf("serve: exit %d, want 1\nstdout: %s\nstderr: %s", code, out.String(), errOut.String())
			}
			checkProblem(t, "serve", errOut.String(), want, c.says)
		})
	}
}

func checkProblem(t *testing.T, command, output, want string, says []string) {
	t.Helper()
	for line := range strings.Lines(output) {
		if i := strings.Index(line, want); i >= 0 {
			for _, s := range says {
				if !strings.Contains(line[i:], s) {
					t.Errorf("%s: the problem does not say %q:\n%s", command, s, line)
				}
			}
			return
		}
	}
	t.Errorf("%s: no problem starting %q in:\n%s", command, want, output)
}

// TestCheckConfigStillPassesAGoodFile: a file with every kind of member,
// options and a webhook whose secret is set is OK for check-config.
func TestCheckConfigStillPassesAGoodFile(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "north.xml"), []byte(`<collection/>`), 0o644)
	t.Setenv("COMMONSHELF_TEST_GOOD_SECRET", "s3cret")
	t.Setenv("COMMONSHELF_TEST_PRIMO_KEY", "k")
	path := filepath.Join(dir, "consortium.yaml")
	os.WriteFile(path, []byte(`consortium:
  id: c
  name: C
  defaults: {requests: {kinds: [loan]}}
institutions:
  - id: north
    name: North
    member: {connector: local, files: [north.xml], options: {record_url: "https://cat.north.example/r/{id}", max_concurrent: 2}}
    requests: {webhook: {url: "http://127.0.0.1:9/hook", secret_env: COMMONSHELF_TEST_GOOD_SECRET}}
  - id: south
    name: South
    member: {connector: sru, url: "http://127.0.0.1:9/south", options: {version: 2.0, record_schema: dc}}
  - id: east
    name: East
    member: {connector: primo, url: "https://api-eu.hosted.exlibrisgroup.com", options: {vid: "01EAST:MAIN", api_key_env: COMMONSHELF_TEST_PRIMO_KEY}}
  - id: west
    name: West
    member: {connector: solr, url: "http://127.0.0.1:9/solr/biblio", options: {fq: [format:Book]}}
  - id: central
    name: Central
    member: {connector: opensearch, url: "http://127.0.0.1:9/desc.xml", options: {type: application/rss+xml}}
    requests: {iso18626: {url: "http://127.0.0.1:9/iso"}}
`), 0o644)
	var out, errOut strings.Builder
	if code := run(context.Background(), []string{"check-config", path}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), "OK") {
		t.Fatalf("output %q", out.String())
	}
}
