package index

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/commonshelf/commonshelf/index/files"
)

// pdf is a small PDF-looking content.
func pdf(body string) []byte { return []byte("%PDF-1.7\n" + body + "\n%%EOF\n") }

func openWithFiles(t *testing.T) (*Store, *files.Disk, string) {
	t.Helper()
	dir := t.TempDir()
	blobs, err := files.OpenDisk(filepath.Join(dir, "files"))
	if err != nil {
		t.Fatal(err)
	}
	return openTest(t, filepath.Join(dir, "lists"), Options{Files: blobs}), blobs, dir
}

func attach(t *testing.T, s *Store, inst, list, citation string, content []byte, quota int64) File {
	t.Helper()
	f, err := s.Attach(context.Background(), inst, list, citation, File{Name: "notes.pdf", Copyright: CopyrightPending,
		Uploader: Uploader{Role: "instructor", Via: "api"}}, bytes.NewReader(content), 1<<20, quota)
	if err != nil {
		t.Fatalf("attach to %s/%s %s: %v", inst, list, citation, err)
	}
	return f
}

func blobExists(t *testing.T, blobs *files.Disk, sha string) bool {
	t.Helper()
	c, err := blobs.Open(sha)
	if errors.Is(err, files.ErrNotFound) {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	return true
}

func twoCitationList(inst, id string) *List {
	l := validList(inst, id)
	l.Sections[0].Citations = append(l.Sections[0].Citations, Citation{ID: "c2", Type: TypeArticle, Title: "An Article"})
	return l
}

func TestAttachedFilesAreCountedOnceAndGoWithTheirLastCitation(t *testing.T) {
	s, blobs, _ := openWithFiles(t)
	mustPut(t, s, twoCitationList("north", "a"))
	mustPut(t, s, twoCitationList("north", "b"))
	content := pdf("lecture 1")

	f1 := attach(t, s, "north", "a", "c1", content, 1<<20)
	if f1.Type != "application/pdf" || f1.Size != int64(len(content)) || f1.ID == "" || f1.Uploaded == "" {
		t.Fatalf("attached file %+v", f1)
	}
	f2 := attach(t, s, "north", "b", "c2", content, 1<<20)
	if f2.SHA256 != f1.SHA256 || f2.ID == f1.ID {
		t.Fatalf("the same content twice: %+v and %+v", f1, f2)
	}
	if used, _ := s.FileUsage("north"); used != int64(len(content)) {
		t.Errorf("north uses %d bytes, want the content counted once: %d", used, len(content))
	}

	l, _, err := s.Get("north", "a")
	if err != nil {
		t.Fatal(err)
	}
	if got := l.Sections[0].Citations[0].Files; len(got) != 1 || got[0].ID != f1.ID {
		t.Fatalf("Get gives the citation's files %+v", got)
	}

	// A Put carrying files in its body does not attach them.
	forged := twoCitationList("north", "a")
	forged.Sections[0].Citations[1].Files = []File{{ID: "fforged", SHA256: strings.Repeat("0", 64)}}
	mustPut(t, s, forged)
	if l, _, _ = s.Get("north", "a"); len(l.Sections[0].Citations[1].Files) != 0 || len(l.Sections[0].Citations[0].Files) != 1 {
		t.Fatalf("after a Put with forged files: %+v", l.Sections[0].Citations)
	}

	// Dropping c1 from list a detaches its file; list b still uses the content.
	mustPut(t, s, validList("north", "a"))
	mustPut(t, s, func() *List { l := validList("north", "a"); l.Sections[0].Citations[0].ID = "c9"; return l }())
	if _, err := s.File("north", "a", "c1", f1.ID); !errors.Is(err, ErrNoFile) {
		t.Fatalf("the dropped citation's file is still there: %v", err)
	}
	if !blobExists(t, blobs, f1.SHA256) {
		t.Fatal("content another citation uses was removed")
	}
	// Deleting list b removes the last use: the content goes too.
	if _, err := s.Delete(context.Background(), "north", "b"); err != nil {
		t.Fatal(err)
	}
	if blobExists(t, blobs, f1.SHA256) {
		t.Error("content no citation uses is still stored")
	}
	if used, _ := s.FileUsage("north"); used != 0 {
		t.Errorf("north still uses %d bytes", used)
	}
}

func TestAttachRefusesWhatCannotBeAttached(t *testing.T) {
	s, _, dir := openWithFiles(t)
	mustPut(t, s, validList("north", "a"))
	for _, tc := range []struct {
		title, list, citation string
		content               []byte
		max, quota            int64
		want                  func(error) bool
	}{
		{"an unknown citation", "a", "nope", pdf("x"), 1 << 20, 1 << 20, func(err error) bool { return errors.Is(err, ErrNoCitation) }},
		{"an unknown list", "zz", "c1", pdf("x"), 1 << 20, 1 << 20, func(err error) bool { return errors.Is(err, ErrNoCitation) }},
		{"content over the limit", "a", "c1", pdf(strings.Repeat("x", 2000)), 1000, 1 << 20, func(err error) bool { return errors.Is(err, files.ErrTooLarge) }},
		{"content over the quota", "a", "c1", pdf(strings.Repeat("x", 2000)), 1 << 20, 1000, func(err error) bool {
			var qe *QuotaError
			return errors.As(err, &qe) && qe.Quota == 1000 && qe.Institution == "north"
		}},
	} {
		t.Run(tc.title, func(t *testing.T) {
			_, err := s.Attach(context.Background(), "north", tc.list, tc.citation, File{Name: "x.pdf"}, bytes.NewReader(tc.content), tc.max, tc.quota)
			if !tc.want(err) {
				t.Fatalf("err = %v", err)
			}
		})
	}
	if used, _ := s.FileUsage("north"); used != 0 {
		t.Errorf("refused attachments use %d bytes", used)
	}
	if n := storedBlobs(t, dir); n != 0 {
		t.Errorf("refused attachments left %d files of content on disk", n)
	}
}

// storedBlobs counts the content files under dir/files.
func storedBlobs(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(filepath.Join(dir, "files", "sha256"), func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			n++
		}
		return nil
	})
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	return n
}

func TestTheSameFileTwiceOnACitationIsOneFileAndACitationHoldsAFewOnly(t *testing.T) {
	s, _, dir := openWithFiles(t)
	mustPut(t, s, validList("north", "a"))
	f1 := attach(t, s, "north", "a", "c1", pdf("same"), 1<<30)
	f2 := attach(t, s, "north", "a", "c1", pdf("same"), 1<<30)
	if f2.ID != f1.ID {
		t.Fatalf("the same content twice on one citation made two files: %s, %s", f1.ID, f2.ID)
	}
	for i := 1; i < MaxFilesPerCitation; i++ {
		attach(t, s, "north", "a", "c1", pdf(fmt.Sprint("file ", i)), 1<<30)
	}
	_, err := s.Attach(context.Background(), "north", "a", "c1", File{Name: "x.pdf"}, bytes.NewReader(pdf("one too many")), 1<<20, 1<<30)
	if !errors.Is(err, ErrTooManyFiles) {
		t.Fatalf("file %d: %v, want ErrTooManyFiles", MaxFilesPerCitation+1, err)
	}
	if n := storedBlobs(t, dir); n != MaxFilesPerCitation {
		t.Errorf("%d files of content on disk, want %d", n, MaxFilesPerCitation)
	}
}

// Content released while an upload is in flight is removed once it ends.
func TestContentReleasedDuringAnUploadIsRemovedWhenItEnds(t *testing.T) {
	s, blobs, _ := openWithFiles(t)
	mustPut(t, s, validList("north", "a"))
	old := attach(t, s, "north", "a", "c1", pdf("old"), 1<<30)
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		_, err := s.Attach(context.Background(), "north", "a", "c1", File{Name: "new.pdf"}, pr, 1<<20, 1<<30)
		done <- err
	}()
	if _, err := pw.Write(pdf("new")[:5]); err != nil { // the upload is now streaming, holding the gate
		t.Fatal(err)
	}
	if err := s.Detach("north", "a", "c1", old.ID); err != nil {
		t.Fatal(err)
	}
	if !blobExists(t, blobs, old.SHA256) {
		t.Fatal("content was removed while an upload held the gate")
	}
	pw.Write(pdf("new")[5:])
	pw.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if blobExists(t, blobs, old.SHA256) {
		t.Error("content released during the upload is still stored after it ended")
	}
}

func TestCopyrightAndDetach(t *testing.T) {
	s, blobs, _ := openWithFiles(t)
	mustPut(t, s, validList("north", "a"))
	f := attach(t, s, "north", "a", "c1", pdf("scan"), 1<<20)
	got, err := s.SetCopyright("north", "a", "c1", f.ID, CopyrightCleared)
	if err != nil || got.Copyright != CopyrightCleared {
		t.Fatalf("SetCopyright = %+v, %v", got, err)
	}
	if _, err := s.SetCopyright("north", "a", "c1", f.ID, "maybe"); err == nil {
		t.Error("an unknown status was accepted")
	}
	if err := s.Detach("north", "a", "c1", f.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.Detach("north", "a", "c1", f.ID); !errors.Is(err, ErrNoFile) {
		t.Errorf("detaching twice: %v", err)
	}
	if blobExists(t, blobs, f.SHA256) {
		t.Error("the detached file's content is still stored")
	}
}

// Content stored without a committed attachment (a crash between the two)
// is removed when the store opens again.
func TestOpenRemovesContentNoAttachmentUses(t *testing.T) {
	dir := t.TempDir()
	blobs, err := files.OpenDisk(filepath.Join(dir, "files"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := OpenWithOptions(nil, filepath.Join(dir, "lists"), Options{Files: blobs})
	if err != nil {
		t.Fatal(err)
	}
	mustPut(t, s, validList("north", "a"))
	kept := attach(t, s, "north", "a", "c1", pdf("kept"), 1<<20)
	orphan, err := blobs.Put(context.Background(), bytes.NewReader(pdf("orphan")), "o.pdf", 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	s2 := openTest(t, filepath.Join(dir, "lists"), Options{Files: blobs})
	if blobExists(t, blobs, orphan.SHA256) {
		t.Error("content without an attachment survived the reopen")
	}
	c, err := s2.OpenFile(kept)
	if err != nil {
		t.Fatalf("attached content is gone: %v", err)
	}
	defer c.Close()
	if b, _ := io.ReadAll(c); !bytes.Equal(b, pdf("kept")) {
		t.Error("attached content changed")
	}
	if _, err := os.Stat(filepath.Join(dir, "files")); err != nil {
		t.Fatal(err)
	}
}
