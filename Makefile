# Commonshelf: `make run` serves the demo consortium, `make test` runs the
# tests. Both need only Go (1.26+); modules come from the Go module proxy.

GO       ?= go
ADDR     ?= 127.0.0.1:8080
DATA_DIR ?= .commonshelf-data
BIN      := bin/commonshelf

.PHONY: all build run test vet bench fuzz clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/commonshelf

## run: build and serve the embedded demo consortium (first start indexes it)
run: build
	./$(BIN) serve --demo --addr $(ADDR) --data-dir $(DATA_DIR)

## test: vet, then every test with the race detector
test:
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 10m ./...

## bench: load and fault scenarios against a real server, then the Go
## benchmarks; every figure with its same-run baseline (not part of make test)
BENCH_SCALE ?= 1
bench: build
	$(GO) build -o bin/commonshelf-bench ./cmd/commonshelf-bench
	./bin/commonshelf-bench --server $(BIN) --scale $(BENCH_SCALE) --out bench/results
	$(GO) test -run '^$$' -bench . -benchmem -count 3 -timeout 20m ./bench/ ./federate/ ./connectors/...

## fuzz: a short run of every fuzz target (corpora live in testdata/fuzz)
FUZZTIME ?= 30s
fuzz:
	$(GO) test ./federate -run '^$$' -fuzz '^FuzzParseQuery$$' -fuzztime $(FUZZTIME)
	$(GO) test ./connectors/marc -run '^$$' -fuzz '^FuzzReader$$' -fuzztime $(FUZZTIME)
	$(GO) test ./connectors/marc -run '^$$' -fuzz '^FuzzToRecord$$' -fuzztime $(FUZZTIME)
	$(GO) test ./consortium -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME)
	$(GO) test ./connectors/opensearch -run '^$$' -fuzz '^FuzzParseFeed$$' -fuzztime $(FUZZTIME)
	$(GO) test ./connectors/primo -run '^$$' -fuzz '^FuzzParsePrimo$$' -fuzztime $(FUZZTIME)
	$(GO) test ./connectors/primo -run '^$$' -fuzz '^FuzzBuildQuery$$' -fuzztime $(FUZZTIME)
	$(GO) test ./connectors/solr -run '^$$' -fuzz '^FuzzParseSolr$$' -fuzztime $(FUZZTIME)
	$(GO) test ./connectors/solr -run '^$$' -fuzz '^FuzzBuildQuery$$' -fuzztime $(FUZZTIME)
	$(GO) test ./connectors/opensearch -run '^$$' -fuzz '^FuzzParseDescription$$' -fuzztime $(FUZZTIME)

clean:
	rm -rf bin $(DATA_DIR)
