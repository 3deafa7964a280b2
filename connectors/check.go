package connectors

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/commonshelf/commonshelf/connectors/opensearch"
	"github.com/commonshelf/commonshelf/connectors/primo"
	"github.com/commonshelf/commonshelf/connectors/solr"
	"github.com/commonshelf/commonshelf/connectors/sru"
	"github.com/commonshelf/commonshelf/consortium"
)

// localOptionNames are the options of the local connector.
var localOptionNames = []string{"record_url", "max_concurrent"}

// OptionNames lists the options a connector kind accepts; nil for an
// unknown kind.
func OptionNames(kind string) []string {
	switch kind {
	case consortium.ConnectorLocal:
		return append([]string(nil), localOptionNames...)
	case consortium.ConnectorSRU:
		return sru.OptionNames()
	case consortium.ConnectorPrimo:
		return primo.OptionNames()
	case consortium.ConnectorSolr:
		return solr.OptionNames()
	case consortium.ConnectorOpenSearch:
		return opensearch.OptionNames()
	}
	return nil
}

// Problem is something wrong with a member's settings that Build would
// refuse.
type Problem struct {
	// Key is the setting's path within the member block: "options.vid",
	// "url"; "options" when a required option is missing; "" for the
	// member as a whole.
	Key string
	// Message says what is wrong, for an operator.
	Message string
}

// Check reports what Build would refuse in member id's settings, without
// reading catalogue files or making a request: every unknown option (with
// the known name it is closest to), then what the connector's constructor
// rejects — option values, URLs, environment variables the options name.
// Remote connectors are constructed (and closed) exactly as Build does;
// constructing one does no I/O.
func Check(id string, m *consortium.Member) []Problem {
	known := OptionNames(m.Connector)
	if known == nil {
		return []Problem{{Key: "connector", Message: fmt.Sprintf("connector %q is not available in this version of Commonshelf (available: %s)", m.Connector, available)}}
	}
	var problems []Problem
	opts := make(map[string]any, len(m.Options))
	for _, k := range slices.Sorted(maps.Keys(m.Options)) {
		if slices.Contains(known, k) {
			opts[k] = m.Options[k]
			continue
		}
		msg := fmt.Sprintf("unknown option %q for the %s connector", k, m.Connector)
		if near := closest(k, known); near != "" {
			msg += fmt.Sprintf("; did you mean %q?", near)
		}
		problems = append(problems, Problem{Key: "options." + k, Message: msg + " (known: " + strings.Join(known, ", ") + ")"})
	}
	if len(opts) == 0 {
		opts = nil
	}
	var err error
	if m.Connector == consortium.ConnectorLocal {
		_, err = localOptions(id, opts)
	} else {
		checked := *m
		checked.Options = opts
		var b *Built
		if b, err = Build(context.Background(), slog.New(slog.DiscardHandler), id, &checked, "", nil); err == nil {
			b.Connector.Close()
		}
	}
	if err != nil {
		msg := err.Error()
		for _, prefix := range []string{m.Connector + " " + id + ": ", "member " + id + ": "} {
			msg = strings.TrimPrefix(msg, prefix)
		}
		problems = append(problems, Problem{Key: problemKey(msg, m), Message: msg})
	}
	return problems
}

// optionPattern finds the option a constructor's message is about:
// "option version: …", "options.fq[1] must …".
var optionPattern = regexp.MustCompile(`\boptions?[ .]([a-z_]+)`)

// problemKey places a constructor's message: on the option it names when
// the member sets it, on options when it names one the member lacks, on the
// url when it is about a URL, else on the member.
func problemKey(msg string, m *consortium.Member) string {
	for _, sub := range optionPattern.FindAllStringSubmatch(msg, -1) {
		if _, ok := m.Options[sub[1]]; ok {
			return "options." + sub[1]
		}
	}
	switch {
	case optionPattern.MatchString(msg):
		return "options"
	case strings.Contains(strings.ToLower(msg), "url"):
		return "url"
	}
	return ""
}

// closest returns the known name within a small edit distance of name (a
// third of its length, at least 1 and at most 3), or "".
func closest(name string, known []string) string {
	best, bestD := "", min(max(len(name)/3, 1), 3)+1
	for _, k := range known {
		if d := editDistance(name, k); d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

// editDistance is the Damerau–Levenshtein distance (optimal string
// alignment) of two short ASCII names: a swap of two neighbours counts one.
func editDistance(a, b string) int {
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
