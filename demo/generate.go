// Package demo writes the embedded demo consortium: five member libraries
// whose catalogues are built deterministically from real bibliographic
// records (goodbooks-10k, a Library of Congress sample, Penn State and TRLN
// records, all embedded in the binary), and the consortium.yaml that
// `commonshelf serve --demo` loads. Each member catalogues the shared works
// in its own way, so that de-duplication across members is really
// exercised. data/NOTICE.md carries the attribution of every source set.
package demo

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/commonshelf/commonshelf/connectors/marc"
)

// ConfigName and StampName are the files Generate writes at the top of dir.
const (
	ConfigName = "consortium.yaml"
	StampName  = ".commonshelf-demo"
)

// Options change the consortium.yaml Generate writes. The catalogues do not
// depend on them: a change of options rewrites consortium.yaml alone.
type Options struct {
	// Platform is a learning platform that every institution registers for
	// LTI 1.3 launches (lti: platforms), and whose home page the gateway
	// links to; nil: none (no institution is reached through LTI).
	Platform *Platform
}

// Platform is a learning platform registered with every demo institution:
// the platform's issuer, endpoints and home page. The client id and
// deployment id of an institution are LMSClientID and LMSDeploymentID.
type Platform struct {
	Name    string // for people and logs, e.g. "Demo learning platform"; "" → Issuer
	Issuer  string // absolute http(s) URL; required
	AuthURL string // OIDC authorization endpoint; absolute http(s) URL; required
	JWKSURL string // the platform's public keys; absolute http(s) URL; required
	// HomeURL is the platform's page of course links, linked from the
	// gateway's external links; "" → no link.
	HomeURL string
}

// LMSClientID is the client id the demo learning platform gives
// Commonshelf at an institution.
func LMSClientID(institution string) string { return "commonshelf-" + institution }

// LMSDeploymentID is the deployment of Commonshelf at an institution on the
// demo learning platform.
func LMSDeploymentID(institution string) string { return institution + "-deployment-1" }

// Generate writes the demo consortium into dir without a learning platform:
// GenerateWith(dir, Options{}).
func Generate(dir string) (configPath string, err error) { return GenerateWith(dir, Options{}) }

// GenerateWith writes the demo consortium into dir (created if missing):
// dir/consortium.yaml, dir/members/<id>.xml.gz, the special collection
// files under dir/special/, and the attribution (NOTICE.md, licences/). It
// returns the path of consortium.yaml.
//
// It is deterministic: the same binary and options always write
// byte-identical files. If dir already holds the files of the same
// generator version (the stamp file says so and every file is there), they
// are not rewritten; consortium.yaml alone is, when it differs from what
// opts call for (a platform at another address). Files are written to a
// temporary name and renamed, and the stamp last, so an interrupted run is
// redone in full.
func GenerateWith(dir string, opts Options) (configPath string, err error) {
	if err := opts.check(); err != nil {
		return "", err
	}
	p, err := getPlan()
	if err != nil {
		return "", err
	}
	configPath = filepath.Join(dir, ConfigName)
	config := configYAML(p.stats, opts)
	if upToDate(dir, p.stats) {
		if cur, err := os.ReadFile(configPath); err == nil && bytes.Equal(cur, config) {
			return configPath, nil
		}
		if err := writeFile(dir, ConfigName, config); err != nil {
			return "", err
		}
		return configPath, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("demo: %w", err)
	}
	// A stale stamp must not vouch for a half-rewritten directory.
	if err := os.Remove(filepath.Join(dir, StampName)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("demo: %w", err)
	}
	for _, m := range Members {
		b, err := memberCatalogue(p, m)
		if err != nil {
			return "", err
		}
		if err := writeFile(dir, memberFile(m.ID), b); err != nil {
			return "", err
		}
	}
	for _, s := range specialFiles {
		b, err := readGz(s.Src)
		if err != nil {
			return "", err
		}
		if err := writeFile(dir, s.Dst, b); err != nil {
			return "", err
		}
	}
	for _, a := range attributionFiles {
		b, err := dataFS.ReadFile(a.src)
		if err != nil {
			return "", fmt.Errorf("demo: %w", err)
		}
		if err := writeFile(dir, a.dst, b); err != nil {
			return "", err
		}
	}
	if err := writeFile(dir, ConfigName, config); err != nil {
		return "", err
	}
	if err := writeFile(dir, StampName, []byte(p.stats.Version+"\n")); err != nil {
		return "", err
	}
	return configPath, nil
}

// check refuses a platform the configuration could not register.
func (o Options) check() error {
	pl := o.Platform
	if pl == nil {
		return nil
	}
	urls := []struct{ name, v string }{{"issuer", pl.Issuer}, {"auth URL", pl.AuthURL}, {"JWKS URL", pl.JWKSURL}}
	if pl.HomeURL != "" {
		urls = append(urls, struct{ name, v string }{"home URL", pl.HomeURL})
	}
	for _, u := range urls {
		p, err := url.Parse(u.v)
		if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return fmt.Errorf("demo: learning platform %s %q is not an absolute http(s) URL", u.name, u.v)
		}
	}
	return nil
}

// attributionFiles travel with the generated data.
var attributionFiles = []struct{ src, dst string }{
	{"data/NOTICE.md", "NOTICE.md"},
	{"data/goodbooks/LICENSE", "licenses/goodbooks-10k-LICENSE"},
	{"data/loc/LICENSE.txt", "licenses/loc-LICENSE.txt"},
	{"data/pennstate/LICENSE", "licenses/pennstate-LICENSE"},
	{"data/trln/LICENSE.txt", "licenses/trln-LICENSE.txt"},
}

// outputFiles lists every file Generate writes, relative to dir.
func outputFiles() []string {
	var out []string
	for _, m := range Members {
		out = append(out, memberFile(m.ID))
	}
	for _, s := range specialFiles {
		out = append(out, s.Dst)
	}
	for _, a := range attributionFiles {
		out = append(out, a.dst)
	}
	return append(out, ConfigName, StampName)
}

// upToDate reports whether dir holds a complete output of this version
// (consortium.yaml aside: it depends on the options and is checked by its
// content).
func upToDate(dir string, st *Stats) bool {
	b, err := os.ReadFile(filepath.Join(dir, StampName))
	if err != nil || strings.TrimSpace(string(b)) != st.Version {
		return false
	}
	for _, f := range outputFiles() {
		if f == ConfigName {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(f))); err != nil {
			return false
		}
	}
	return true
}

// writeFile writes data to dir/rel through a temporary file and a rename.
func writeFile(dir, rel string, data []byte) error {
	path := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	_, werr := tmp.Write(data)
	cerr := tmp.Close()
	if werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Chmod(tmp.Name(), 0o644)
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), path)
	}
	if werr != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("demo: writing %s: %w", rel, werr)
	}
	return nil
}

// memberCatalogue returns one member's goodbooks records as gzipped
// MARCXML, in book id order. The gzip header carries no name and no time,
// so the bytes depend on the records alone.
func memberCatalogue(p *plan, m Member) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	if err != nil {
		return nil, err
	}
	xw := marc.NewXMLWriter(zw)
	st := p.stats
	for i := range p.works {
		w := &p.works[i]
		if !holds(st.holders[w.ID], m.ID) {
			continue
		}
		if err := xw.Write(buildRecord(m, w, st.variant[w.ID])); err != nil {
			return nil, fmt.Errorf("demo: %s: %w", m.ID, err)
		}
	}
	if err := xw.Close(); err != nil {
		return nil, fmt.Errorf("demo: %s: %w", m.ID, err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("demo: %s: %w", m.ID, err)
	}
	return buf.Bytes(), nil
}
