package files

import (
	"bytes"
	"context"
	"encoding/binary"
	"testing"
)

// BenchmarkPut streams 8 MiB through Put: hashing, writing, fsync and the
// commit, for new content and for content stored already.
func BenchmarkPut(b *testing.B) {
	const size = 8 << 20
	content := pattern(size)
	b.Run("new content", func(b *testing.B) {
		d, _ := openTestDisk(b)
		b.SetBytes(size)
		b.ReportAllocs()
		var i uint64
		for b.Loop() {
			i++
			binary.LittleEndian.PutUint64(content, i) // a new SHA-256 each time
			if _, err := d.Put(context.Background(), bytes.NewReader(content), "b.pdf", size); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("content stored already", func(b *testing.B) {
		d, _ := openTestDisk(b)
		b.SetBytes(size)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := d.Put(context.Background(), bytes.NewReader(content), "b.pdf", size); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkDetect(b *testing.B) {
	head := []byte("Week 1 reading notes: thermodynamics, entropy and the second law.\n")
	head = bytes.Repeat(head, SniffLen/len(head)+1)[:SniffLen]
	b.ReportAllocs()
	for b.Loop() {
		Detect(head, "notes.txt")
	}
}
