package main

import (
	"log/slog"
	"os"
	"runtime/debug"

	"github.com/commonshelf/commonshelf/consortium"
)

// baseMemoryMB is what the service needs beside its answer cache: indexes'
// buffers, requests in flight, the runtime's own.
const baseMemoryMB = 256

// memoryLimit is the soft memory limit the configuration asks for, in
// bytes: server.memory_limit_mb, or 1.5 times the answer cache's budget
// (the cache counts what its entries really cost; the collector needs
// some room beside them) plus baseMemoryMB.
func memoryLimit(cfg *consortium.Config) int64 {
	if mb := cfg.Server.MemoryLimitMB; mb > 0 {
		return int64(mb) << 20
	}
	return int64(3*cfg.Consortium.Defaults.Cache.MaxMB/2+baseMemoryMB) << 20
}

// setMemoryLimit sets the Go runtime's soft memory limit from the
// configuration, unless GOMEMLIMIT is set in the environment (the runtime
// has read it already; an operator's explicit choice wins). With the limit
// the collector works harder as the heap nears it, instead of letting the
// process grow to twice its live data.
func setMemoryLimit(logger *slog.Logger, cfg *consortium.Config) {
	if v := os.Getenv("GOMEMLIMIT"); v != "" {
		logger.Info("memory limit from the environment", "GOMEMLIMIT", v)
		return
	}
	limit := memoryLimit(cfg)
	debug.SetMemoryLimit(limit)
	logger.Info("memory limit", "mb", limit>>20, "from", map[bool]string{true: "server.memory_limit_mb", false: "cache.max_mb"}[cfg.Server.MemoryLimitMB > 0])
}
