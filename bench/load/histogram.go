// Package load drives HTTP load at a server on loopback — closed-loop at N
// connections or open-loop at a target rate — and records latencies in a
// log-linear histogram.
package load

import (
	"math"
	"math/bits"
	"time"
)

// Histogram records durations from 1µs to about 1100s in log-linear
// buckets: each power of two is split into 64 sub-buckets, so a recorded
// value is off by at most 1/64 (1.6%). Recording is O(1) and allocation
// free. It is not safe for concurrent use; merge per-worker histograms.
type Histogram struct {
	counts [40 * subBuckets]uint64
	n      uint64
	min    time.Duration
	max    time.Duration
	sum    time.Duration
}

const (
	subBits    = 6
	subBuckets = 1 << subBits
)

// index maps microseconds to a bucket.
func index(us uint64) int {
	if us < subBuckets {
		return int(us)
	}
	exp := bits.Len64(us) - 1 - subBits // how many bits above the sub-bucket precision
	sub := us >> uint(exp)              // in [subBuckets, 2*subBuckets)
	return (exp+1)*subBuckets + int(sub-subBuckets)
}

// lowerBound is the smallest value (µs) in bucket i.
func lowerBound(i int) uint64 {
	if i < subBuckets {
		return uint64(i)
	}
	exp := i/subBuckets - 1
	sub := uint64(i%subBuckets) + subBuckets
	return sub << uint(exp)
}

// Record adds one observation.
func (h *Histogram) Record(d time.Duration) {
	us := uint64(max(d, 0) / time.Microsecond)
	i := min(index(us), len(h.counts)-1)
	h.counts[i]++
	if h.n == 0 || d < h.min {
		h.min = d
	}
	if d > h.max {
		h.max = d
	}
	h.n++
	h.sum += d
}

// Merge adds o's observations to h.
func (h *Histogram) Merge(o *Histogram) {
	if o.n == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.n == 0 || o.min < h.min {
		h.min = o.min
	}
	h.max = max(h.max, o.max)
	h.n += o.n
	h.sum += o.sum
}

// Count is the number of observations.
func (h *Histogram) Count() uint64 { return h.n }

// Max is the largest observation.
func (h *Histogram) Max() time.Duration { return h.max }

// Mean is the average observation.
func (h *Histogram) Mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return h.sum / time.Duration(h.n)
}

// Percentile returns the value below which a fraction p (0..1) of the
// observations fall, as the midpoint of its bucket, clamped to [min, max].
func (h *Histogram) Percentile(p float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(p * float64(h.n)))
	rank = max(rank, 1)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			lo := lowerBound(i)
			hi := lowerBound(i + 1)
			mid := time.Duration((lo+hi)/2) * time.Microsecond
			return min(max(mid, h.min), h.max)
		}
	}
	return h.max
}
