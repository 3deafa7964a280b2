package load

import (
	"math/rand/v2"
	"sort"
	"testing"
	"time"
)

func TestHistogramPercentilesAreWithinTwoPercent(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var h Histogram
	var all []time.Duration
	for range 100000 {
		// lognormal-ish latencies from 100µs to seconds
		d := time.Duration(float64(time.Millisecond) * r.ExpFloat64() * r.ExpFloat64() * 5)
		d += 100 * time.Microsecond
		h.Record(d)
		all = append(all, d)
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	for _, p := range []float64{0.5, 0.9, 0.99, 0.999} {
		want := all[int(p*float64(len(all)))-1]
		got := h.Percentile(p)
		if diff := float64(got-want) / float64(want); diff > 0.02 || diff < -0.02 {
			t.Errorf("p%v = %v, exact %v (%.1f%% off)", p*100, got, want, diff*100)
		}
	}
	if h.Count() != 100000 || h.Max() != all[len(all)-1] {
		t.Errorf("count %d max %v", h.Count(), h.Max())
	}
}

func TestHistogramMergeEqualsRecordingTogether(t *testing.T) {
	var a, b, both Histogram
	for i := range 1000 {
		d := time.Duration(i*i) * time.Microsecond
		if i%2 == 0 {
			a.Record(d)
		} else {
			b.Record(d)
		}
		both.Record(d)
	}
	a.Merge(&b)
	for _, p := range []float64{0.1, 0.5, 0.99} {
		if a.Percentile(p) != both.Percentile(p) {
			t.Errorf("p%v: merged %v, together %v", p, a.Percentile(p), both.Percentile(p))
		}
	}
}

func TestBucketBoundsAreMonotonic(t *testing.T) {
	for i := 1; i < 40*subBuckets; i++ {
		if lowerBound(i) <= lowerBound(i-1) {
			t.Fatalf("bucket %d lower bound %d not above %d", i, lowerBound(i), lowerBound(i-1))
		}
		if index(lowerBound(i)) != i {
			t.Fatalf("index(lowerBound(%d)) = %d", i, index(lowerBound(i)))
		}
	}
}
