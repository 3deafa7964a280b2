package marc_test

import (
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/commonshelf/commonshelf/connectors/marc"
	"github.com/commonshelf/commonshelf/demo"
)

// TestFastReaderMatchesSlowOnDemoCatalogues generates the demo consortium
// and reads every member catalogue with the fast and the encoding/xml
// MARCXML paths, record by record.
func TestFastReaderMatchesSlowOnDemoCatalogues(t *testing.T) {
	if testing.Short() {
		t.Skip("generates the demo consortium")
	}
	dir := t.TempDir()
	if _, err := demo.Generate(dir); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "members", "*.xml.gz"))
	if len(files) == 0 {
		t.Fatal("no member catalogues")
	}
	for _, name := range files {
		t.Run(filepath.Base(name), func(t *testing.T) {
			open := func() io.Reader {
				f, err := os.Open(name)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { f.Close() })
				zr, err := gzip.NewReader(f)
				if err != nil {
					t.Fatal(err)
				}
				return zr
			}
			fast, slow := marc.NewReader(open()), marc.NewSlowReaderForTest(open())
			n := 0
			for {
				a, errA := fast.Next()
				b, errB := slow.Next()
				if !reflect.DeepEqual(a, b) || !sameError(errA, errB) {
					t.Fatalf("record %d differs:\nfast: %#v %v\nslow: %#v %v", n+1, a, errA, b, errB)
				}
				if errA == io.EOF {
					break
				}
				var re *marc.RecordError
				if errA != nil && !errors.As(errA, &re) {
					t.Fatalf("fatal: %v", errA)
				}
				n++
			}
			if fast.FellBackForTest() {
				t.Error("the fast path gave up on a demo catalogue")
			}
			t.Logf("%d records identical", n)
		})
	}
}

func sameError(a, b error) bool {
	var ra, rb *marc.RecordError
	if errors.As(a, &ra) || errors.As(b, &rb) {
		return errors.As(a, &ra) && errors.As(b, &rb) && *ra == *rb
	}
	if a == nil || b == nil {
		return a == b
	}
	return a.Error() == b.Error()
}
