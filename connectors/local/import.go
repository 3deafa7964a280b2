package local

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2"

	"github.com/commonshelf/commonshelf/connectors/marc"
	"github.com/commonshelf/commonshelf/federate"
)

// Import tuning.
const (
	batchSize     = 1000 // documents per bleve batch
	progressEvery = 1000 // records read between progress calls
	maxExamples   = 20   // rejections kept in ImportStats.Examples
	maxReasons    = 100  // distinct reasons counted; the rest go to otherReasons
	maxReasonLen  = 160  // bytes of a reason kept
	otherReasons  = "other reasons"
)

// ImportProgress is reported while an import runs, for a progress bar.
type ImportProgress struct {
	// File is the file being read ("" for Import).
	File string
	// Read, Indexed, Rejected count records so far over all files; Indexed
	// counts records committed to the index.
	Read, Indexed, Rejected int
	// Bytes of all files read so far, of TotalBytes (their sizes on disk, so
	// compressed bytes for .gz; read-ahead buffering included). Both 0 for
	// Import.
	Bytes, TotalBytes int64
}

// ImportStats sum up an import, also when it stopped early.
type ImportStats struct {
	// Read counts records read from the source, good and bad.
	Read int
	// Indexed counts records committed to the index. A record id seen twice
	// counts twice but is one document (the later one wins).
	Indexed int
	// Rejected counts records skipped as unreadable or unusable.
	Rejected int
	// Reasons counts rejections by reason.
	Reasons map[string]int
	// Examples are the first rejections, for the operator to look up.
	Examples []Rejection
}

// Rejection is one record left out of an import, and why. A source given to
// Import returns a *Rejection from next to have a bad record skipped and
// counted rather than stop the import.
type Rejection struct {
	// File is the file the record came from ("" for Import).
	File string
	// Index is the record's 1-based position in its file (in the source
	// for Import).
	Index int
	// ID is the record's id, if it could be read.
	ID string
	// Reason is a short, record-independent sentence, e.g. "record has no
	// title (245)", so that rejections group by it.
	Reason string
}

func (r *Rejection) Error() string {
	if r.ID != "" {
		return fmt.Sprintf("record %s: %s", r.ID, r.Reason)
	}
	return fmt.Sprintf("record %d: %s", r.Index, r.Reason)
}

// Import indexes the records next returns until it returns io.EOF. A next
// error that is a *Rejection skips that record; any other error stops the
// import. Records are normalised, marked as this member's and written in
// batches; a record whose id is already indexed replaces it. Cancelling ctx
// stops the import between batches: batches already written stay. progress
// (may be nil) is called every ~1000 records and once at the end.
func (x *Index) Import(ctx context.Context, next func() (federate.Record, error), progress func(ImportProgress)) (ImportStats, error) {
	im := x.newImporter(ctx, progress)
	for {
		r, err := next()
		if err == io.EOF {
			break
		}
		if err != nil {
			var rej *Rejection
			if !errors.As(err, &rej) {
				return im.stop(fmt.Errorf("local %s: import: record %d: %w", x.member, im.stats.Read+1, err))
			}
			im.stats.Read++
			rj := *rej
			rj.File, rj.Index = "", im.stats.Read
			im.reject(rj)
		} else {
			im.stats.Read++
			if err := im.add(r, im.stats.Read); err != nil {
				return im.stop(err)
			}
		}
		if err := im.tick(); err != nil {
			return im.stop(err)
		}
	}
	return im.finish()
}

// ImportFiles imports MARC 21 files (ISO 2709 or MARCXML, optionally
// gzipped: detected by content, as marc.Open does) in order, like Import
// otherwise. Records the MARC reader cannot read or marc.ToRecord cannot map
// are rejected with their reason; a missing file, or an error the reader
// cannot skip, stops the import.
func (x *Index) ImportFiles(ctx context.Context, paths []string, progress func(ImportProgress)) (ImportStats, error) {
	im := x.newImporter(ctx, progress)
	sizes := make([]int64, len(paths))
	for i, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return im.stop(fmt.Errorf("local %s: import: %w", x.member, err))
		}
		sizes[i] = fi.Size()
		im.totalBytes += fi.Size()
	}
	for i, p := range paths {
		im.fileRead = 0
		if err := x.importFile(im, p); err != nil {
			return im.stop(err)
		}
		im.doneBytes += sizes[i]
		im.pos = nil
	}
	im.file = ""
	return im.finish()
}

func (x *Index) importFile(im *importer, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("local %s: import: %w", x.member, err)
	}
	defer f.Close()
	im.file = path
	cr := &countingReader{r: f}
	im.pos = func() int64 { return cr.n }
	rd, zr, err := marcReader(cr)
	if err != nil {
		return fmt.Errorf("local %s: import %s: %w", x.member, path, err)
	}
	if zr != nil {
		defer zr.Close()
	}
	for {
		mr, err := rd.Next()
		if err == io.EOF {
			return nil
		}
		im.stats.Read++
		im.fileRead++
		var re *marc.RecordError
		switch {
		case errors.As(err, &re):
			im.reject(Rejection{File: path, Index: re.Index, ID: re.ID, Reason: re.Reason})
		case err != nil:
			return fmt.Errorf("local %s: import %s: record %d: %w", x.member, path, im.fileRead, err)
		default:
			r, err := marc.ToRecord(mr)
			if err != nil {
				im.reject(Rejection{File: path, Index: im.fileRead, ID: strings.TrimSpace(mr.ControlValue("001")), Reason: err.Error()})
				break
			}
			if err := im.add(r, im.fileRead); err != nil {
				return err
			}
		}
		if err := im.tick(); err != nil {
			return err
		}
	}
}

// marcReader reads MARC records from r, gunzipping it if it starts with the
// gzip magic number (as marc.Open does for a path). Reading the file through
// our own counter is what lets progress report compressed bytes read.
func marcReader(r io.Reader) (*marc.Reader, io.Closer, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	if magic, _ := br.Peek(2); bytes.Equal(magic, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, nil, fmt.Errorf("gunzip: %w", err)
		}
		return marc.NewReader(zr), zr, nil
	}
	return marc.NewReader(br), nil, nil
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// importer is the state of one import.
type importer struct {
	x        *Index
	ctx      context.Context
	progress func(ImportProgress)
	start    time.Time

	batch    *bleve.Batch
	pending  int
	lastTick int // stats.Read at the last progress call
	stats    ImportStats

	file                  string
	fileRead              int // records read from the current file
	totalBytes, doneBytes int64
	pos                   func() int64 // bytes read of the current file
}

func (x *Index) newImporter(ctx context.Context, progress func(ImportProgress)) *importer {
	return &importer{
		x:        x,
		ctx:      ctx,
		progress: progress,
		start:    time.Now(),
		batch:    x.idx.NewBatch(),
		stats:    ImportStats{Reasons: map[string]int{}},
	}
}

// add normalises r, checks it is indexable and queues it; index is its
// position in the source, for a rejection.
func (im *importer) add(r federate.Record, index int) error {
	r.Normalize()
	r.RecordID = strings.TrimSpace(r.RecordID)
	r.Member = im.x.member
	r.Rank = 0
	switch {
	case r.RecordID == "":
		im.reject(Rejection{File: im.file, Index: index, Reason: "record has no id"})
		return nil
	case strings.TrimSpace(r.Title) == "":
		im.reject(Rejection{File: im.file, Index: index, ID: r.RecordID, Reason: "record has no title"})
		return nil
	}
	doc, err := document(&r)
	if err != nil {
		im.reject(Rejection{File: im.file, Index: index, ID: r.RecordID, Reason: "record cannot be encoded"})
		return nil
	}
	if err := im.batch.Index(r.RecordID, doc); err != nil {
		im.reject(Rejection{File: im.file, Index: index, ID: r.RecordID, Reason: "record cannot be indexed"})
		return nil
	}
	im.pending++
	if im.pending >= batchSize {
		return im.flush()
	}
	return nil
}

// reject counts r under its grouped reason; the examples keep the reason
// as given.
func (im *importer) reject(r Rejection) {
	key := reasonKey(r.Reason, r.ID)
	im.stats.Rejected++
	if _, ok := im.stats.Reasons[key]; ok || len(im.stats.Reasons) < maxReasons {
		im.stats.Reasons[key]++
	} else {
		im.stats.Reasons[otherReasons]++
	}
	if len(im.stats.Examples) < maxExamples {
		im.stats.Examples = append(im.stats.Examples, r)
	}
}

// reasonKey makes a reason groupable: one line, no leading record id,
// quoted values (the bad tag, the bad indicator) replaced by "…", bounded
// length. 'datafield 245 has an invalid ind1 "x"' and the same with "y"
// count as one reason.
func reasonKey(reason, id string) string {
	reason = strings.Join(strings.Fields(elideQuoted(reason)), " ")
	if id != "" {
		for _, p := range []string{"record " + id + ": ", id + ": "} {
			reason = strings.TrimPrefix(reason, p)
		}
	}
	if len(reason) > maxReasonLen {
		cut := maxReasonLen
		for cut > 0 && !utf8.RuneStart(reason[cut]) {
			cut--
		}
		reason = reason[:cut] + "…"
	}
	if reason == "" {
		reason = "unreadable record"
	}
	return reason
}

// elideQuoted replaces the inside of each double-quoted run (Go %q
// syntax, with backslash escapes) by "…".
func elideQuoted(s string) string {
	if !strings.Contains(s, `"`) {
		return s
	}
	var b strings.Builder
	in, esc := false, false
	for _, r := range s {
		switch {
		case !in:
			b.WriteRune(r)
			if r == '"' {
				in = true
				b.WriteString("…")
			}
		case esc:
			esc = false
		case r == '\\':
			esc = true
		case r == '"':
			in = false
			b.WriteRune(r)
		}
	}
	if in {
		b.WriteRune('"')
	}
	return b.String()
}

// flush writes the queued documents, unless ctx has ended.
func (im *importer) flush() error {
	if err := im.ctx.Err(); err != nil {
		return fmt.Errorf("local %s: import: %w", im.x.member, err)
	}
	if im.pending == 0 {
		return nil
	}
	if err := im.x.idx.Batch(im.batch); err != nil {
		return fmt.Errorf("local %s: import: write batch: %w", im.x.member, err)
	}
	im.stats.Indexed += im.pending
	im.pending = 0
	im.batch.Reset()
	return nil
}

// tick reports progress every progressEvery records, and notices a
// cancelled ctx even while only bad records go by.
func (im *importer) tick() error {
	if im.stats.Read-im.lastTick < progressEvery {
		return nil
	}
	im.lastTick = im.stats.Read
	if err := im.ctx.Err(); err != nil {
		return fmt.Errorf("local %s: import: %w", im.x.member, err)
	}
	im.report()
	return nil
}

func (im *importer) report() {
	if im.progress == nil {
		return
	}
	b := im.doneBytes
	if im.pos != nil {
		b += im.pos()
	}
	im.progress(ImportProgress{
		File:       im.file,
		Read:       im.stats.Read,
		Indexed:    im.stats.Indexed,
		Rejected:   im.stats.Rejected,
		Bytes:      b,
		TotalBytes: im.totalBytes,
	})
}

func (im *importer) finish() (ImportStats, error) {
	if err := im.flush(); err != nil {
		return im.stop(err)
	}
	im.report()
	im.x.log.Info("local import done", "member", im.x.member,
		"read", im.stats.Read, "indexed", im.stats.Indexed, "rejected", im.stats.Rejected,
		"took", time.Since(im.start).Round(time.Millisecond))
	return im.stats, nil
}

// stop ends an import early: queued documents are dropped, the stats say
// what was done.
func (im *importer) stop(err error) (ImportStats, error) {
	im.batch.Reset()
	im.pending = 0
	return im.stats, err
}
