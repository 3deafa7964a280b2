// Package connectors builds a member's connector from its configuration.
// Each protocol lives in its own package below this one.
package connectors

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/commonshelf/commonshelf/connectors/local"
	"github.com/commonshelf/commonshelf/connectors/opensearch"
	"github.com/commonshelf/commonshelf/connectors/primo"
	"github.com/commonshelf/commonshelf/connectors/solr"
	"github.com/commonshelf/commonshelf/connectors/sru"
	"github.com/commonshelf/commonshelf/consortium"
	"github.com/commonshelf/commonshelf/federate"
)

// Connector is a built member connector; Close releases what it holds
// (a local index's files, idle connections).
type Connector interface {
	federate.Connector
	io.Closer
}

// Built is the outcome of building one member's connector.
type Built struct {
	Connector Connector
	// Imported is non-nil when a local catalogue was (re)indexed from its
	// files during Build.
	Imported *local.ImportStats
	// Records is the number of records a local catalogue holds (0 for
	// remote connectors).
	Records uint64
}

// Build makes the connector of institution id from its member block.
// dataDir holds local indexes (dataDir/members/<id>). progress, if not nil,
// is told of a local import's progress.
func Build(ctx context.Context, logger *slog.Logger, id string, m *consortium.Member, dataDir string, progress func(local.ImportProgress)) (*Built, error) {
	switch m.Connector {
	case consortium.ConnectorLocal:
		return buildLocal(ctx, logger, id, m, dataDir, progress)
	case consortium.ConnectorSRU:
		c, err := sru.New(logger, id, m.URL, m.Options)
		return remote(c, err)
	case consortium.ConnectorPrimo:
		c, err := primo.New(logger, id, m.URL, m.Options)
		return remote(c, err)
	case consortium.ConnectorSolr:
		c, err := solr.New(logger, id, m.URL, m.Options)
		return remote(c, err)
	case consortium.ConnectorOpenSearch:
		c, err := opensearch.New(logger, id, m.URL, m.Options)
		return remote(c, err)
	default:
		return nil, fmt.Errorf("member %s: connector %q is not available in this version of Commonshelf (available: %s)", id, m.Connector, available)
	}
}

// available lists the connector kinds Build knows.
const available = "local, sru, primo, solr, opensearch"

// remote wraps a remote connector's constructor result.
func remote[C Connector](c C, err error) (*Built, error) {
	if err != nil {
		return nil, err
	}
	return &Built{Connector: c}, nil
}

func localOptions(id string, opts map[string]any) (local.Options, error) {
	var o local.Options
	for k, v := range opts {
		switch k {
		case "record_url":
			s, ok := v.(string)
			if !ok {
				return o, fmt.Errorf("member %s: options.record_url must be a string", id)
			}
			o.RecordURL = s
		case "max_concurrent":
			n, ok := v.(int)
			if !ok || n < 0 {
				return o, fmt.Errorf("member %s: options.max_concurrent must be a whole number, 0 or more", id)
			}
			o.MaxConcurrent = n
		default:
			return o, fmt.Errorf("member %s: unknown option %q for the local connector (known: %s)", id, k, strings.Join(localOptionNames, ", "))
		}
	}
	return o, nil
}

// importStamp records which files a local index was built from, so that a
// changed file list or an interrupted import leads to a rebuild.
type importStamp struct {
	Fingerprint string `json:"fingerprint"`
	Records     uint64 `json:"records"`
}

func buildLocal(ctx context.Context, logger *slog.Logger, id string, m *consortium.Member, dataDir string, progress func(local.ImportProgress)) (*Built, error) {
	opts, err := localOptions(id, m.Options)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(dataDir, "members", id)
	indexDir := filepath.Join(dir, "index.bleve")
	stampPath := filepath.Join(dir, "import.json")
	fp, err := fingerprint(m.Files)
	if err != nil {
		return nil, fmt.Errorf("member %s: %w", id, err)
	}
	var stamp importStamp
	if b, err := os.ReadFile(stampPath); err == nil {
		_ = json.Unmarshal(b, &stamp)
	}
	if stamp.Fingerprint != fp {
		// Files changed, or an earlier import did not finish: start afresh.
		if err := os.RemoveAll(indexDir); err != nil {
			return nil, fmt.Errorf("member %s: remove stale index: %w", id, err)
		}
	}
	idx, err := local.Open(logger, id, indexDir, opts)
	if err != nil {
		return nil, err
	}
	built := &Built{Connector: idx}
	if stamp.Fingerprint != fp {
		logger.Info("indexing member catalogue", "member", id, "files", len(m.Files))
		stats, err := idx.ImportFiles(ctx, m.Files, progress)
		if err != nil {
			idx.Close()
			return nil, fmt.Errorf("member %s: import: %w", id, err)
		}
		built.Imported = &stats
		n, _ := idx.Count()
		if err := writeStamp(stampPath, importStamp{Fingerprint: fp, Records: n}); err != nil {
			idx.Close()
			return nil, fmt.Errorf("member %s: %w", id, err)
		}
	}
	built.Records, _ = idx.Count()
	return built, nil
}

// fingerprint identifies a set of files by name, size and modification time.
func fingerprint(files []string) (string, error) {
	sorted := append([]string(nil), files...)
	sort.Strings(sorted)
	h := sha256.New()
	for _, f := range sorted {
		fi, err := os.Stat(f)
		if err != nil {
			return "", fmt.Errorf("catalogue file: %w", err)
		}
		fmt.Fprintf(h, "%s\x00%d\x00%d\n", f, fi.Size(), fi.ModTime().UnixNano())
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// writeStamp writes the stamp durably: a temporary file, synced, renamed.
func writeStamp(path string, s importStamp) error {
	b, _ := json.Marshal(s)
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("write import stamp: %w", err)
	}
	_, werr := f.Write(b)
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		return fmt.Errorf("write import stamp: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write import stamp: %w", err)
	}
	return nil
}

// BuildMembers builds the connector of every member of cfg, in file order,
// indexing local catalogues whose files are new or changed, and returns
// them as the Engine's members. The closers must be closed when done, also
// after an error.
func BuildMembers(ctx context.Context, logger *slog.Logger, cfg *consortium.Config, dataDir string) ([]federate.Member, []io.Closer, error) {
	var members []federate.Member
	var closers []io.Closer
	for _, inst := range cfg.Members() {
		start := time.Now()
		var last time.Time
		progress := func(p local.ImportProgress) {
			if time.Since(last) > 2*time.Second {
				last = time.Now()
				logger.Info("indexing", "member", inst.ID, "read", p.Read, "indexed", p.Indexed, "rejected", p.Rejected)
			}
		}
		b, err := Build(ctx, logger, inst.ID, inst.Member, dataDir, progress)
		if err != nil {
			return nil, closers, err
		}
		closers = append(closers, b.Connector)
		if b.Imported != nil {
			logger.Info("indexed member catalogue", "member", inst.ID, "read", b.Imported.Read, "indexed", b.Imported.Indexed,
				"rejected", b.Imported.Rejected, "took", time.Since(start).Round(time.Millisecond).String())
			for reason, n := range b.Imported.Reasons {
				logger.Info("rejected records", "member", inst.ID, "reason", reason, "count", n)
			}
		}
		logger.Info("member ready", "member", inst.ID, "connector", inst.Member.Connector, "records", b.Records)
		m := inst.Member
		members = append(members, federate.Member{
			ID: inst.ID, Name: inst.Name, Connector: b.Connector,
			Timeout: m.Timeout, MaxInFlight: m.MaxInFlight,
			BreakerFailures: m.Breaker.Failures, BreakerOpenFor: m.Breaker.OpenFor,
		})
	}
	return members, closers, nil
}
