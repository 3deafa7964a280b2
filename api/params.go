package api

import (
	"strconv"

	"github.com/valyala/fasthttp"
)

// intArg reads the whole-number query parameter name, which must lie in
// [lo, hi]; def when the parameter is absent. Every integer a caller sends
// passes through here, so none reaches arithmetic unbounded: the digits
// are checked before they are converted, and an overflowing number is out
// of range like any other.
func intArg(args *fasthttp.Args, name string, lo, hi, def int) (int, *apiError) {
	v := args.Peek(name)
	if v == nil {
		return def, nil
	}
	n, ok := parseBounded(v, lo, hi)
	if !ok {
		return 0, badParam(name, "%s must be a whole number from %d to %d", name, lo, hi)
	}
	return n, nil
}

// parseBounded parses decimal digits (an optional leading '-') into an int
// within [lo, hi].
func parseBounded(v []byte, lo, hi int) (int, bool) {
	if len(v) == 0 || len(v) > 20 {
		return 0, false
	}
	n, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil || n < int64(lo) || n > int64(hi) {
		return 0, false
	}
	return int(n), true
}
