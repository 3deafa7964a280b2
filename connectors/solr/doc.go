package solr

import "github.com/commonshelf/commonshelf/connectors/remote"

// doc holds the stored fields of one Solr doc that the member's Fields
// name, read in one pass over the doc (see read); other fields are
// skipped. Each field's values are its strings and numbers as text (a
// multi-valued field's in order, or the one scalar), empty strings and
// other types left out; of a field given twice the last one counts.
type doc struct {
	slot    map[string]int // field name → index in vals
	vals    [][]string
	scratch []string // backs vals; reused from doc to doc
}

// newDoc prepares reading the fields f names.
func newDoc(f Fields) *doc {
	d := &doc{slot: map[string]int{}}
	for _, names := range [][]string{f.ID, f.Title, f.Author, f.Subject, f.ISBN, f.ISSN, f.Year, f.Publisher,
		f.Format, f.Language, f.OCLC, f.LCCN, f.URL, f.Series, f.Edition} {
		for _, n := range names {
			if _, ok := d.slot[n]; !ok {
				d.slot[n] = len(d.slot)
			}
		}
	}
	d.vals = make([][]string, len(d.slot))
	return d
}

// read fills d from the doc object that starts at data[at] and returns the
// index just past it. data must be valid JSON.
func (d *doc) read(data []byte, at int) int {
	clear(d.vals)
	d.scratch = d.scratch[:0]
	return remote.EachMember(data, at, func(key []byte, at int) int {
		i, ok := d.slot[string(key)]
		if !ok {
			return remote.SkipValue(data, at)
		}
		start := len(d.scratch)
		var end int
		d.scratch, end = remote.AppendStrings(d.scratch, data, at)
		d.vals[i] = d.scratch[start:len(d.scratch):len(d.scratch)]
		return end
	})
}

// field returns the values of the field name (nil for a field the doc
// lacks, or that Fields does not name); valid until the next read.
func (d *doc) field(name string) []string {
	if i, ok := d.slot[name]; ok {
		return d.vals[i]
	}
	return nil
}
