package federate

import (
	"context"
	"sync/atomic"
	"time"
)

// fakeMember is a hand-written configurable connector for engine tests.
type fakeMember struct {
	Delay      time.Duration // wait before answering (honouring ctx unless IgnoreCtx)
	IgnoreCtx  bool          // sleep through cancellation, like a badly written connector
	Err        error         // fail with this error
	Panic      any           // panic with this value
	Records    []Record      // the answer
	CheckQuery func(Query)   // inspect the query
	calls      atomic.Int32
}

func (f *fakeMember) Kind() string { return "fake" }

func (f *fakeMember) Search(ctx context.Context, q Query, w Window) (Page, error) {
	f.calls.Add(1)
	if f.CheckQuery != nil {
		f.CheckQuery(q)
	}
	if f.Delay > 0 {
		if f.IgnoreCtx {
			time.Sleep(f.Delay)
		} else {
			select {
			case <-time.After(f.Delay):
			case <-ctx.Done():
				return Page{}, ctx.Err()
			}
		}
	}
	if f.Panic != nil {
		panic(f.Panic)
	}
	if f.Err != nil {
		return Page{}, f.Err
	}
	recs := f.Records
	if w.Offset < len(recs) {
		recs = recs[w.Offset:min(len(recs), w.Offset+w.Limit)]
	} else {
		recs = nil
	}
	return Page{Records: append([]Record(nil), recs...), Total: len(f.Records)}, nil
}

func book(id, title, author string, year int, isbn ...string) Record {
	return Record{RecordID: id, Title: title, Authors: []string{author}, Year: year, Format: FormatBook,
		Identifiers: Identifiers{ISBN: isbn}}
}

func word(s string) Query { return Query{Root: &Term{Text: s}, Raw: s} }
