package files

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"testing"
)

func openTestDisk(t testing.TB) (*Disk, string) {
	t.Helper()
	dir := t.TempDir()
	d, err := OpenDisk(dir)
	if err != nil {
		t.Fatalf("open disk: %v", err)
	}
	return d, dir
}

func shaOf(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// storedBlobs lists the files under dir/sha256, relative to it.
func storedBlobs(t testing.TB, dir string) []string {
	t.Helper()
	root := filepath.Join(dir, blobsDir)
	var out []string
	err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !e.IsDir() {
			rel, _ := filepath.Rel(root, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatalf("list blobs: %v", err)
	}
	sort.Strings(out)
	return out
}

// tempFiles lists dir/tmp.
func tempFiles(t testing.TB, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(dir, tmpDir))
	if err != nil {
		t.Fatalf("list temp files: %v", err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

func assertEmptyStore(t testing.TB, dir string) {
	t.Helper()
	if b := storedBlobs(t, dir); len(b) != 0 {
		t.Errorf("blobs left: %v", b)
	}
	if tmp := tempFiles(t, dir); len(tmp) != 0 {
		t.Errorf("temp files left: %v", tmp)
	}
}

// patternReader yields an endless deterministic byte pattern, filling every
// buffer it is given, and counts what it yields.
type patternReader struct {
	n int64 // bytes yielded
	// each, if set, runs before every read with the bytes yielded so far.
	each func(n int64)
}

func (r *patternReader) Read(p []byte) (int, error) {
	if r.each != nil {
		r.each(r.n)
	}
	for i := range p {
		x := r.n + int64(i)
		p[i] = byte(x*31 + x>>8)
	}
	r.n += int64(len(p))
	return len(p), nil
}

// failingReader yields Good bytes of a pattern, then Err.
type failingReader struct {
	Good int64
	Err  error
	pat  patternReader
}

func (r *failingReader) Read(p []byte) (int, error) {
	left := r.Good - r.pat.n
	if left <= 0 {
		return 0, r.Err
	}
	if int64(len(p)) > left {
		p = p[:left]
	}
	return r.pat.Read(p)
}

// pattern returns n bytes of patternReader's output.
func pattern(n int) []byte {
	b := make([]byte, n)
	_, _ = io.ReadFull(&patternReader{}, b)
	return b
}

// heapInuse returns the heap in use after a collection.
func heapInuse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}
