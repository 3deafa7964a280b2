package files

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
)

func TestPutOpenRoundTrip(t *testing.T) {
	tests := []struct {
		name    string
		content []byte
		max     int64
	}{
		{"an empty file", nil, 0},
		{"a short text", []byte("Reading list notes\n"), 0},
		{"exactly one copy buffer", pattern(copyBufSize), 0},
		{"one byte more than a copy buffer", pattern(copyBufSize + 1), 0},
		{"a megabyte, with no limit", pattern(1 << 20), 0},
		{"a megabyte, at exactly the limit", pattern(1 << 20), 1 << 20},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, dir := openTestDisk(t)
			blob, err := d.Put(context.Background(), bytes.NewReader(tc.content), "notes.txt", tc.max)
			if err != nil {
				t.Fatalf("put: %v", err)
			}
			if want := shaOf(tc.content); blob.SHA256 != want {
				t.Errorf("sha256 %s, want %s", blob.SHA256, want)
			}
			if blob.Size != int64(len(tc.content)) {
				t.Errorf("size %d, want %d", blob.Size, len(tc.content))
			}
			if want := Detect(tc.content, "notes.txt"); blob.Type != want {
				t.Errorf("type %q, want %q", blob.Type, want)
			}
			c, err := d.Open(blob.SHA256)
			if err != nil {
				t.Fatalf("open: %v", err)
			}
			defer c.Close()
			got, err := io.ReadAll(c)
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			if !bytes.Equal(got, tc.content) {
				t.Errorf("read back %d bytes that differ from the %d put", len(got), len(tc.content))
			}
			if c.Size() != int64(len(tc.content)) {
				t.Errorf("content size %d", c.Size())
			}
			if c.ModTime().IsZero() {
				t.Error("no modification time")
			}
			if len(tc.content) > 10 {
				if _, err := c.Seek(5, io.SeekStart); err != nil {
					t.Fatalf("seek: %v", err)
				}
				part := make([]byte, 5)
				if _, err := io.ReadFull(c, part); err != nil || !bytes.Equal(part, tc.content[5:10]) {
					t.Errorf("range 5-9: %q %v", part, err)
				}
			}
			if tmp := tempFiles(t, dir); len(tmp) != 0 {
				t.Errorf("temp files left: %v", tmp)
			}
			fi, err := os.Stat(filepath.Join(dir, blobsDir, blob.SHA256[:2], blob.SHA256))
			if err != nil {
				t.Fatalf("blob not at its path: %v", err)
			}
			if perm := fi.Mode().Perm(); perm&^filePerm != 0 {
				t.Errorf("blob permissions %o, want at most %o", perm, filePerm)
			}
			di, err := os.Stat(filepath.Join(dir, blobsDir, blob.SHA256[:2]))
			if err != nil {
				t.Fatal(err)
			}
			if perm := di.Mode().Perm(); perm&^dirPerm != 0 {
				t.Errorf("shard permissions %o, want at most %o", perm, dirPerm)
			}
		})
	}
}

func TestPutDeduplicates(t *testing.T) {
	d, dir := openTestDisk(t)
	content := pattern(100 << 10)
	first, err := d.Put(context.Background(), bytes.NewReader(content), "chapter.pdf", 0)
	if err != nil {
		t.Fatalf("first put: %v", err)
	}
	second, err := d.Put(context.Background(), bytes.NewReader(content), "copy of chapter.pdf", 0)
	if err != nil {
		t.Fatalf("second put: %v", err)
	}
	if first != second {
		t.Errorf("second put %+v, first %+v", second, first)
	}
	if blobs := storedBlobs(t, dir); len(blobs) != 1 {
		t.Errorf("blobs on disk: %v", blobs)
	}
	if tmp := tempFiles(t, dir); len(tmp) != 0 {
		t.Errorf("temp files left: %v", tmp)
	}
}

func TestPutTooLarge(t *testing.T) {
	const max = 100_000
	tests := []struct {
		name string
		r    func() (io.Reader, *int64) // the reader and the count of bytes it gave
	}{
		{"content one byte over the limit", func() (io.Reader, *int64) {
			pr := &failingReader{Good: max + 1, Err: io.EOF}
			return pr, &pr.pat.n
		}},
		{"content twice the limit", func() (io.Reader, *int64) {
			pr := &failingReader{Good: 2 * max, Err: io.EOF}
			return pr, &pr.pat.n
		}},
		{"an endless body", func() (io.Reader, *int64) {
			pr := &patternReader{}
			return pr, &pr.n
		}},
		{"an endless body read a byte at a time", func() (io.Reader, *int64) {
			pr := &patternReader{}
			return iotest.OneByteReader(pr), &pr.n
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, dir := openTestDisk(t)
			r, read := tc.r()
			_, err := d.Put(context.Background(), r, "big.pdf", max)
			if !errors.Is(err, ErrTooLarge) {
				t.Fatalf("error %v, want ErrTooLarge", err)
			}
			var tl *TooLargeError
			if !errors.As(err, &tl) || tl.Limit != max {
				t.Errorf("error %v does not carry the limit %d", err, max)
			}
			if *read != max+1 {
				t.Errorf("read %d bytes from the body, want exactly the limit and one more (%d)", *read, max+1)
			}
			assertEmptyStore(t, dir)
		})
	}
	t.Run("content of exactly the limit is stored", func(t *testing.T) {
		d, _ := openTestDisk(t)
		blob, err := d.Put(context.Background(), &failingReader{Good: max, Err: io.EOF}, "ok.pdf", max)
		if err != nil || blob.Size != max {
			t.Fatalf("put: %+v %v", blob, err)
		}
	})
}

func TestPutLeavesNothingBehindOnFailure(t *testing.T) {
	errCut := errors.New("connection reset by peer")
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name    string
		r       func(cancel context.CancelFunc) io.Reader
		ctx     func() (context.Context, context.CancelFunc)
		wantErr error
	}{
		{
			name:    "the body fails after 300 KiB",
			r:       func(context.CancelFunc) io.Reader { return &failingReader{Good: 300 << 10, Err: errCut} },
			wantErr: errCut,
		},
		{
			name:    "the body fails before its first byte",
			r:       func(context.CancelFunc) io.Reader { return &failingReader{Err: errCut} },
			wantErr: errCut,
		},
		{
			name: "the context is cancelled before Put",
			r:    func(context.CancelFunc) io.Reader { return bytes.NewReader(pattern(1000)) },
			ctx: func() (context.Context, context.CancelFunc) {
				return cancelled, func() {}
			},
			wantErr: context.Canceled,
		},
		{
			name: "the client goes away after 1 MiB",
			r: func(cancel context.CancelFunc) io.Reader {
				return &patternReader{each: func(n int64) {
					if n >= 1<<20 {
						cancel()
					}
				}}
			},
			wantErr: context.Canceled,
		},
		{
			name: "the client goes away as the last byte arrives",
			r: func(cancel context.CancelFunc) io.Reader {
				return &cancelAtEOF{r: bytes.NewReader(pattern(5000)), cancel: cancel}
			},
			wantErr: context.Canceled,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, dir := openTestDisk(t)
			ctx, cancel := context.WithCancel(context.Background())
			if tc.ctx != nil {
				ctx, cancel = tc.ctx()
			}
			defer cancel()
			_, err := d.Put(ctx, tc.r(cancel), "upload.pdf", 0)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("error %v, want %v", err, tc.wantErr)
			}
			assertEmptyStore(t, dir)
		})
	}
}

// cancelAtEOF cancels a context when r is exhausted.
type cancelAtEOF struct {
	r      io.Reader
	cancel context.CancelFunc
}

func (c *cancelAtEOF) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if err == io.EOF {
		c.cancel()
	}
	return n, err
}

func TestPutMemoryStaysFlat(t *testing.T) {
	const size = 64 << 20
	const allowed = 4 << 20 // growth of the live heap while streaming
	d, _ := openTestDisk(t)
	base := heapInuse()
	var peak uint64
	r := &patternReader{each: func(n int64) {
		if n%(4<<20) == 0 {
			peak = max(peak, heapInuse())
		}
	}}
	blob, err := d.Put(context.Background(), io.LimitReader(r, size), "lecture.mp4", size+1)
	if err != nil {
		t.Fatalf("put: %v", err)
	}
	if blob.Size != size {
		t.Fatalf("size %d", blob.Size)
	}
	if peak == 0 {
		t.Fatal("no heap samples taken")
	}
	t.Logf("heap in use: %d KiB before, at most %d KiB while streaming", base>>10, peak>>10)
	if peak > base && peak-base > allowed {
		t.Errorf("heap in use grew by %d KiB while streaming %d MiB (allowed %d KiB)",
			(peak-base)>>10, size>>20, allowed>>10)
	}
}

func TestOpenDiskRemovesLeftoverTempFiles(t *testing.T) {
	dir := t.TempDir()
	d, err := OpenDisk(dir)
	if err != nil {
		t.Fatal(err)
	}
	kept, err := d.Put(context.Background(), strings.NewReader("kept"), "kept.txt", 0)
	if err != nil {
		t.Fatal(err)
	}
	// What a crash or a cut connection mid-upload could leave.
	tmp := filepath.Join(dir, tmpDir)
	for _, name := range []string{"ABCDEF.part", "half-written", ".hidden"} {
		if err := os.WriteFile(filepath.Join(tmp, name), pattern(1000), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(tmp, "nested", "deeper"), 0o750); err != nil {
		t.Fatal(err)
	}

	if _, err := OpenDisk(dir); err != nil {
		t.Fatalf("reopen: %v", err)
	}
	if left := tempFiles(t, dir); len(left) != 0 {
		t.Errorf("temp files left: %v", left)
	}
	if blobs := storedBlobs(t, dir); len(blobs) != 1 || !strings.HasSuffix(blobs[0], kept.SHA256) {
		t.Errorf("blobs %v, want only %s", blobs, kept.SHA256)
	}
}

func TestSweep(t *testing.T) {
	d, dir := openTestDisk(t)
	ctx := context.Background()
	var used, unused []string
	for i := range 6 {
		blob, err := d.Put(ctx, strings.NewReader(fmt.Sprintf("content %d", i)), "f.txt", 0)
		if err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			used = append(used, blob.SHA256)
		} else {
			unused = append(unused, blob.SHA256)
		}
	}
	// A stale temp file, and files that are not blobs (left alone).
	stale := filepath.Join(dir, tmpDir, "STALE.part")
	if err := os.WriteFile(stale, []byte("half"), 0o640); err != nil {
		t.Fatal(err)
	}
	foreign := []string{
		filepath.Join(dir, blobsDir, used[0][:2], "README"),
		filepath.Join(dir, blobsDir, "notes.txt"),
	}
	for _, p := range foreign {
		if err := os.WriteFile(p, []byte("not a blob"), 0o640); err != nil {
			t.Fatal(err)
		}
	}

	var asked []string
	n, err := d.Sweep(func(sha string) bool {
		asked = append(asked, sha)
		for _, u := range used {
			if u == sha {
				return true
			}
		}
		return false
	})
	if err != nil {
		t.Fatalf("sweep: %v", err)
	}
	if n != len(unused) {
		t.Errorf("swept %d, want %d", n, len(unused))
	}
	if len(asked) != len(used)+len(unused) {
		t.Errorf("keep asked about %d blobs, want %d", len(asked), len(used)+len(unused))
	}
	for _, sha := range unused {
		if _, err := d.Open(sha); !errors.Is(err, ErrNotFound) {
			t.Errorf("unused %s: open gives %v, want ErrNotFound", sha, err)
		}
	}
	for _, sha := range used {
		c, err := d.Open(sha)
		if err != nil {
			t.Errorf("used %s: %v", sha, err)
			continue
		}
		c.Close()
	}
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale temp file: %v", err)
	}
	for _, p := range foreign {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("a file that is not a blob was touched: %v", err)
		}
	}
}

func TestSweepLeavesUploadsInFlightAlone(t *testing.T) {
	d, dir := openTestDisk(t)
	reading := make(chan struct{})
	resume := make(chan struct{})
	body := io.MultiReader(
		bytes.NewReader(pattern(50<<10)),
		readerFunc(func([]byte) (int, error) {
			close(reading)
			<-resume
			return 0, io.EOF
		}),
	)
	done := make(chan error, 1)
	var blob Blob
	go func() {
		var err error
		blob, err = d.Put(context.Background(), body, "slow.pdf", 0)
		done <- err
	}()
	<-reading
	if tmp := tempFiles(t, dir); len(tmp) != 1 {
		t.Fatalf("temp files while uploading: %v", tmp)
	}
	if _, err := d.Sweep(func(string) bool { return false }); err != nil {
		t.Fatalf("sweep: %v", err)
	}
	close(resume)
	if err := <-done; err != nil {
		t.Fatalf("upload swept away under Put: %v", err)
	}
	if _, err := d.Open(blob.SHA256); err != nil {
		t.Errorf("open: %v", err)
	}
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

func TestMalformedSHAIsNotFound(t *testing.T) {
	d, _ := openTestDisk(t)
	real, err := d.Put(context.Background(), strings.NewReader("x"), "x.txt", 0)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, sha string }{
		{"a relative path", "../x"},
		{"a path to the blob dir", "../sha256/" + real.SHA256[:2] + "/" + real.SHA256},
		{"an absolute path", "/etc/passwd"},
		{"upper-case hex of a stored blob", strings.ToUpper(real.SHA256)},
		{"too short", real.SHA256[:63]},
		{"too long", real.SHA256 + "0"},
		{"empty", ""},
		{"64 characters with a slash", "../" + real.SHA256[3:]},
		{"64 characters with a NUL", real.SHA256[:63] + "\x00"},
		{"well formed but unknown", strings.Repeat("0", 64)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if c, err := d.Open(tc.sha); !errors.Is(err, ErrNotFound) {
				if c != nil {
					c.Close()
				}
				t.Errorf("open %q: %v, want ErrNotFound", tc.sha, err)
			}
		})
	}
	if err := d.Remove("../x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("remove of a malformed sha: %v, want ErrNotFound", err)
	}
}

func TestRemove(t *testing.T) {
	d, dir := openTestDisk(t)
	blob, err := d.Put(context.Background(), strings.NewReader("syllabus"), "syllabus.txt", 0)
	if err != nil {
		t.Fatal(err)
	}
	open, err := d.Open(blob.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	defer open.Close()
	if err := d.Remove(blob.SHA256); err != nil {
		t.Fatalf("remove: %v", err)
	}
	if _, err := d.Open(blob.SHA256); !errors.Is(err, ErrNotFound) {
		t.Errorf("open after remove: %v", err)
	}
	if err := d.Remove(blob.SHA256); err != nil {
		t.Errorf("removing an absent blob: %v", err)
	}
	if got, err := io.ReadAll(open); err != nil || string(got) != "syllabus" {
		t.Errorf("content opened before the remove: %q %v", got, err)
	}
	assertEmptyStore(t, dir)
}

func TestPutAndRemoveOfTheSameContent(t *testing.T) {
	content := []byte("the same chapter, uploaded again")
	sha := shaOf(content)
	tests := []struct {
		name string
		// beforeCommit runs between Put's streaming and its commit.
		beforeCommit func(t *testing.T, d *Disk)
		wantStored   bool
	}{
		{
			name: "a Remove just before Put commits: Put stores its own copy",
			beforeCommit: func(t *testing.T, d *Disk) {
				if err := d.Remove(sha); err != nil {
					t.Errorf("remove: %v", err)
				}
			},
			wantStored: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, _ := openTestDisk(t)
			if _, err := d.Put(context.Background(), bytes.NewReader(content), "a.txt", 0); err != nil {
				t.Fatal(err)
			}
			d.beforeCommit = func(string) {
				d.beforeCommit = nil
				tc.beforeCommit(t, d)
			}
			blob, err := d.Put(context.Background(), bytes.NewReader(content), "b.txt", 0)
			if err != nil {
				t.Fatalf("put: %v", err)
			}
			c, err := d.Open(blob.SHA256)
			if stored := err == nil; stored != tc.wantStored {
				t.Fatalf("stored after Put returned: %v (%v), want %v", stored, err, tc.wantStored)
			}
			if err == nil {
				got, _ := io.ReadAll(c)
				c.Close()
				if !bytes.Equal(got, content) {
					t.Errorf("content %q", got)
				}
			}
		})
	}
}

func TestConcurrentPutsOfTheSameContent(t *testing.T) {
	d, dir := openTestDisk(t)
	content := pattern(256 << 10)
	const uploads = 16
	blobs := make([]Blob, uploads)
	errs := make([]error, uploads)
	var wg sync.WaitGroup
	for i := range uploads {
		wg.Go(func() {
			blobs[i], errs[i] = d.Put(context.Background(), iotest.HalfReader(bytes.NewReader(content)), "same.pdf", 0)
		})
	}
	wg.Wait()
	for i := range uploads {
		if errs[i] != nil {
			t.Errorf("upload %d: %v", i, errs[i])
		} else if blobs[i] != blobs[0] {
			t.Errorf("upload %d: %+v, upload 0: %+v", i, blobs[i], blobs[0])
		}
	}
	if got := storedBlobs(t, dir); len(got) != 1 {
		t.Errorf("blobs on disk: %v", got)
	}
	if tmp := tempFiles(t, dir); len(tmp) != 0 {
		t.Errorf("temp files left: %v", tmp)
	}
}

// TestConcurrentUse runs uploads, downloads, removals and sweeps of a few
// contents at once, for the race detector; every Put that succeeds returns
// the right blob and every Open that succeeds reads complete content.
func TestConcurrentUse(t *testing.T) {
	d, _ := openTestDisk(t)
	contents := [][]byte{pattern(1000), pattern(70 << 10), []byte("short")}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 30 {
				content := contents[(w+i)%len(contents)]
				sha := shaOf(content)
				switch (w + i) % 4 {
				case 0, 1:
					blob, err := d.Put(context.Background(), bytes.NewReader(content), "c.bin", 0)
					if err != nil || blob.SHA256 != sha {
						t.Errorf("put: %+v %v", blob, err)
					}
				case 2:
					if err := d.Remove(sha); err != nil {
						t.Errorf("remove: %v", err)
					}
				case 3:
					c, err := d.Open(sha)
					if errors.Is(err, ErrNotFound) {
						continue
					}
					if err != nil {
						t.Errorf("open: %v", err)
						continue
					}
					got, err := io.ReadAll(c)
					c.Close()
					if err != nil || !bytes.Equal(got, content) {
						t.Errorf("read %d bytes of %d: %v", len(got), len(content), err)
					}
				}
			}
		})
	}
	wg.Go(func() {
		for range 5 {
			if _, err := d.Sweep(func(string) bool { return true }); err != nil {
				t.Errorf("sweep: %v", err)
			}
		}
	})
	wg.Wait()
}
