package federate

import (
	"math"
	"sort"
)

// CourseUse is one course resource list that cites a work.
type CourseUse struct {
	Institution string `json:"institution"`
	CourseCode  string `json:"course_code"`
	ListID      string `json:"list_id"`
	// Importance is the highest importance the list gives the work
	// ("required", "recommended", "optional" or "").
	Importance string `json:"importance,omitempty"`
}

// CourseLookup finds the published, public resource lists citing a work,
// by any of its normalised identifiers or, failing those, by its work key
// (see WorkKey). It is called for every work of every answer, after the
// cache, so it must be fast (in memory); Version changes whenever its
// answers may have changed.
type CourseLookup interface {
	CitedBy(ids Identifiers, workKey string) []CourseUse
	Version() uint64
}

// weightCourses is the weight of "used on N courses" in a score.
const weightCourses = 0.10

// coursesSaturate is the number of courses at which the signal is full.
const coursesSaturate = 5

// annotate returns the works with the resource lists that cite each and
// the "on N courses" signal added to their scores, re-sorted. The works
// are only read: the results are copies, since the works may be a cached
// answer shared by other requests. Without a lookup it returns works.
func annotate(works []*Result, lookup CourseLookup) []*Result {
	if lookup == nil || len(works) == 0 {
		return works
	}
	out := make([]*Result, len(works))
	changed := false
	for i, w := range works {
		uses := lookup.CitedBy(w.Identifiers, w.workKey)
		if len(uses) == 0 {
			out[i] = w
			continue
		}
		c := *w
		c.Lists = uses
		courses := map[string]bool{}
		for _, u := range uses {
			courses[u.Institution+"\x00"+u.CourseCode] = true
		}
		part := math.Min(1, math.Log1p(float64(len(courses)))/math.Log1p(coursesSaturate))
		c.Courses = len(courses)
		c.Score = round4(c.Score + weightCourses*part)
		if w.Explain != nil {
			e := *w.Explain
			e.Courses = round4(part)
			e.Weights = make(map[string]float64, len(w.Explain.Weights)+1)
			for k, v := range w.Explain.Weights {
				e.Weights[k] = v
			}
			e.Weights["courses"] = weightCourses
			c.Explain = &e
		}
		out[i] = &c
		changed = true
	}
	if changed {
		sort.SliceStable(out, func(i, j int) bool {
			if out[i].Score != out[j].Score {
				return out[i].Score > out[j].Score
			}
			return out[i].ID < out[j].ID
		})
	}
	return out
}
