package index

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/commonshelf/commonshelf/index/files"
	bolt "go.etcd.io/bbolt"
)

// File is a file attached to a citation: a scanned chapter, lecture notes,
// a syllabus. Its content lives once per SHA-256 in the store's files.Store;
// the citation holds this record. The JSON names are the public contract of
// the lists API.
type File struct {
	// ID names the attachment within the list ("f" and 20 base-32
	// characters).
	ID     string `json:"id"`
	SHA256 string `json:"sha256"`
	// Name is the uploader's file name, cleaned of paths and control
	// characters (files.CleanName).
	Name string `json:"name"`
	Size int64  `json:"size"`
	// Type is the media type detected from the content.
	Type string `json:"type"`
	// Copyright is one of the Copyright* constants.
	Copyright string   `json:"copyright"`
	Uploader  Uploader `json:"uploader"`
	// Uploaded is when the file was attached, RFC 3339.
	Uploaded string `json:"uploaded"`
}

// Uploader says who attached a file.
type Uploader struct {
	// Role is instructor, student or admin.
	Role string `json:"role"`
	// Name is the person's name when known (from the learning platform).
	Name string `json:"name,omitempty"`
	// Subject is the person's stable id at the platform (LTI sub), or the
	// API key's role for uploads through the API.
	Subject string `json:"subject,omitempty"`
	// Issuer is the learning platform the person signed in through (LTI
	// iss); Subject is unique only within it.
	Issuer string `json:"issuer,omitempty"`
	// Via is "lti" (a signed-in browser) or "api" (an API key).
	Via string `json:"via"`
}

// Copyright statuses of an attached file. Students see only cleared files.
const (
	CopyrightPending  = "pending"
	CopyrightCleared  = "cleared"
	CopyrightFairUse  = "fair-use"
	CopyrightLicensed = "licensed"
)

// CopyrightStatuses lists the statuses in the order they are documented.
var CopyrightStatuses = []string{CopyrightPending, CopyrightCleared, CopyrightFairUse, CopyrightLicensed}

// Attachment errors.
var (
	// ErrNoFiles: the store was opened without a files.Store.
	ErrNoFiles = errors.New("file attachments are not enabled")
	// ErrNoCitation: the list or the citation does not exist.
	ErrNoCitation = errors.New("no such list or citation")
	// ErrNoFile: the attachment does not exist.
	ErrNoFile = errors.New("no such file")
	// ErrTooManyFiles: the citation already holds MaxFilesPerCitation files.
	ErrTooManyFiles = fmt.Errorf("a citation holds at most %d files", MaxFilesPerCitation)
)

// MaxFilesPerCitation caps the files attached to one citation.
const MaxFilesPerCitation = 20

// QuotaError says an attachment would take an institution past its storage
// quota.
type QuotaError struct {
	Institution string
	Quota, Used int64 // bytes
	Size        int64 // the new content's size
}

func (e *QuotaError) Error() string {
	return fmt.Sprintf("institution %s would exceed its file storage quota of %d bytes (%d used, %d more)", e.Institution, e.Quota, e.Used, e.Size)
}

// Buckets of attachments: attachments holds
// "institution/list\x00citation\x00file" → File JSON; blobRefs holds
// sha256 → uint64 attachments using the content (consortium-wide);
// instBlobs holds "institution\x00sha256" → uint64 attachments of that
// institution using it; instUsage holds institution → uint64 bytes of the
// distinct content it uses (what its quota counts).
var (
	bucketAttachments = []byte("attachments")
	bucketBlobRefs    = []byte("blob_refs")
	bucketInstBlobs   = []byte("inst_blobs")
	bucketInstUsage   = []byte("inst_usage")
)

var attachmentBuckets = [][]byte{bucketAttachments, bucketBlobRefs, bucketInstBlobs, bucketInstUsage}

func attachmentPrefix(listKey string) []byte { return []byte(listKey + "\x00") }

func attachmentKey(listKey, citation, file string) []byte {
	return []byte(listKey + "\x00" + citation + "\x00" + file)
}

var fileIDEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

func newFileID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return "f" + fileIDEncoding.EncodeToString(b[:])[:20]
}

func getUint(b *bolt.Bucket, k []byte) uint64 {
	if v := b.Get(k); len(v) == 8 {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}

func putUint(b *bolt.Bucket, k []byte, n uint64) error {
	if n == 0 {
		return b.Delete(k)
	}
	return b.Put(k, seqBytes(n))
}

// blobGate orders uploads against the removal of unused content: an upload
// holds it for reading from before its content reaches the files.Store until
// its attachment is committed, so content that an upload has just found
// already stored cannot be removed under it. The remover only ever TryLocks,
// so uploads never wait for it; removals wait for a moment with no upload in
// flight (and are retried at every release and at Open).
type blobGate struct {
	mu      sync.RWMutex
	pending sync.Mutex
	queue   map[string]bool // content with no attachment left, to remove
}

// addRef records one more attachment of sha by inst in tx; the first one
// of an institution adds the content's size to its usage.
func addRef(tx *bolt.Tx, inst, sha string, size int64) error {
	refs, ib, usage := tx.Bucket(bucketBlobRefs), tx.Bucket(bucketInstBlobs), tx.Bucket(bucketInstUsage)
	if err := putUint(refs, []byte(sha), getUint(refs, []byte(sha))+1); err != nil {
		return err
	}
	k := []byte(inst + "\x00" + sha)
	n := getUint(ib, k)
	if n == 0 {
		if err := putUint(usage, []byte(inst), getUint(usage, []byte(inst))+uint64(size)); err != nil {
			return err
		}
	}
	return putUint(ib, k, n+1)
}

// dropRef removes one attachment of sha by inst in tx, reporting whether no
// attachment in the consortium uses the content any more.
func dropRef(tx *bolt.Tx, inst, sha string, size int64) (unused bool, err error) {
	refs, ib, usage := tx.Bucket(bucketBlobRefs), tx.Bucket(bucketInstBlobs), tx.Bucket(bucketInstUsage)
	k := []byte(inst + "\x00" + sha)
	if n := getUint(ib, k); n <= 1 {
		if err := ib.Delete(k); err != nil {
			return false, err
		}
		used := getUint(usage, []byte(inst))
		if err := putUint(usage, []byte(inst), used-min(used, uint64(size))); err != nil {
			return false, err
		}
	} else if err := putUint(ib, k, n-1); err != nil {
		return false, err
	}
	n := getUint(refs, []byte(sha))
	if n <= 1 {
		return true, refs.Delete([]byte(sha))
	}
	return false, putUint(refs, []byte(sha), n-1)
}

// detachTx removes the attachments of listKey whose citation keep rejects
// (every one when keep is nil), returning the content no longer used.
func detachTx(tx *bolt.Tx, inst, listKey string, keep func(citation string) bool) ([]string, error) {
	b := tx.Bucket(bucketAttachments)
	prefix := attachmentPrefix(listKey)
	var drop [][]byte
	var recs []File
	c := b.Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		citation, _, _ := strings.Cut(string(k[len(prefix):]), "\x00")
		if keep != nil && keep(citation) {
			continue
		}
		var f File
		if err := json.Unmarshal(v, &f); err != nil {
			return nil, fmt.Errorf("attachment %q: %w", k, err)
		}
		drop, recs = append(drop, bytes.Clone(k)), append(recs, f)
	}
	var unused []string
	for i, k := range drop {
		if err := b.Delete(k); err != nil {
			return nil, err
		}
		gone, err := dropRef(tx, inst, recs[i].SHA256, recs[i].Size)
		if err != nil {
			return nil, err
		}
		if gone {
			unused = append(unused, recs[i].SHA256)
		}
	}
	return unused, nil
}

// citationIDs returns the ids of l's citations.
func citationIDs(l *List) map[string]bool {
	ids := map[string]bool{}
	for _, s := range l.Sections {
		for _, c := range s.Citations {
			ids[c.ID] = true
		}
	}
	return ids
}

// Attach streams content (at most max bytes; f.Name is the type-detection
// hint) into the files.Store and attaches it as f to a citation of the list
// institution/listID, in one step that a crash cannot split visibly: the
// content is stored (or found already stored) first, then the attachment is
// committed; content stored without a committed attachment is removed at
// the next Open. f's ID, SHA256, Size, Type and Uploaded are set here.
// quota (bytes, > 0) caps the institution's distinct content; a
// *QuotaError says it would be passed (and nothing is attached). The list
// and citation are checked before any content is read (ErrNoCitation) and
// again at commit. The files.Store's errors (files.ErrTooLarge…) come back
// as they are.
func (s *Store) Attach(ctx context.Context, institution, listID, citation string, f File, content io.Reader, max, quota int64) (File, error) {
	if err := s.begin(); err != nil {
		return File{}, err
	}
	defer s.end()
	if s.opts.Files == nil {
		return File{}, ErrNoFiles
	}
	key := listKey(institution, listID)
	if ok, err := s.hasCitation(key, citation); err != nil {
		return File{}, fmt.Errorf("attach to %s citation %s: %w", key, citation, err)
	} else if !ok {
		return File{}, ErrNoCitation
	}
	f, unused, err := func() (File, []string, error) {
		s.gate.mu.RLock()
		defer s.gate.mu.RUnlock() // a panic must not close the gate for good
		return s.attachGated(ctx, institution, key, citation, f, content, max, quota)
	}()
	// Outside the gate: content this upload stored without attaching it,
	// and content others released while it ran, can go now.
	s.releaseUnused(unused...)
	return f, err
}

// attachGated is Attach's work while holding the gate for reading; unused
// is content it stored but did not attach.
func (s *Store) attachGated(ctx context.Context, institution, key, citation string, f File, content io.Reader, max, quota int64) (File, []string, error) {
	blob, err := s.opts.Files.Put(ctx, content, f.Name, max)
	if err != nil {
		return File{}, nil, err
	}
	if err := ctx.Err(); err != nil {
		return File{}, []string{blob.SHA256}, fmt.Errorf("attach to %s: %w", key, err)
	}
	f.ID, f.SHA256, f.Size, f.Type = newFileID(), blob.SHA256, blob.Size, blob.Type
	f.Uploaded = time.Now().UTC().Format(time.RFC3339)
	var existing *File
	err = s.update(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketLists).Get([]byte(key))
		if v == nil {
			return ErrNoCitation
		}
		_, l, err := decodeValue(v)
		if err != nil {
			return err
		}
		if !citationIDs(l)[citation] {
			return ErrNoCitation
		}
		// The same content on the same citation is the same file; a
		// citation holds at most MaxFilesPerCitation.
		prefix := []byte(key + "\x00" + citation + "\x00")
		n := 0
		c := tx.Bucket(bucketAttachments).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			var other File
			if err := json.Unmarshal(v, &other); err != nil {
				return fmt.Errorf("attachment %q: %w", k, err)
			}
			if other.SHA256 == blob.SHA256 {
				existing = &other
				return nil
			}
			n++
		}
		if n >= MaxFilesPerCitation {
			return ErrTooManyFiles
		}
		if getUint(tx.Bucket(bucketInstBlobs), []byte(institution+"\x00"+blob.SHA256)) == 0 {
			used := int64(getUint(tx.Bucket(bucketInstUsage), []byte(institution)))
			if used+blob.Size > quota {
				return &QuotaError{Institution: institution, Quota: quota, Used: used, Size: blob.Size}
			}
		}
		body, err := json.Marshal(f)
		if err != nil {
			return err
		}
		if err := tx.Bucket(bucketAttachments).Put(attachmentKey(key, citation, f.ID), body); err != nil {
			return err
		}
		return addRef(tx, institution, blob.SHA256, blob.Size)
	})
	var qe *QuotaError
	switch {
	case err == nil && existing != nil:
		return *existing, nil, nil
	case err == nil:
		return f, nil, nil
	case errors.Is(err, ErrNoCitation), errors.Is(err, ErrTooManyFiles), errors.As(err, &qe):
		return File{}, []string{blob.SHA256}, err
	}
	return File{}, []string{blob.SHA256}, fmt.Errorf("attach to %s citation %s: %w", key, citation, err)
}

// hasCitation reports whether the list key has the citation.
func (s *Store) hasCitation(key, citation string) (bool, error) {
	var ok bool
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketLists).Get([]byte(key))
		if v == nil {
			return nil
		}
		_, l, err := decodeValue(v)
		if err != nil {
			return err
		}
		ok = citationIDs(l)[citation]
		return nil
	})
	return ok, err
}

// File returns one attachment of a citation.
func (s *Store) File(institution, listID, citation, fileID string) (File, error) {
	if err := s.begin(); err != nil {
		return File{}, err
	}
	defer s.end()
	var f File
	found := false
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketAttachments).Get(attachmentKey(listKey(institution, listID), citation, fileID))
		if v == nil {
			return nil
		}
		found = true
		return json.Unmarshal(v, &f)
	})
	if err != nil {
		return File{}, fmt.Errorf("file %s of %s: %w", fileID, listKey(institution, listID), err)
	}
	if !found {
		return File{}, ErrNoFile
	}
	return f, nil
}

// SetCopyright changes an attachment's copyright status.
func (s *Store) SetCopyright(institution, listID, citation, fileID, status string) (File, error) {
	if err := s.begin(); err != nil {
		return File{}, err
	}
	defer s.end()
	if !slices.Contains(CopyrightStatuses, status) {
		return File{}, fmt.Errorf("copyright status %q is not one of %s", status, strings.Join(CopyrightStatuses, ", "))
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	var f File
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketAttachments)
		k := attachmentKey(listKey(institution, listID), citation, fileID)
		v := b.Get(k)
		if v == nil {
			return ErrNoFile
		}
		if err := json.Unmarshal(v, &f); err != nil {
			return err
		}
		f.Copyright = status
		body, err := json.Marshal(f)
		if err != nil {
			return err
		}
		return b.Put(k, body)
	})
	if err != nil {
		return File{}, err
	}
	return f, nil
}

// Detach removes one attachment; content no other attachment uses is
// removed from the files.Store.
func (s *Store) Detach(institution, listID, citation, fileID string) error {
	if err := s.begin(); err != nil {
		return err
	}
	defer s.end()
	var unused []string
	err := s.update(func(tx *bolt.Tx) error {
		k := attachmentKey(listKey(institution, listID), citation, fileID)
		v := tx.Bucket(bucketAttachments).Get(k)
		if v == nil {
			return ErrNoFile
		}
		var f File
		if err := json.Unmarshal(v, &f); err != nil {
			return err
		}
		if err := tx.Bucket(bucketAttachments).Delete(k); err != nil {
			return err
		}
		gone, err := dropRef(tx, institution, f.SHA256, f.Size)
		if gone {
			unused = append(unused, f.SHA256)
		}
		return err
	})
	if err != nil {
		if errors.Is(err, ErrNoFile) {
			return err
		}
		return fmt.Errorf("detach file %s of %s: %w", fileID, listKey(institution, listID), err)
	}
	s.releaseUnused(unused...)
	return nil
}

// FileUsage returns the bytes of distinct content institution's attachments
// use (what its quota counts).
func (s *Store) FileUsage(institution string) (int64, error) {
	if err := s.begin(); err != nil {
		return 0, err
	}
	defer s.end()
	var n uint64
	err := s.db.View(func(tx *bolt.Tx) error {
		n = getUint(tx.Bucket(bucketInstUsage), []byte(institution))
		return nil
	})
	return int64(n), err
}

// FilesEnabled reports whether the store takes file attachments.
func (s *Store) FilesEnabled() bool { return s.opts.Files != nil }

// OpenFile opens an attachment's content.
func (s *Store) OpenFile(f File) (files.Content, error) {
	if s.opts.Files == nil {
		return nil, ErrNoFiles
	}
	return s.opts.Files.Open(f.SHA256)
}

// releaseUnused queues content that may have no attachment left and removes
// what it can now (with no shas: retries what is queued).
func (s *Store) releaseUnused(shas ...string) {
	if s.opts.Files == nil {
		return
	}
	s.gate.pending.Lock()
	if s.gate.queue == nil {
		s.gate.queue = map[string]bool{}
	}
	for _, sha := range shas {
		s.gate.queue[sha] = true
	}
	empty := len(s.gate.queue) == 0
	s.gate.pending.Unlock()
	if !empty {
		s.removeUnused()
	}
}

// removeUnused removes queued content that no attachment uses, when no
// upload is in flight; otherwise it leaves the queue for a later call.
func (s *Store) removeUnused() {
	if !s.gate.mu.TryLock() {
		return
	}
	defer s.gate.mu.Unlock()
	s.gate.pending.Lock()
	queue := s.gate.queue
	s.gate.queue = nil
	s.gate.pending.Unlock()
	for sha := range queue {
		var used bool
		_ = s.db.View(func(tx *bolt.Tx) error {
			used = getUint(tx.Bucket(bucketBlobRefs), []byte(sha)) > 0
			return nil
		})
		if used {
			continue
		}
		if err := s.opts.Files.Remove(sha); err != nil {
			s.log.Warn("remove unused file content; it is retried at the next start", "sha256", sha, "err", err)
		}
	}
}

// sweepFiles removes content no attachment uses (left by a crash between
// storing content and committing its attachment, or by a removal that
// failed). Open calls it before any upload can run.
func (s *Store) sweepFiles() error {
	if s.opts.Files == nil {
		return nil
	}
	refs := map[string]bool{}
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketBlobRefs).ForEach(func(k, _ []byte) error {
			refs[string(k)] = true
			return nil
		})
	})
	if err != nil {
		return err
	}
	n, err := s.opts.Files.Sweep(func(sha string) bool { return refs[sha] })
	if n > 0 {
		s.log.Info("removed file content no attachment uses", "files", n)
	}
	return err
}

// fillFiles sets the Files of l's citations from the attachments in tx.
func fillFiles(tx *bolt.Tx, key string, l *List) error {
	prefix := attachmentPrefix(key)
	c := tx.Bucket(bucketAttachments).Cursor()
	byCitation := map[string][]File{}
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		citation, _, _ := strings.Cut(string(k[len(prefix):]), "\x00")
		var f File
		if err := json.Unmarshal(v, &f); err != nil {
			return fmt.Errorf("attachment %q: %w", k, err)
		}
		byCitation[citation] = append(byCitation[citation], f)
	}
	if len(byCitation) == 0 {
		return nil
	}
	for i := range l.Sections {
		for j := range l.Sections[i].Citations {
			c := &l.Sections[i].Citations[j]
			c.Files = byCitation[c.ID]
			slices.SortStableFunc(c.Files, func(a, b File) int { return strings.Compare(a.Uploaded, b.Uploaded) })
		}
	}
	return nil
}

// update runs fn in a write transaction under the store's write lock,
// released however fn ends.
func (s *Store) update(fn func(tx *bolt.Tx) error) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	return s.db.Update(fn)
}
