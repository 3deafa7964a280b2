// Package local is the connector for a member catalogue harvested into its
// own bleve index on disk: MARC files (or any source of federate.Records) are
// imported into the index, and searches translate the query AST into bleve
// query objects.
package local

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/blevesearch/bleve/v2"
	"golang.org/x/sync/semaphore"
)

// Options configure an Index. The zero value is usable.
type Options struct {
	// RecordURL is the template of a record's page at the member; "{id}" is
	// replaced by the path-escaped record id and the result is added to each
	// found record's Links as "Catalogue record". "" adds no link.
	RecordURL string
	// MaxConcurrent bounds the searches running on this index at once (they
	// are CPU-bound); more wait for a slot until their context ends.
	// 0 means runtime.GOMAXPROCS(0).
	MaxConcurrent int
}

// Index is one member's harvested catalogue. It implements
// federate.Connector; Search, Count and Import may be called concurrently.
type Index struct {
	log    *slog.Logger
	member string
	dir    string
	opts   Options
	idx    bleve.Index
	sem    *semaphore.Weighted
}

// Open opens the index of member at dir, creating it (and its parent
// directories) if dir holds no index yet. An index built by an incompatible
// version of this package is refused: re-import into a new directory.
func Open(logger *slog.Logger, member, dir string, opts Options) (*Index, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if opts.MaxConcurrent <= 0 {
		opts.MaxConcurrent = runtime.GOMAXPROCS(0)
	}
	var (
		idx     bleve.Index
		err     error
		created bool
	)
	if _, statErr := os.Stat(filepath.Join(dir, "index_meta.json")); statErr == nil {
		idx, err = bleve.OpenUsing(dir, storeConfig())
		if err != nil {
			return nil, fmt.Errorf("local %s: open index %s (another process may have it open): %w", member, dir, err)
		}
	} else if errors.Is(statErr, os.ErrNotExist) {
		if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
			return nil, fmt.Errorf("local %s: create index %s: %w", member, dir, err)
		}
		m, err := newMapping()
		if err != nil {
			return nil, fmt.Errorf("local %s: create index %s: mapping: %w", member, dir, err)
		}
		idx, err = bleve.NewUsing(dir, m, bleve.Config.DefaultIndexType, bleve.Config.DefaultKVStore, storeConfig())
		if err != nil {
			return nil, fmt.Errorf("local %s: create index %s: %w", member, dir, err)
		}
		if err := idx.SetInternal([]byte(mappingKey), []byte(mappingVersion)); err != nil {
			idx.Close()
			return nil, fmt.Errorf("local %s: create index %s: %w", member, dir, err)
		}
		created = true
	} else {
		return nil, fmt.Errorf("local %s: open index %s: %w", member, dir, statErr)
	}
	if !created {
		v, err := idx.GetInternal([]byte(mappingKey))
		if err != nil {
			idx.Close()
			return nil, fmt.Errorf("local %s: open index %s: %w", member, dir, err)
		}
		if string(v) != mappingVersion {
			idx.Close()
			return nil, fmt.Errorf("local %s: open index %s: %w (index has %q, this build needs %q; re-import into a new directory)",
				member, dir, ErrIncompatibleIndex, v, mappingVersion)
		}
	}
	logger.Debug("local index open", "member", member, "dir", dir, "created", created)
	return &Index{
		log:    logger,
		member: member,
		dir:    dir,
		opts:   opts,
		idx:    idx,
		sem:    semaphore.NewWeighted(int64(opts.MaxConcurrent)),
	}, nil
}

// lockWait is how long Open waits for an index that another process (a
// running server, an import) holds open before giving up.
const lockWait = time.Second

func storeConfig() map[string]interface{} {
	return map[string]interface{}{"bolt_timeout": lockWait.String()}
}

// ErrIncompatibleIndex is returned by Open for an index whose mapping this
// build cannot search.
var ErrIncompatibleIndex = errors.New("index mapping version differs")

// Kind is "local".
func (x *Index) Kind() string { return "local" }

// Member is the id of the member whose catalogue this is.
func (x *Index) Member() string { return x.member }

// Count returns the number of records in the index.
func (x *Index) Count() (uint64, error) {
	n, err := x.idx.DocCount()
	if err != nil {
		return 0, fmt.Errorf("local %s: count: %w", x.member, err)
	}
	return n, nil
}

// Close closes the index. Searches and imports after Close fail.
func (x *Index) Close() error {
	if err := x.idx.Close(); err != nil {
		return fmt.Errorf("local %s: close: %w", x.member, err)
	}
	return nil
}
