package api

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/commonshelf/commonshelf/consortium"
	"github.com/commonshelf/commonshelf/federate"
	"github.com/commonshelf/commonshelf/index"
	"github.com/commonshelf/commonshelf/index/files"
	"github.com/prometheus/client_golang/prometheus"
)

const benchUploadSize = 8 << 20

const benchUploadConfig = `
consortium:
  id: bench
  name: Bench Consortium
  defaults: {upload_max_mb: {instructor: 50, student: 10}, files: {quota_mb: 1000000}}
institutions:
  - id: north
    name: North University
    api_keys: [{sha256: 586bdcedbeef3ac59b91e347e3344caf784fba213284c95f7c631d1d682bf4ac, role: instructor}]
`

// benchContent is a PDF-looking body of benchUploadSize bytes, distinct
// for each i (so that every upload is new content, not a deduplicated one).
func benchContent(i int) []byte {
	b := bytes.Repeat([]byte("commonshelf upload benchmark "), benchUploadSize/29+1)[:benchUploadSize]
	copy(b, "%PDF-1.7\n")
	binary.BigEndian.PutUint64(b[9:], uint64(i))
	return b
}

// BenchmarkUploadDiskBaseline stores 8 MiB of new content straight into the
// file store: the baseline of BenchmarkUploadThroughServer.
func BenchmarkUploadDiskBaseline(b *testing.B) {
	blobs, err := files.OpenDisk(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(benchUploadSize)
	for i := 0; b.Loop(); i++ {
		body := benchContent(i)
		blob, err := blobs.Put(context.Background(), bytes.NewReader(body), "notes.pdf", 50<<20)
		if err != nil {
			b.Fatal(err)
		}
		if err := blobs.Remove(blob.SHA256); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUploadThroughServer uploads 8 MiB of new content as a raw body
// through the HTTP API on loopback (authentication, the type check, the
// limit, storing, committing the attachment) and removes it again.
func BenchmarkUploadThroughServer(b *testing.B) {
	cfg, err := consortium.Parse([]byte(benchUploadConfig), "bench.yaml", b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	logger := slog.New(slog.DiscardHandler)
	reg := prometheus.NewRegistry()
	engine, err := federate.NewEngine(logger, federate.EngineConfig{DefaultTimeout: time.Second, MaxTimeout: time.Second}, federate.NewMetrics(reg), nil)
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	blobs, err := files.OpenDisk(filepath.Join(dir, "files"))
	if err != nil {
		b.Fatal(err)
	}
	lists, err := index.OpenWithOptions(logger, filepath.Join(dir, "lists"), index.Options{Files: blobs})
	if err != nil {
		b.Fatal(err)
	}
	defer lists.Close()
	l := &index.List{Institution: "north", ID: "bench", Name: "Bench", Status: index.StatusPublished, Visibility: index.VisibilityPublic,
		Course: index.Course{Code: "B 1", Name: "Bench"}, Sections: []index.Section{{Citations: []index.Citation{{ID: "c1", Type: index.TypeBook, Title: "T"}}}}}
	if _, err := lists.Put(context.Background(), l); err != nil {
		b.Fatal(err)
	}
	srv := New(logger, cfg, engine, reg)
	srv.SetLists(lists)
	srv.SetReady(true)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Shutdown(context.Background())
	target := "http://" + ln.Addr().String() + "/api/v1/lists/north/bench/citations/c1/files?filename=notes.pdf"
	client := &http.Client{}
	b.SetBytes(benchUploadSize)
	for i := 0; b.Loop(); i++ {
		req, _ := http.NewRequest(http.MethodPost, target, bytes.NewReader(benchContent(i)))
		req.Header.Set("Authorization", "Bearer bench-instructor")
		req.Header.Set("Content-Type", "application/pdf")
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			b.Fatalf("upload: %d %s", resp.StatusCode, body)
		}
		f := decodeBenchFile(b, body)
		if err := lists.Detach("north", "bench", "c1", f); err != nil {
			b.Fatal(err)
		}
	}
}

func decodeBenchFile(b *testing.B, body []byte) string {
	var f index.File
	if err := json.Unmarshal(body, &f); err != nil || f.ID == "" {
		b.Fatalf("upload answer %s: %v", body, err)
	}
	return f.ID
}
