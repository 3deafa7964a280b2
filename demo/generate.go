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

// Generate writes the demo consortium into dir (created if missing):
// dir/consortium.yaml, dir/members/<id>.xml.gz, the special collection
// files under dir/special/, and the attribution (NOTICE.md, licences/). It
// returns the path of consortium.yaml.
//
// It is deterministic: the same binary always writes byte-identical files.
// If dir already holds the files of the same generator version (the stamp
// file says so and every file is there), it returns at once without
// rewriting anything. Files are written to a temporary name and renamed,
// and the stamp last, so an interrupted run is redone in full.
func Generate(dir string) (configPath string, err error) {
	p, err := getPlan()
	if err != nil {
		return "", err
	}
	configPath = filepath.Join(dir, ConfigName)
	if upToDate(dir, p.stats) {
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
	if err := writeFile(dir, ConfigName, configYAML(p.stats)); err != nil {
		return "", err
	}
	if err := writeFile(dir, StampName, []byte(p.stats.Version+"\n")); err != nil {
		return "", err
	}
	return configPath, nil
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

// upToDate reports whether dir holds a complete output of this version.
func upToDate(dir string, st *Stats) bool {
	b, err := os.ReadFile(filepath.Join(dir, StampName))
	if err != nil || strings.TrimSpace(string(b)) != st.Version {
		return false
	}
	for _, f := range outputFiles() {
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
