package federate

import (
	"math"
	"sort"
)

// Explain gives the parts of a result's score. Each part is in [0, 1] and
// Score = Σ weight × part.
type Explain struct {
	// Text is the local BM25-style match of the query against title,
	// authors and subjects, relative to the best result's.
	Text float64 `json:"text"`
	// Fusion is the weighted reciprocal-rank fusion of the members' own
	// orders, relative to the best result's.
	Fusion float64 `json:"fusion"`
	// Exact is 1 when the query's words are exactly the title's.
	Exact float64 `json:"exact"`
	// Holders grows with the number of members holding the work.
	Holders float64 `json:"holders"`
	// Home is 1 when the searcher's home institution holds the work.
	Home float64 `json:"home"`
	// Courses grows with the number of courses whose resource lists cite
	// the work (added per request, after the cache).
	Courses float64            `json:"courses"`
	Weights map[string]float64 `json:"weights"`
	// MemberRanks is each holding member's best rank for the work.
	MemberRanks map[string]int `json:"member_ranks"`
}

// Ranking weights. Text and fusion carry most of the score so that members
// with different scoring become comparable; the signals break near-ties.
const (
	weightText    = 0.40
	weightFusion  = 0.30
	weightExact   = 0.12
	weightHolders = 0.12
	weightHome    = 0.06
	rrfK          = 60.0
	bm25K1        = 1.2
	bm25B         = 0.75
)

// field weights of the local re-score.
const (
	fieldWeightTitle   = 3.0
	fieldWeightAuthor  = 2.0
	fieldWeightSubject = 1.0
)

// Rank scores and sorts results for q: weighted reciprocal-rank fusion of
// the members' orders, a local BM25-style text score, and signals for the
// home institution's holdings and the number of holders. scopeSize is the
// number of members searched. Ties keep a deterministic order (by ID).
func Rank(results []*Result, q Query, home string, scopeSize int, explain bool) {
	if len(results) == 0 {
		return
	}
	terms := queryTokens(q)
	text := bm25(results, terms)
	maxText, maxFusion := 0.0, 0.0
	fusion := make([]float64, len(results))
	ranks := make([]map[string]int, len(results))
	for i, res := range results {
		best := map[string]int{}
		for _, r := range res.records {
			if cur, ok := best[r.Member]; !ok || r.Rank < cur {
				best[r.Member] = r.Rank
			}
		}
		for _, rk := range best {
			fusion[i] += 1 / (rrfK + float64(rk))
		}
		ranks[i] = best
		maxText = math.Max(maxText, text[i])
		maxFusion = math.Max(maxFusion, fusion[i])
	}
	wantTitle := titleWords(terms)
	for i, res := range results {
		e := Explain{}
		if maxText > 0 {
			e.Text = text[i] / maxText
		}
		if maxFusion > 0 {
			e.Fusion = fusion[i] / maxFusion
		}
		if wantTitle != "" && wantTitle == sortedWordSet(Tokens(fullTitle(res.Title))) {
			e.Exact = 1
		}
		if scopeSize > 1 {
			e.Holders = math.Log1p(float64(len(ranks[i])-1)) / math.Log1p(float64(scopeSize-1))
		}
		if _, ok := ranks[i][home]; ok && home != "" {
			e.Home = 1
		}
		res.Score = round4(weightText*e.Text + weightFusion*e.Fusion + weightExact*e.Exact + weightHolders*e.Holders + weightHome*e.Home)
		if explain {
			e.Weights = map[string]float64{"text": weightText, "fusion": weightFusion, "exact": weightExact, "holders": weightHolders, "home": weightHome}
			e.MemberRanks = ranks[i]
			e.Text, e.Fusion, e.Holders = round4(e.Text), round4(e.Fusion), round4(e.Holders)
			res.Explain = &e
		}
	}
	sort.SliceStable(results, func(i, j int) bool {
		if results[i].Score != results[j].Score {
			return results[i].Score > results[j].Score
		}
		return results[i].ID < results[j].ID
	})
}

func round4(f float64) float64 { return math.Round(f*10000) / 10000 }

// qterm is one query word and the field it must be found in.
type qterm struct {
	field Field
	word  string
	ident string // normalised ISBN/ISSN for identifier terms
}

func queryTokens(q Query) []qterm {
	var out []qterm
	for _, t := range q.PositiveTerms() {
		switch t.Field {
		case FieldISBN:
			if n, ok := NormalizeISBN(t.Text); ok {
				out = append(out, qterm{field: FieldISBN, ident: n})
			}
		case FieldISSN:
			if n, ok := NormalizeISSN(t.Text); ok {
				out = append(out, qterm{field: FieldISSN, ident: n})
			}
		default:
			for _, w := range Tokens(t.Text) {
				out = append(out, qterm{field: t.Field, word: w})
			}
		}
	}
	return out
}

// titleWords is the sorted set of words a title must have to be an exact
// match, or "" when the query is not a plain title or keyword search.
func titleWords(terms []qterm) string {
	var words []string
	for _, t := range terms {
		switch t.field {
		case FieldAny, FieldTitle:
			if !leadingArticles[t.word] {
				words = append(words, t.word)
			}
		}
	}
	return sortedWordSet(words)
}

func sortedWordSet(words []string) string {
	set := map[string]bool{}
	var out []string
	for _, w := range words {
		if leadingArticles[w] || set[w] {
			continue
		}
		set[w] = true
		out = append(out, w)
	}
	sort.Strings(out)
	s := ""
	for i, w := range out {
		if i > 0 {
			s += " "
		}
		s += w
	}
	return s
}

// doc is a result's text, tokenised per field.
type doc struct {
	title, author, subject []string
}

// bm25 scores each result against the query words with a field-weighted
// BM25 whose statistics come from the merged results themselves.
func bm25(results []*Result, terms []qterm) []float64 {
	scores := make([]float64, len(results))
	if len(terms) == 0 {
		return scores
	}
	docs := make([]doc, len(results))
	var sumT, sumA, sumS float64
	df := map[string]int{}
	for i, res := range results {
		d := doc{title: Tokens(res.Title)}
		for _, a := range res.Authors {
			d.author = append(d.author, Tokens(a)...)
		}
		for _, s := range res.Subjects {
			d.subject = append(d.subject, Tokens(s)...)
		}
		docs[i] = d
		sumT += float64(len(d.title))
		sumA += float64(len(d.author))
		sumS += float64(len(d.subject))
		seen := map[string]bool{}
		for _, l := range [][]string{d.title, d.author, d.subject} {
			for _, w := range l {
				if !seen[w] {
					seen[w] = true
					df[w]++
				}
			}
		}
	}
	n := float64(len(results))
	avgT, avgA, avgS := math.Max(sumT/n, 1), math.Max(sumA/n, 1), math.Max(sumS/n, 1)
	for i, d := range docs {
		for _, t := range terms {
			switch t.field {
			case FieldISBN:
				if contains(results[i].Identifiers.ISBN, t.ident) {
					scores[i] += 10
				}
				continue
			case FieldISSN:
				if contains(results[i].Identifiers.ISSN, t.ident) {
					scores[i] += 10
				}
				continue
			}
			idf := math.Log(1 + (n-float64(df[t.word])+0.5)/(float64(df[t.word])+0.5))
			var s float64
			if t.field == FieldAny || t.field == FieldTitle {
				s += fieldWeightTitle * bm25tf(count(d.title, t.word), len(d.title), avgT)
			}
			if t.field == FieldAny || t.field == FieldAuthor {
				s += fieldWeightAuthor * bm25tf(count(d.author, t.word), len(d.author), avgA)
			}
			if t.field == FieldAny || t.field == FieldSubject {
				s += fieldWeightSubject * bm25tf(count(d.subject, t.word), len(d.subject), avgS)
			}
			scores[i] += idf * s
		}
	}
	return scores
}

func bm25tf(tf, length int, avg float64) float64 {
	if tf == 0 {
		return 0
	}
	f := float64(tf)
	return f * (bm25K1 + 1) / (f + bm25K1*(1-bm25B+bm25B*float64(length)/avg))
}

func count(words []string, w string) int {
	n := 0
	for _, x := range words {
		if x == w {
			n++
		}
	}
	return n
}

func contains(l []string, v string) bool {
	for _, x := range l {
		if x == v {
			return true
		}
	}
	return false
}
