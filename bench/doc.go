// Package bench measures Commonshelf: whole-path figures on the embedded
// demo consortium, each reported next to a baseline measured in the same
// run (go test -bench in this package, run by `make bench`).
package bench
