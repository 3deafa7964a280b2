// Package index keeps the course resource lists of every member institution:
// a durable store (bbolt, dir/lists.db) that is the source of truth, a bleve
// index derived from it (dir/lists.bleve) for searching lists and their
// citations, and in-memory maps answering "which published lists cite this
// work?" for annotating catalogue results (CitedBy).
//
// # Durability
//
// A write (Put, Delete, a PutBatch chunk of up to 100 lists) is one bbolt
// transaction: it stores the list JSON and records the change under the next
// value of a monotonic sequence. bbolt fsyncs on commit; the method returns
// only after the commit, then (before returning) applies the change to the
// index and the citation maps. Each index batch carries, atomically with its
// documents, the last sequence it applied (bleve internal storage). Open
// compares that mark with the database's sequence and replays the changes
// the index lacks; it rebuilds the index from the database when the index is
// missing, unreadable, built by another mapping version or for other
// languages, or ahead of the database. A crash at any moment therefore
// leaves every acknowledged write searchable once the store opens again.
//
// # Documents and analysis
//
// Each list is one bleve document; its citations are an array of objects,
// so a match's array position names the citation that matched (used for the
// matching citations and their highlighting). Text is indexed twice: folded
// (lower case, diacritics removed: "Muller" finds "Müller") exactly as
// written, and through the institution's language analyser (stop words,
// stemmer, then folded); see Options.Languages and Languages.
//
// # Query syntax
//
// ParseListQuery accepts the catalogue's syntax (federate.ParseQuery) with
// more fields: title: (citation and container titles), author:, subject: and
// tag: (citation tags), isbn:, issn:, doi: (any spelling), year: (a
// citation's publication year), course: (course name and code), code:
// (course code, any spelling), instructor:, department:, list: (list name
// and description).
package index
