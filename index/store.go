package index

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/commonshelf/commonshelf/index/files"
	bolt "go.etcd.io/bbolt"
	"golang.org/x/sync/semaphore"
)

// Options configure a Store. The zero value is usable.
type Options struct {
	// Languages maps an institution id to the ISO 639-1 code of the language
	// its lists are written in (one of Languages), which chooses the stemmer
	// of the index's stemmed fields. Institutions not in the map use
	// DefaultLanguage. Changing an institution's language rebuilds the index
	// at the next Open.
	Languages map[string]string
	// DefaultLanguage is the language of institutions not in Languages;
	// "" means "en".
	DefaultLanguage string
	// MaxConcurrentSearches bounds the bleve searches running at once (they
	// are CPU-bound); more wait for a slot until their context ends.
	// 0 means runtime.GOMAXPROCS(0).
	MaxConcurrentSearches int
	// Files stores the content of files attached to citations. Nil: lists
	// take no files (Attach returns ErrNoFiles).
	Files files.Store
}

// Store holds the resource lists. It is safe for concurrent use: writes are
// serialised, searches and reads run in parallel.
type Store struct {
	log  *slog.Logger
	dir  string
	opts Options
	db   *bolt.DB
	idx  bleve.Index
	sem  *semaphore.Weighted
	// stemLangs are the languages in use, whose analysers a query runs in.
	stemLangs []string

	// life is held for reading by every operation and for writing by Close.
	life   sync.RWMutex
	closed bool

	// writeMu serialises writes so that the index applies changes in
	// sequence order; applied is guarded by it.
	writeMu sync.Mutex
	applied uint64       // every change up to this sequence is in the index
	count   atomic.Int64 // lists in the database

	cites *citeIndex
	// gate orders uploads against the removal of unused file content.
	gate blobGate

	// What Open found and did (for logs, tests and pruning): the applied
	// sequence the index had on disk, how many sequence numbers it was
	// behind the database (replayed), whether it was rebuilt.
	openPersisted uint64
	openReplayed  uint64
	openRebuilt   bool
}

// PutResult says what a Put did.
type PutResult struct {
	// Created is true when the list did not exist before.
	Created bool `json:"created"`
	// Sequence is the store's change number of the list's current version;
	// an unchanged list (idempotent Put) keeps its earlier sequence. It
	// counts every list's changes, so it is for this process only: it must
	// not be shown to API callers (it would tell them how busy the store
	// is). Version is what callers get.
	Sequence uint64 `json:"-"`
	// Version identifies the content of the list's current version (16 hex
	// digits of the SHA-256 of the stored list): an unchanged list keeps its
	// version, and it says nothing about other lists.
	Version string `json:"version"`
}

// listVersion is PutResult.Version of a stored list's JSON.
func listVersion(body []byte) string {
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:8])
}

// Errors.
var (
	// ErrInvalidList marks a list that failed validation; the error is a
	// *ValidationError listing the problems.
	ErrInvalidList = errors.New("invalid resource list")
	// ErrClosed is returned by every method of a closed Store.
	ErrClosed = errors.New("resource list store is closed")
	// ErrNotWritten is PutBatch's answer for lists it did not get to
	// because an earlier part of the batch failed to commit.
	ErrNotWritten = errors.New("not written: an earlier part of the batch failed")
)

// ValidationError lists the problems that kept a list from being stored.
type ValidationError struct {
	Key    string // "institution/id" as given
	Errors []FieldError
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "list %s: ", e.Key)
	for i, fe := range e.Errors {
		if i > 0 {
			b.WriteString("; ")
		}
		if i == 3 {
			fmt.Fprintf(&b, "and %d more", len(e.Errors)-3)
			break
		}
		b.WriteString(fe.Error())
	}
	return b.String()
}

func (e *ValidationError) Is(target error) bool { return target == ErrInvalidList }

// On-disk names.
const (
	dbFile    = "lists.db"
	indexDir  = "lists.bleve"
	lockWait  = time.Second
	batchSize = 100 // lists per transaction in PutBatch
	replayMax = 200 // lists per index batch when replaying
)

// Buckets: lists holds key → 8-byte big-endian sequence + list JSON;
// changes holds sequence → key for the latest change of each key (a key
// absent from lists is a deletion not yet known to be in the index). The
// changes bucket's own sequence is the store's change counter.
var (
	bucketLists   = []byte("lists")
	bucketChanges = []byte("changes")
)

// Internal keys of the bleve index.
var (
	internalApplied   = []byte("commonshelf.index.applied")
	internalMapping   = []byte("commonshelf.index.mapping")
	internalLanguages = []byte("commonshelf.index.languages")
)

// Open opens (creating if needed) the store in dir with default Options.
func Open(logger *slog.Logger, dir string) (*Store, error) {
	return OpenWithOptions(logger, dir, Options{})
}

// OpenWithOptions opens (creating if needed) the store in dir: the database
// dir/lists.db and the index dir/lists.bleve. It brings the index up to date
// with the database — replaying the changes it lacks, or rebuilding it when
// it is missing, unreadable, built by another version or for other
// languages — and loads the in-memory citation maps. Another process holding
// the store open makes Open fail after a second.
func OpenWithOptions(logger *slog.Logger, dir string, opts Options) (*Store, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if opts.DefaultLanguage == "" {
		opts.DefaultLanguage = "en"
	}
	if !supportedLanguage(opts.DefaultLanguage) {
		return nil, fmt.Errorf("open lists %s: default language %q has no analyser; use one of %s", dir, opts.DefaultLanguage, strings.Join(Languages, ", "))
	}
	for inst, lang := range opts.Languages {
		if !supportedLanguage(lang) {
			return nil, fmt.Errorf("open lists %s: institution %s: language %q has no analyser; use one of %s", dir, inst, lang, strings.Join(Languages, ", "))
		}
	}
	if opts.MaxConcurrentSearches <= 0 {
		opts.MaxConcurrentSearches = runtime.GOMAXPROCS(0)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("open lists %s: %w", dir, err)
	}
	db, err := bolt.Open(filepath.Join(dir, dbFile), 0o600, &bolt.Options{Timeout: lockWait})
	if err != nil {
		return nil, fmt.Errorf("open lists database %s (another process may have it open): %w", filepath.Join(dir, dbFile), err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range append([][]byte{bucketLists, bucketChanges}, attachmentBuckets...) {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open lists database %s: %w", dir, err)
	}
	s := &Store{
		log:   logger,
		dir:   dir,
		opts:  opts,
		db:    db,
		sem:   semaphore.NewWeighted(int64(opts.MaxConcurrentSearches)),
		cites: newCiteIndex(),
	}
	s.stemLangs = usedLanguages(opts)
	if err := s.openIndex(); err != nil {
		db.Close()
		return nil, err
	}
	if err := s.load(); err != nil {
		s.idx.Close()
		db.Close()
		return nil, err
	}
	if err := s.sweepFiles(); err != nil {
		s.idx.Close()
		db.Close()
		return nil, fmt.Errorf("open lists %s: sweep file content: %w", dir, err)
	}
	return s, nil
}

func usedLanguages(o Options) []string {
	set := map[string]bool{o.DefaultLanguage: true}
	for _, l := range o.Languages {
		set[l] = true
	}
	return sortedKeys(set)
}

// languageKey is the fingerprint of the language choices the index was
// built with.
func languageKey(o Options) string {
	parts := []string{"*=" + o.DefaultLanguage}
	for inst, lang := range o.Languages {
		parts = append(parts, inst+"="+lang)
	}
	sort.Strings(parts)
	return strings.Join(parts, ";")
}

func (s *Store) language(institution string) string {
	if l, ok := s.opts.Languages[institution]; ok {
		return l
	}
	return s.opts.DefaultLanguage
}

// openIndex opens the bleve index, or rebuilds it empty when it cannot be
// trusted, then replays the database changes it lacks.
func (s *Store) openIndex() error {
	path := filepath.Join(s.dir, indexDir)
	var lastSeq uint64
	if err := s.db.View(func(tx *bolt.Tx) error {
		lastSeq = tx.Bucket(bucketChanges).Sequence()
		return nil
	}); err != nil {
		return fmt.Errorf("open lists database %s: %w", s.dir, err)
	}

	reason := ""
	idx, err := openExisting(path)
	switch {
	case errors.Is(err, bleve.ErrorIndexPathDoesNotExist) || errors.Is(err, bleve.ErrorIndexMetaMissing):
		reason = "index missing"
	case err != nil:
		reason = "index unreadable: " + err.Error()
	default:
		applied, why := checkIndex(idx, languageKey(s.opts), lastSeq)
		if why != "" {
			idx.Close()
			reason = why
		} else {
			s.idx, s.applied = idx, applied
		}
	}
	if reason != "" {
		if lastSeq > 0 {
			s.log.Warn("lists index rebuilt from the database", "dir", path, "reason", reason)
		}
		if err := os.RemoveAll(path); err != nil {
			return fmt.Errorf("rebuild lists index %s: %w", path, err)
		}
		idx, err := bleve.NewUsing(path, newMapping(), bleve.Config.DefaultIndexType, bleve.Config.DefaultKVStore, indexConfig())
		if err != nil {
			return fmt.Errorf("create lists index %s: %w", path, err)
		}
		b := idx.NewBatch()
		b.SetInternal(internalMapping, []byte(mappingVersion))
		b.SetInternal(internalLanguages, []byte(languageKey(s.opts)))
		b.SetInternal(internalApplied, seqBytes(0))
		if err := idx.Batch(b); err != nil {
			idx.Close()
			return fmt.Errorf("create lists index %s: %w", path, err)
		}
		s.idx, s.applied = idx, 0
		s.openRebuilt = true
	}
	behind := lastSeq - s.applied
	s.openReplayed = behind
	s.openPersisted = s.applied
	start := time.Now()
	if err := s.replay(); err != nil {
		s.idx.Close()
		return fmt.Errorf("bring lists index %s up to date: %w", path, err)
	}
	if behind > 0 {
		s.log.Info("lists index brought up to date", "dir", path, "changes", behind, "took", time.Since(start).Round(time.Millisecond))
	}
	return nil
}

// openExisting opens the index at path. Damaged files can make bleve panic
// rather than fail; either way the index is rebuilt.
func openExisting(path string) (idx bleve.Index, err error) {
	defer func() {
		if r := recover(); r != nil {
			idx, err = nil, fmt.Errorf("opening the index panicked: %v", r)
		}
	}()
	return bleve.OpenUsing(path, indexConfig())
}

// indexConfig is the bleve runtime configuration. A batch returns once it
// is searchable, without waiting for bleve to write it to disk
// ("unsafe_batch"): the database, not the index, makes a write durable, and
// the applied sequence bleve persists together with the documents tells
// Open what to replay, so a write need not wait for a second fsync.
func indexConfig() map[string]interface{} {
	return map[string]interface{}{"bolt_timeout": lockWait.String(), "unsafe_batch": true}
}

// checkIndex returns the sequence an existing index has applied, or why it
// cannot be used as it is.
func checkIndex(idx bleve.Index, langs string, lastSeq uint64) (uint64, string) {
	v, err := idx.GetInternal(internalMapping)
	if err != nil {
		return 0, "index unreadable: " + err.Error()
	}
	if string(v) != mappingVersion {
		return 0, fmt.Sprintf("index built with mapping %q, this version uses %q", v, mappingVersion)
	}
	l, err := idx.GetInternal(internalLanguages)
	if err != nil {
		return 0, "index unreadable: " + err.Error()
	}
	if string(l) != langs {
		return 0, "institution languages changed"
	}
	a, err := idx.GetInternal(internalApplied)
	if err != nil || len(a) != 8 {
		return 0, "index has no applied sequence"
	}
	applied := binary.BigEndian.Uint64(a)
	if applied > lastSeq {
		return 0, fmt.Sprintf("index is ahead of the database (%d > %d): the database was replaced", applied, lastSeq)
	}
	return applied, ""
}

// change is one database change to apply to the index: a list to index, or
// (list nil) a key to delete.
type change struct {
	seq  uint64
	key  string
	list *List
	// unused is file content no attachment uses after the change.
	unused []string
}

// replay applies to the index every change after s.applied, in order and in
// batches, each batch recording its last sequence. Callers hold writeMu (or
// are Open).
func (s *Store) replay() error {
	for {
		var batch []change
		err := s.db.View(func(tx *bolt.Tx) error {
			lists := tx.Bucket(bucketLists)
			c := tx.Bucket(bucketChanges).Cursor()
			for k, v := c.Seek(seqBytes(s.applied + 1)); k != nil && len(batch) < replayMax; k, v = c.Next() {
				ch := change{seq: binary.BigEndian.Uint64(k), key: string(v)}
				if val := lists.Get(v); val != nil {
					seq, l, err := decodeValue(val)
					if err != nil {
						return fmt.Errorf("list %s: %w", v, err)
					}
					if seq != ch.seq { // superseded: its newer change follows
						continue
					}
					ch.list = l
				}
				batch = append(batch, ch)
			}
			return nil
		})
		if err != nil {
			return err
		}
		if len(batch) == 0 {
			return nil
		}
		if err := s.apply(batch); err != nil {
			return err
		}
	}
}

// apply writes changes to the index in one batch with the last one's
// sequence as the applied mark.
func (s *Store) apply(changes []change) error {
	b := s.idx.NewBatch()
	for _, ch := range changes {
		if ch.list == nil {
			b.Delete(ch.key)
			continue
		}
		if err := b.Index(ch.key, document(ch.list, s.language(ch.list.Institution), ch.seq)); err != nil {
			return fmt.Errorf("index list %s: %w", ch.key, err)
		}
	}
	last := changes[len(changes)-1].seq
	b.SetInternal(internalApplied, seqBytes(last))
	if err := s.idx.Batch(b); err != nil {
		return fmt.Errorf("index %d changes up to %d: %w", len(changes), last, err)
	}
	s.applied = last
	return nil
}

// index brings the index up to date after a commit whose changes are given:
// directly when the index was up to date before them, else by replaying
// from the database. A failure is logged, not returned: the write is already
// durable, and the next write (or Open) replays what is missing.
func (s *Store) index(changes []change) {
	if len(changes) == 0 {
		return
	}
	var err error
	if changes[0].seq == s.applied+1 && isContiguous(changes) {
		err = s.apply(changes)
	} else {
		err = s.replay()
	}
	if err != nil {
		s.log.Error("lists index update failed; the lists are stored and will be indexed on the next write or start", "err", err, "applied", s.applied)
	}
}

func isContiguous(changes []change) bool {
	for i := 1; i < len(changes); i++ {
		if changes[i].seq != changes[i-1].seq+1 {
			return false
		}
	}
	return true
}

// load counts the lists, rebuilds the citation maps and prunes change
// entries the index no longer needs: deletions and superseded versions the
// index had on disk at Open. (Not those replayed since: with unsafe_batch
// they may not have reached the disk yet, and a crash would need them.)
func (s *Store) load() error {
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketLists).ForEach(func(k, v []byte) error {
			_, l, err := decodeValue(v)
			if err != nil {
				return fmt.Errorf("list %s: %w", k, err)
			}
			s.count.Add(1)
			s.cites.set(string(k), l)
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("load lists %s: %w", s.dir, err)
	}
	err = s.db.Update(func(tx *bolt.Tx) error {
		lists, changes := tx.Bucket(bucketLists), tx.Bucket(bucketChanges)
		var stale [][]byte
		c := changes.Cursor()
		for k, v := c.First(); k != nil && binary.BigEndian.Uint64(k) <= s.openPersisted; k, v = c.Next() {
			if cur := lists.Get(v); cur == nil || !bytes.Equal(cur[:8], k) {
				stale = append(stale, bytes.Clone(k))
			}
		}
		for _, k := range stale {
			if err := changes.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("prune list deletions %s: %w", s.dir, err)
	}
	return nil
}

func seqBytes(n uint64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], n)
	return b[:]
}

func encodeValue(seq uint64, body []byte) []byte {
	v := make([]byte, 8+len(body))
	binary.BigEndian.PutUint64(v, seq)
	copy(v[8:], body)
	return v
}

// decodeValue reads a stored value; the list does not share memory with v.
func decodeValue(v []byte) (uint64, *List, error) {
	if len(v) < 8 {
		return 0, nil, errors.New("stored value too short")
	}
	var l List
	if err := json.Unmarshal(v[8:], &l); err != nil {
		return 0, nil, fmt.Errorf("stored list unreadable: %w", err)
	}
	return binary.BigEndian.Uint64(v), &l, nil
}

// begin holds the store open for one operation.
func (s *Store) begin() error {
	s.life.RLock()
	if s.closed {
		s.life.RUnlock()
		return ErrClosed
	}
	return nil
}

func (s *Store) end() { s.life.RUnlock() }

// Put stores l (creating or replacing the list l.Institution/l.ID) and
// indexes it. It returns once the database has committed the change; the
// index is updated before it returns too, so a search right after sees the
// list. A list equal to the stored one is left alone (Created false, the
// stored Sequence): Put is idempotent. When l.Updated is empty Put sets it:
// to the stored list's time if nothing else changed, else to now.
// Validation problems come back as a *ValidationError (ErrInvalidList).
func (s *Store) Put(ctx context.Context, l *List) (PutResult, error) {
	if err := s.begin(); err != nil {
		return PutResult{}, err
	}
	defer s.end()
	if errs := l.Validate(); len(errs) > 0 {
		return PutResult{}, &ValidationError{Key: l.Key(), Errors: errs}
	}
	if err := ctx.Err(); err != nil {
		return PutResult{}, fmt.Errorf("put list %s: %w", l.Key(), err)
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	var res PutResult
	var chs []change
	err := s.db.Update(func(tx *bolt.Tx) error {
		var err error
		res, chs, err = s.putTx(tx, l)
		return err
	})
	if err != nil {
		return PutResult{}, fmt.Errorf("put list %s: %w", l.Key(), err)
	}
	s.afterCommit(chs, res.Created)
	return res, nil
}

// putTx writes l in tx unless it equals the stored version.
func (s *Store) putTx(tx *bolt.Tx, l *List) (PutResult, []change, error) {
	lists, changes := tx.Bucket(bucketLists), tx.Bucket(bucketChanges)
	key := []byte(l.Key())
	old := lists.Get(key)
	setUpdated := l.Updated == ""
	for i := range l.Sections {
		for j := range l.Sections[i].Citations {
			l.Sections[i].Citations[j].Files = nil // attached through Attach only
		}
	}
	if old != nil {
		oldSeq := binary.BigEndian.Uint64(old)
		if setUpdated {
			var prev struct {
				Updated string `json:"updated"`
			}
			if json.Unmarshal(old[8:], &prev) == nil {
				l.Updated = prev.Updated
			}
		}
		body, err := json.Marshal(l)
		if err != nil {
			return PutResult{}, nil, err
		}
		if bytes.Equal(body, old[8:]) {
			return PutResult{Created: false, Sequence: oldSeq, Version: listVersion(body)}, nil, nil
		}
		if err := changes.Delete(seqBytes(oldSeq)); err != nil {
			return PutResult{}, nil, err
		}
	}
	if setUpdated {
		l.Updated = time.Now().UTC().Format(time.RFC3339)
	}
	body, err := json.Marshal(l)
	if err != nil {
		return PutResult{}, nil, err
	}
	seq, err := changes.NextSequence()
	if err != nil {
		return PutResult{}, nil, err
	}
	if err := changes.Put(seqBytes(seq), key); err != nil {
		return PutResult{}, nil, err
	}
	if err := lists.Put(key, encodeValue(seq, body)); err != nil {
		return PutResult{}, nil, err
	}
	var unused []string
	if old != nil { // files of citations the new version drops go with them
		ids := citationIDs(l)
		if unused, err = detachTx(tx, l.Institution, string(key), func(c string) bool { return ids[c] }); err != nil {
			return PutResult{}, nil, err
		}
	}
	// The index and the citation maps get a private copy: the caller keeps l.
	var stored List
	if err := json.Unmarshal(body, &stored); err != nil {
		return PutResult{}, nil, err
	}
	return PutResult{Created: old == nil, Sequence: seq, Version: listVersion(body)}, []change{{seq: seq, key: string(key), list: &stored, unused: unused}}, nil
}

// afterCommit updates the index, the citation maps and the count for
// committed changes. Callers hold writeMu.
func (s *Store) afterCommit(chs []change, created ...bool) {
	s.index(chs)
	for i, ch := range chs {
		s.releaseUnused(ch.unused...)
		if ch.list == nil {
			s.cites.remove(ch.key)
			continue
		}
		s.cites.set(ch.key, ch.list)
		if i < len(created) && created[i] {
			s.count.Add(1)
		}
	}
}

// PutBatch stores many lists, for bulk imports: up to 100 lists per
// database transaction, each transaction acknowledged by its commit and then
// indexed. The first result has one entry per list: nil when it was stored
// (or was already stored unchanged), a *ValidationError when it was invalid
// (the others are still stored), ErrNotWritten when an earlier transaction
// failed. The second result is that failure (or ctx's error between
// transactions); lists before it are durable.
func (s *Store) PutBatch(ctx context.Context, ls []*List) ([]error, error) {
	if err := s.begin(); err != nil {
		return nil, err
	}
	defer s.end()
	errs := make([]error, len(ls))
	valid := make([]int, 0, len(ls))
	for i, l := range ls {
		if l == nil {
			errs[i] = &ValidationError{Errors: []FieldError{{Message: "is empty"}}}
			continue
		}
		if fe := l.Validate(); len(fe) > 0 {
			errs[i] = &ValidationError{Key: l.Key(), Errors: fe}
			continue
		}
		valid = append(valid, i)
	}
	for start := 0; start < len(valid); start += batchSize {
		chunk := valid[start:min(start+batchSize, len(valid))]
		err := ctx.Err()
		if err == nil {
			err = s.putChunk(ls, chunk)
		}
		if err != nil {
			for _, i := range valid[start:] {
				errs[i] = ErrNotWritten
			}
			return errs, fmt.Errorf("put %d lists: %w", len(ls), err)
		}
	}
	return errs, nil
}

func (s *Store) putChunk(ls []*List, chunk []int) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	var chs []change
	var created []bool
	err := s.db.Update(func(tx *bolt.Tx) error {
		chs, created = chs[:0], created[:0]
		for _, i := range chunk {
			res, ch, err := s.putTx(tx, ls[i])
			if err != nil {
				return fmt.Errorf("list %s: %w", ls[i].Key(), err)
			}
			if len(ch) > 0 { // else unchanged: nothing to index
				chs = append(chs, ch[0])
				created = append(created, res.Created)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.afterCommit(chs, created...)
	return nil
}

// Delete removes the list institution/id. It reports whether the list
// existed; it returns once the deletion is committed (and applied to the
// index and the citation maps).
func (s *Store) Delete(ctx context.Context, institution, id string) (bool, error) {
	if err := s.begin(); err != nil {
		return false, err
	}
	defer s.end()
	key := listKey(institution, id)
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("delete list %s: %w", key, err)
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	var chs []change
	err := s.db.Update(func(tx *bolt.Tx) error {
		lists, changes := tx.Bucket(bucketLists), tx.Bucket(bucketChanges)
		old := lists.Get([]byte(key))
		if old == nil {
			return nil
		}
		if err := changes.Delete(old[:8]); err != nil {
			return err
		}
		seq, err := changes.NextSequence()
		if err != nil {
			return err
		}
		if err := changes.Put(seqBytes(seq), []byte(key)); err != nil {
			return err
		}
		if err := lists.Delete([]byte(key)); err != nil {
			return err
		}
		unused, err := detachTx(tx, institution, key, nil)
		if err != nil {
			return err
		}
		chs = []change{{seq: seq, key: key, unused: unused}}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("delete list %s: %w", key, err)
	}
	if len(chs) == 0 {
		return false, nil
	}
	s.afterCommit(chs)
	s.count.Add(-1)
	return true, nil
}

// Get returns the stored list institution/id, or false.
func (s *Store) Get(institution, id string) (*List, bool, error) {
	if err := s.begin(); err != nil {
		return nil, false, err
	}
	defer s.end()
	key := listKey(institution, id)
	var l *List
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketLists).Get([]byte(key))
		if v == nil {
			return nil
		}
		var err error
		if _, l, err = decodeValue(v); err != nil {
			return err
		}
		return fillFiles(tx, key, l)
	})
	if err != nil {
		return nil, false, fmt.Errorf("get list %s: %w", key, err)
	}
	return l, l != nil, nil
}

// Count returns the number of lists stored.
func (s *Store) Count() (int, error) {
	if err := s.begin(); err != nil {
		return 0, err
	}
	defer s.end()
	return int(s.count.Load()), nil
}

// Sequence returns the store's last change number.
func (s *Store) Sequence() (uint64, error) {
	if err := s.begin(); err != nil {
		return 0, err
	}
	defer s.end()
	var seq uint64
	err := s.db.View(func(tx *bolt.Tx) error {
		seq = tx.Bucket(bucketChanges).Sequence()
		return nil
	})
	return seq, err
}

// flush waits (a bounded time) until bleve has written the index to disk,
// so that the next Open has nothing to replay. Failing that, it replays.
func (s *Store) flush() {
	done := make(chan error, 1)
	b := s.idx.NewBatch()
	b.SetInternal(internalApplied, seqBytes(s.applied))
	b.SetPersistedCallback(func(err error) { done <- err })
	if err := s.idx.Batch(b); err != nil {
		s.log.Warn("lists index not flushed at close; the next start replays recent changes", "err", err)
		return
	}
	select {
	case err := <-done:
		if err != nil {
			s.log.Warn("lists index not flushed at close; the next start replays recent changes", "err", err)
		}
	case <-time.After(flushWait):
		s.log.Warn("lists index not flushed at close in time; the next start replays recent changes", "waited", flushWait)
	}
}

// flushWait bounds how long Close waits for the index to reach the disk.
const flushWait = 10 * time.Second

// Close waits for operations in flight, then closes the index and the
// database. Methods called after Close return ErrClosed; Close itself may be
// called again.
func (s *Store) Close() error {
	s.life.Lock()
	defer s.life.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	s.flush()
	err := s.idx.Close()
	if dbErr := s.db.Close(); err == nil {
		err = dbErr
	}
	if err != nil {
		return fmt.Errorf("close lists %s: %w", s.dir, err)
	}
	return nil
}
