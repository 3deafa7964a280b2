package files

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"
)

const (
	filePerm = 0o640
	dirPerm  = 0o750

	// copyBufSize is the buffer Put streams through; Put never holds more
	// of the content in memory than this and the first SniffLen bytes.
	copyBufSize = 32 << 10

	blobsDir = "sha256"
	tmpDir   = "tmp"
	tmpExt   = ".part"

	// lockStripes is the number of locks the SHA-256s share.
	lockStripes = 64
)

// Disk is a Store on a local file system (see the package documentation
// for its layout and guarantees). It is safe for concurrent use; one Disk
// (one process) owns its directory.
type Disk struct {
	dir   string
	blobs string // dir/sha256
	tmp   string // dir/tmp

	locks [lockStripes]sync.Mutex

	// active holds the names of the temporary files of the Puts in
	// flight, which Sweep must leave alone.
	activeMu sync.Mutex
	active   map[string]struct{}

	// beforeCommit, when set (by tests), runs after Put has read and
	// synced the content and before it takes the blob's lock.
	beforeCommit func(sha string)
}

var _ Store = (*Disk)(nil)

// putBuffers are the per-Put buffers, reused across Puts.
type putBuffers struct {
	copy [copyBufSize]byte
	head [SniffLen]byte
}

var bufPool = sync.Pool{New: func() any { return new(putBuffers) }}

// OpenDisk opens the store rooted at dir, creating the directories it
// needs, and deletes every temporary file left by an earlier run (an
// upload cut by a crash or a lost connection).
func OpenDisk(dir string) (*Disk, error) {
	if dir == "" {
		return nil, errors.New("open file store: no directory given")
	}
	d := &Disk{
		dir:    dir,
		blobs:  filepath.Join(dir, blobsDir),
		tmp:    filepath.Join(dir, tmpDir),
		active: map[string]struct{}{},
	}
	for _, p := range []string{d.blobs, d.tmp} {
		if err := os.MkdirAll(p, dirPerm); err != nil {
			return nil, fmt.Errorf("open file store %s: %w", dir, err)
		}
	}
	if _, err := d.removeTemps(); err != nil {
		return nil, fmt.Errorf("open file store %s: %w", dir, err)
	}
	return d, nil
}

// Dir returns the directory the store is rooted at.
func (d *Disk) Dir() string { return d.dir }

// Put implements Store. The content is written to a temporary file in
// dir/tmp through a fixed buffer while it is hashed and its first bytes are
// kept for Detect; ctx is checked before every read (a read blocked in r is
// not interrupted: close the request body, or set a read deadline, to end
// it). Once r is exhausted the file is fsynced and, under the SHA-256's
// lock, either discarded for an existing blob of the same content or
// renamed into place, after which its directory is fsynced.
func (d *Disk) Put(ctx context.Context, r io.Reader, name string, max int64) (Blob, error) {
	if err := ctx.Err(); err != nil {
		return Blob{}, fmt.Errorf("store file %q: %w", name, err)
	}
	tmp, f, err := d.createTemp()
	if err != nil {
		return Blob{}, fmt.Errorf("store file %q: %w", name, err)
	}
	defer d.release(tmp)
	committed := false
	defer func() {
		if !committed {
			_ = f.Close() // a second Close only reports os.ErrClosed
			_ = os.Remove(tmp)
		}
	}()

	bufs := bufPool.Get().(*putBuffers)
	defer bufPool.Put(bufs)
	h := sha256.New()
	var size int64
	var headLen int
	lr := LimitReader(r, max)
	for {
		if err := ctx.Err(); err != nil {
			return Blob{}, fmt.Errorf("store file %q: %w", name, err)
		}
		n, rerr := lr.Read(bufs.copy[:])
		if n > 0 {
			chunk := bufs.copy[:n]
			if headLen < len(bufs.head) {
				headLen += copy(bufs.head[headLen:], chunk)
			}
			h.Write(chunk) // a hash.Hash never fails
			if _, err := f.Write(chunk); err != nil {
				return Blob{}, fmt.Errorf("store file %q: %w", name, err)
			}
			size += int64(n)
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return Blob{}, fmt.Errorf("store file %q: %w", name, rerr)
		}
	}
	if err := f.Sync(); err != nil {
		return Blob{}, fmt.Errorf("store file %q: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return Blob{}, fmt.Errorf("store file %q: %w", name, err)
	}
	if err := ctx.Err(); err != nil {
		return Blob{}, fmt.Errorf("store file %q: %w", name, err)
	}

	blob := Blob{
		SHA256: hex.EncodeToString(h.Sum(nil)),
		Size:   size,
		Type:   Detect(bufs.head[:headLen], name),
	}
	if d.beforeCommit != nil {
		d.beforeCommit(blob.SHA256)
	}
	committed, err = d.commit(tmp, blob)
	if err != nil {
		return Blob{}, fmt.Errorf("store file %q (sha256 %s): %w", name, blob.SHA256, err)
	}
	return blob, nil
}

// commit makes the fsynced temporary file tmp the blob's content, or
// discards it when the blob already exists, under the blob's lock. It
// reports whether tmp was consumed (renamed into place).
func (d *Disk) commit(tmp string, blob Blob) (bool, error) {
	mu := d.lock(blob.SHA256)
	mu.Lock()
	defer mu.Unlock()

	shard, final := d.paths(blob.SHA256)
	if fi, err := os.Lstat(final); err == nil && fi.Mode().IsRegular() && fi.Size() == blob.Size {
		// Stored already. A blob whose size differs was damaged outside
		// the store; the rename below replaces it.
		return false, nil
	}
	if err := os.Mkdir(shard, dirPerm); err == nil {
		if err := syncDir(d.blobs); err != nil {
			return false, err
		}
	} else if !errors.Is(err, fs.ErrExist) {
		return false, err
	}
	if err := os.Rename(tmp, final); err != nil {
		return false, err
	}
	// The blob is in place; a failed directory sync only weakens its
	// durability across a power loss, so the content is kept and the
	// error reported.
	return true, syncDir(shard)
}

// Open implements Store. A blob removed while open stays readable through
// the returned Content until it is closed.
func (d *Disk) Open(sha string) (Content, error) {
	if !ValidSHA256(sha) {
		return nil, fmt.Errorf("open file content %q: %w", sha, ErrNotFound)
	}
	_, p := d.paths(sha)
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("open file content %s: %w", sha, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("open file content %s: %w", sha, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open file content %s: %w", sha, err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("open file content %s: not a regular file: %w", sha, ErrNotFound)
	}
	return &diskContent{f: f, size: fi.Size(), mod: fi.ModTime()}, nil
}

// Remove implements Store. It waits for a Put committing the same content
// to finish (see the package documentation). A malformed sha gives an
// error wrapping ErrNotFound.
func (d *Disk) Remove(sha string) error {
	if !ValidSHA256(sha) {
		return fmt.Errorf("remove file content %q: %w", sha, ErrNotFound)
	}
	if err := d.removeUnder(sha); err != nil {
		return fmt.Errorf("remove file content %s: %w", sha, err)
	}
	return nil
}

// removeUnder deletes the blob sha under its lock.
func (d *Disk) removeUnder(sha string) error {
	mu := d.lock(sha)
	mu.Lock()
	defer mu.Unlock()
	return d.removeLocked(sha)
}

// removeLocked deletes the blob sha, whose lock the caller holds. The
// directory is not fsynced: a deletion a power loss undoes leaves content
// that the next Sweep removes.
func (d *Disk) removeLocked(sha string) error {
	_, p := d.paths(sha)
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// Sweep implements Store. keep is called without any of the store's locks
// held, once per blob; a blob is deleted under its lock, like Remove.
// Temporary files of Puts in flight are left alone. Files that are not
// blobs are left alone too. Sweep goes on after an error and returns the
// errors it met, joined.
func (d *Disk) Sweep(keep func(sha string) bool) (int, error) {
	var errs []error
	if _, err := d.removeTemps(); err != nil {
		errs = append(errs, err)
	}
	removed := 0
	err := eachEntry(d.blobs, func(shard fs.DirEntry) error {
		if !shard.IsDir() || !isShardName(shard.Name()) {
			return nil
		}
		dir := filepath.Join(d.blobs, shard.Name())
		return eachEntry(dir, func(e fs.DirEntry) error {
			sha := e.Name()
			if !e.Type().IsRegular() || !ValidSHA256(sha) || sha[:2] != shard.Name() || keep(sha) {
				return nil
			}
			if err := d.removeUnder(sha); err != nil {
				errs = append(errs, fmt.Errorf("sweep file content %s: %w", sha, err))
				return nil
			}
			removed++
			return nil
		})
	})
	if err != nil {
		errs = append(errs, fmt.Errorf("sweep file store %s: %w", d.dir, err))
	}
	return removed, errors.Join(errs...)
}

// removeTemps deletes the temporary files no Put in flight owns.
func (d *Disk) removeTemps() (int, error) {
	removed := 0
	var errs []error
	err := eachEntry(d.tmp, func(e fs.DirEntry) error {
		if d.busy(e.Name()) {
			return nil
		}
		p := filepath.Join(d.tmp, e.Name())
		var err error
		if e.IsDir() {
			err = os.RemoveAll(p)
		} else {
			err = os.Remove(p)
		}
		switch {
		case err == nil:
			removed++
		case !errors.Is(err, fs.ErrNotExist):
			errs = append(errs, fmt.Errorf("remove temporary file: %w", err))
		}
		return nil
	})
	if err != nil {
		errs = append(errs, fmt.Errorf("list temporary files: %w", err))
	}
	return removed, errors.Join(errs...)
}

// createTemp creates a new temporary file, registered as in flight before
// it exists so that a concurrent Sweep cannot delete it.
func (d *Disk) createTemp() (string, *os.File, error) {
	for range 10 {
		name := rand.Text() + tmpExt
		d.hold(name)
		p := filepath.Join(d.tmp, name)
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, filePerm)
		if err == nil {
			return p, f, nil
		}
		d.release(p)
		if !errors.Is(err, fs.ErrExist) {
			return "", nil, err
		}
	}
	return "", nil, errors.New("no unused temporary file name")
}

// hold registers the temporary file name as in flight.
func (d *Disk) hold(name string) {
	d.activeMu.Lock()
	defer d.activeMu.Unlock()
	if d.active == nil {
		d.active = map[string]struct{}{}
	}
	d.active[name] = struct{}{}
}

// busy reports whether the temporary file name belongs to a Put in flight.
func (d *Disk) busy(name string) bool {
	d.activeMu.Lock()
	defer d.activeMu.Unlock()
	_, ok := d.active[name]
	return ok
}

// release forgets the temporary file p of a finished Put.
func (d *Disk) release(p string) {
	d.activeMu.Lock()
	defer d.activeMu.Unlock()
	delete(d.active, filepath.Base(p))
}

// paths returns the shard directory and the file of a valid sha.
func (d *Disk) paths(sha string) (shard, file string) {
	shard = filepath.Join(d.blobs, sha[:2])
	return shard, filepath.Join(shard, sha)
}

// lock returns the lock of a valid sha.
func (d *Disk) lock(sha string) *sync.Mutex {
	return &d.locks[(unhex(sha[0])<<4|unhex(sha[1]))%lockStripes]
}

// ValidSHA256 reports whether s is a SHA-256 as the store names blobs: 64
// lower-case hex digits. Nothing else reaches the file system.
func ValidSHA256(s string) bool {
	if len(s) != sha256.Size*2 {
		return false
	}
	for i := range len(s) {
		if !isHex(s[i]) {
			return false
		}
	}
	return true
}

// isShardName reports whether s names a shard directory: two lower-case
// hex digits.
func isShardName(s string) bool {
	return len(s) == 2 && isHex(s[0]) && isHex(s[1])
}

func isHex(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' }

func unhex(c byte) byte {
	if c <= '9' {
		return c - '0'
	}
	return c - 'a' + 10
}

// eachEntry calls fn for each entry of dir, reading the directory in
// batches so that a large one is never held in memory at once.
func eachEntry(dir string, fn func(fs.DirEntry) error) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	for {
		entries, err := f.ReadDir(256)
		for _, e := range entries {
			if err := fn(e); err != nil {
				return err
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// syncDir fsyncs a directory, making the entries created or renamed in it
// durable.
func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// diskContent is an open blob.
type diskContent struct {
	f    *os.File
	size int64
	mod  time.Time
}

func (c *diskContent) Read(p []byte) (int, error)                   { return c.f.Read(p) }
func (c *diskContent) ReadAt(p []byte, off int64) (int, error)      { return c.f.ReadAt(p, off) }
func (c *diskContent) Seek(offset int64, whence int) (int64, error) { return c.f.Seek(offset, whence) }
func (c *diskContent) Close() error                                 { return c.f.Close() }
func (c *diskContent) Size() int64                                  { return c.size }
func (c *diskContent) ModTime() time.Time                           { return c.mod }
