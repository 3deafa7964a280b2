# Commonshelf: `make run` serves the demo consortium, `make test` runs the
# tests. Both need only Go (1.26+); modules come from the Go module proxy.

GO       ?= go
ADDR     ?= 127.0.0.1:8080
DATA_DIR ?= .commonshelf-data
BIN      := bin/commonshelf

.PHONY: all build run run-sru test test-deps vet bench fuzz clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/commonshelf

## run: build and serve the embedded demo consortium (first start indexes it)
run: build
	./$(BIN) serve --demo --addr $(ADDR) --data-dir $(DATA_DIR)

## test: vet, then every test with the race detector
test: test-deps
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 10m ./...

## test-deps: what the tests need beyond Go: Index Data Zebra (zebrasrv,
## zebraidx) for the SRU connector's end-to-end tests, and Chromium for the
## gateway page's browser tests. Installed with apt-get when missing and
## running as root; otherwise prints the command.
test-deps:
	@missing=""; \
	if ! command -v zebrasrv >/dev/null 2>&1 || ! command -v zebraidx >/dev/null 2>&1; then missing="idzebra-2.0 yaz"; fi; \
	if ! command -v chromium >/dev/null 2>&1; then missing="$$missing chromium"; fi; \
	if [ -z "$$missing" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing$$missing for the SRU and browser tests"; \
		DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	else \
		echo "the SRU and browser tests need$$missing; as root, run: apt-get update && apt-get install -y$$missing" >&2; \
	fi

## run-sru: serve a consortium mixing SRU members (Zebra on loopback, loaded
## with demo catalogues) and local ones; Ctrl-C stops everything
run-sru: build test-deps
	$(GO) build -o bin/zebralab ./cmd/zebralab
	./bin/zebralab --bin $(BIN) --addr $(ADDR) --data-dir $(DATA_DIR)

## bench: load and fault scenarios against a real server, then the Go
## benchmarks; every figure with its same-run baseline (not part of make test)
## (BENCH_SCENARIO=flood,overload runs only those scenarios; see
## commonshelf-bench -h for the names)
BENCH_SCALE ?= 1
BENCH_SCENARIO ?=
bench: build
	$(GO) build -o bin/commonshelf-bench ./cmd/commonshelf-bench
	./bin/commonshelf-bench --server $(BIN) --scale $(BENCH_SCALE) --scenario '$(BENCH_SCENARIO)' --out bench/results
	$(GO) test -run '^$$' -bench . -benchmem -count 3 -timeout 20m ./bench/ ./federate/ ./connectors/... ./index/files/ ./api/

## fuzz: a short run of every fuzz target (corpora live in testdata/fuzz)
FUZZTIME ?= 30s
fuzz:
	$(GO) test ./federate -run '^$$' -fuzz '^FuzzParseQuery$$' -fuzztime $(FUZZTIME)
	$(GO) test ./federate -run '^$$' -fuzz '^FuzzCacheKey$$' -fuzztime $(FUZZTIME)
	$(GO) test ./connectors/marc -run '^$$' -fuzz '^FuzzReader$$' -fuzztime $(FUZZTIME)
	$(GO) test ./connectors/marc -run '^$$' -fuzz '^FuzzToRecord$$' -fuzztime $(FUZZTIME)
	$(GO) test ./consortium -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME)
	$(GO) test ./connectors/opensearch -run '^$$' -fuzz '^FuzzParseFeed$$' -fuzztime $(FUZZTIME)
	$(GO) test ./connectors/primo -run '^$$' -fuzz '^FuzzParsePrimo$$' -fuzztime $(FUZZTIME)
	$(GO) test ./connectors/primo -run '^$$' -fuzz '^FuzzBuildQuery$$' -fuzztime $(FUZZTIME)
	$(GO) test ./connectors/solr -run '^$$' -fuzz '^FuzzParseSolr$$' -fuzztime $(FUZZTIME)
	$(GO) test ./connectors/solr -run '^$$' -fuzz '^FuzzBuildQuery$$' -fuzztime $(FUZZTIME)
	$(GO) test ./connectors/opensearch -run '^$$' -fuzz '^FuzzParseDescription$$' -fuzztime $(FUZZTIME)
	$(GO) test ./connectors/sru -run '^$$' -fuzz '^FuzzParseResponse$$' -fuzztime $(FUZZTIME)
	$(GO) test ./index/files -run '^$$' -fuzz '^FuzzCleanName$$' -fuzztime $(FUZZTIME)
	$(GO) test ./index/files -run '^$$' -fuzz '^FuzzDetect$$' -fuzztime $(FUZZTIME)
	$(GO) test ./index/files -run '^$$' -fuzz '^FuzzNameFor$$' -fuzztime $(FUZZTIME)
	$(GO) test ./cmd/commonshelf -run '^$$' -fuzz '^FuzzHTTP$$' -fuzztime $(FUZZTIME)

clean:
	rm -rf bin $(DATA_DIR)
