package main

import (
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"

	"github.com/commonshelf/commonshelf/consortium"
)

// The Go runtime's soft memory limit (GOMEMLIMIT) keeps the process within
// what the configuration allows: the collector works harder as the Go
// memory nears it, instead of letting the heap grow to twice what is live.
// An operator's explicit choice wins: GOMEMLIMIT in the environment, then
// server.memory_limit_mb. Otherwise the limit is what the service needs
// when idle, measured before it takes its first search, plus 1.5 times the
// cache budget (cache.max_mb: the answers and their encoded pages, whose
// real cost the cache counts) — the half beyond the cache being room for
// the collector and the searches in flight — and never less than the
// budget plus workingMemoryMB: with a small cache, half of it is too little
// room, and the collector would run all the time under load (make bench's
// overload at a 32 MB cache: answered p99 395 ms with idle + 48 MB against
// 118 ms with no limit).

// startupMemoryMB is the limit while the service starts, before its idle
// need can be measured (indexing a catalogue takes more than serving).
const startupMemoryMB = 1024

// workingMemoryMB is the least room beside a full cache for the searches in
// flight and the collector.
const workingMemoryMB = 64

// memoryLimitSource says where the limit comes from: "GOMEMLIMIT",
// "server.memory_limit_mb" or "" (derived).
func memoryLimitSource(cfg *consortium.Config) string {
	switch {
	case os.Getenv("GOMEMLIMIT") != "":
		return "GOMEMLIMIT"
	case cfg.Server.MemoryLimitMB > 0:
		return "server.memory_limit_mb"
	}
	return ""
}

// setMemoryLimit sets the limit for start-up: the configured one, or a
// generous one until refineMemoryLimit measures the idle need.
func setMemoryLimit(logger *slog.Logger, cfg *consortium.Config) {
	switch memoryLimitSource(cfg) {
	case "GOMEMLIMIT":
		logger.Info("memory limit from the environment", "GOMEMLIMIT", os.Getenv("GOMEMLIMIT"))
	case "server.memory_limit_mb":
		debug.SetMemoryLimit(int64(cfg.Server.MemoryLimitMB) << 20)
		logger.Info("memory limit", "mb", cfg.Server.MemoryLimitMB, "from", "server.memory_limit_mb")
	default:
		cache := int64(cfg.Consortium.Defaults.Cache.MaxMB) << 20
		debug.SetMemoryLimit(max(startupMemoryMB<<20, 2*cache))
	}
}

// refineMemoryLimit, once the service is ready and idle, sets the derived
// limit: the Go memory it uses now, after a collection, plus 1.5 times the
// cache budget. It does nothing when the limit was configured.
func refineMemoryLimit(logger *slog.Logger, cfg *consortium.Config) {
	if memoryLimitSource(cfg) != "" {
		return
	}
	runtime.GC()
	debug.FreeOSMemory()
	idle := goMemory()
	cache := int64(cfg.Consortium.Defaults.Cache.MaxMB) << 20
	limit := idle + max(cache*3/2, cache+workingMemoryMB<<20)
	debug.SetMemoryLimit(limit)
	logger.Info("memory limit", "mb", limit>>20, "idle_mb", idle>>20, "cache_mb", cache>>20,
		"from", "idle need + max(1.5 × cache.max_mb, cache.max_mb + 64 MB)")
}

// goMemory is the memory the Go runtime holds from the OS, as its memory
// limit counts it.
func goMemory() int64 {
	s := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
	metrics.Read(s)
	return int64(s[0].Value.Uint64() - s[1].Value.Uint64())
}
