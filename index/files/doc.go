// Package files stores the content of files that instructors and students
// attach to citations on course resource lists: scanned chapters, lecture
// notes, syllabi. Content is kept once per SHA-256 (a Blob); which
// citation uses which content is recorded elsewhere (package index), and
// the HTTP layer streams uploads into Put and serves downloads from Open.
//
// # Layout and durability
//
// Disk, the Store on a local file system, keeps a blob at
// dir/sha256/ab/<64 hex digits> (ab: the first two digits) and writes
// uploads to dir/tmp/ on the same file system. Put streams into a temporary
// file through a fixed 32 KiB buffer, hashing as it goes, fsyncs it, and
// only then renames it into place and fsyncs the directory, so a blob is
// either absent or complete: a crash, a cut connection, a cancelled
// context or content over the limit leave at most a temporary file, which
// OpenDisk (and Sweep) delete. Content a crash left stored but unrecorded
// is found by Sweep, which asks the caller which blobs are in use.
//
// # Concurrency
//
// Disk is safe for concurrent use. Storing content (the check for an
// existing blob and the rename) and deleting it (Remove, Sweep) take a lock
// per SHA-256 (a striped set), so they are atomic with respect to each
// other: two uploads of the same content both succeed and leave one blob,
// and a Put never returns a blob that a Remove deleted before Put
// returned — when a Remove wins, Put keeps its own copy of the content
// instead of deduplicating against the one being deleted. The store cannot
// know whether content is still wanted after Put returns: Remove deletes
// unconditionally. A caller that removes content once nothing refers to it
// must therefore order that decision against uploads that may be about to
// refer to it (index.Store holds a gate from before Put until the
// reference is committed, and removes only while no upload is in flight).
// The same holds for Sweep, whose keep cannot know of an upload that has
// not recorded its use yet: run it while no upload is in flight (index.Store
// sweeps when it opens). Sweep does leave the temporary files of Puts in
// flight alone.
//
// # Types and names
//
// Detect names the media type of content from its bytes, using the file
// name's extension only where the bytes are ambiguous (legacy Office
// files, some OOXML archives). Allowed checks a detected type against an
// allow-list (DefaultTypes by default); SVG, HTML, XML, archives and
// executables are detected so that they can be refused. To refuse a type
// before storing anything, peek the first SniffLen bytes of the body
// (bufio.Reader.Peek), call Detect, and Put the buffered reader only if
// the type is allowed; Put detects the same type again while streaming.
// CleanName makes a user's file name safe to store, show and send in a
// Content-Disposition header; NameFor also gives it the extension of the
// detected type, so that a download is never saved under a name that opens
// it as something else (text named notes.html is stored as notes.txt).
// ServeType is the Content-Type to send content with: never one a browser
// renders (HTML, SVG, XML, scripts).
package files
