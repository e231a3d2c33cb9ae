# otelcol-webjourney. The two commands: `make run` and `make test`.
GO ?= go
BIN := _build/otelcol-webjourney
DIST_TOOLS := bin/nfpm bin/cyclonedx-gomod bin/ociimage
COMPONENTS := receiver/pixelreceiver processor/consentprocessor processor/anonymizer processor/attributionprocessor exporter/elasticsearchjourneyexporter exporter/partnerpostbackexporter

.PHONY: run test deps-run deps-test build dist dist-host generate tools bench bench-exporter bench-pipeline bench-searchable fuzz es-start es-stop clean

## run: install what is missing, build the distribution, start Elasticsearch unless ELASTICSEARCH_URL is set, run the collector
run: deps-run build
	scripts/run.sh

## test: everything CI runs (vet, unit, integration and end-to-end tests against a real Elasticsearch,
## and the release artefacts of this machine's architecture, installed and run: test/deploy)
test: deps-test build dist-host
	scripts/test.sh

## deps-run / deps-test: install the system packages run / test need (apt-get as root or through sudo -n)
deps-run:
	scripts/install-deps.sh run
deps-test:
	scripts/install-deps.sh test

## build: build the otelcol-webjourney distribution with the pinned ocb. CGO is off
## as in the release binaries (make dist), which then reuse this build's cache.
build: bin/ocb
	CGO_ENABLED=0 bin/ocb --config builder-config.yaml

## dist: release artefacts in dist/ for linux/amd64 and linux/arm64 (binaries, .deb, .rpm,
## tarballs, OCI image, SBOMs, SHA256SUMS); dist-host: the same for this machine's arch only
dist: bin/ocb $(DIST_TOOLS)
	scripts/dist.sh amd64 arm64
dist-host: bin/ocb $(DIST_TOOLS)
	scripts/dist.sh $(shell $(GO) env GOARCH)

## tools: install the pinned ocb, mdatagen and release tools into bin/
tools: bin/ocb bin/mdatagen $(DIST_TOOLS)

bin/ocb: tools/go.mod tools/go.sum
	cd tools && $(GO) build -o ../bin/ocb go.opentelemetry.io/collector/cmd/builder

bin/mdatagen: tools/go.mod tools/go.sum
	cd tools && $(GO) build -o ../bin/mdatagen go.opentelemetry.io/collector/cmd/mdatagen

bin/nfpm: tools/go.mod tools/go.sum
	cd tools && $(GO) build -o ../bin/nfpm github.com/goreleaser/nfpm/v2/cmd/nfpm

bin/cyclonedx-gomod: tools/go.mod tools/go.sum
	cd tools && $(GO) build -o ../bin/cyclonedx-gomod github.com/CycloneDX/cyclonedx-gomod/cmd/cyclonedx-gomod

bin/ociimage: tools/go.mod tools/go.sum $(wildcard tools/ociimage/*.go)
	cd tools && $(GO) build -o ../bin/ociimage ./ociimage

## generate: regenerate mdatagen code (internal/metadata, generated tests, README status tables)
generate: bin/mdatagen
	@for d in $(COMPONENTS); do echo "mdatagen $$d"; (cd $$d && ../../bin/mdatagen metadata.yaml) || exit 1; done

## bench: run the Go benchmarks (numbers go into docs/benchmarks.md)
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

## bench-pipeline: server CPU per event from the socket to nop and to Elasticsearch, server and generator pinned to their own cores, one run; writes the table into docs/benchmarks.md
bench-pipeline: build
	scripts/bench-pipeline.sh --write

## bench-searchable: beacon -> searchable latency with config/production.yaml, quiet and at 2000 events/s, own Elasticsearch (docs/benchmarks.md)
bench-searchable: build
	scripts/bench-searchable.sh --write 2000 60s

## bench-exporter: exporter vs a plain go-elasticsearch bulk loader, same 200,000 documents, own Elasticsearch (docs/benchmarks.md)
bench-exporter: build
	scripts/bench-exporter.sh

## es-start / es-stop: a local Elasticsearch on 127.0.0.1:9200 (see scripts/elasticsearch.sh)
es-start:
	scripts/elasticsearch.sh start
es-stop:
	scripts/elasticsearch.sh stop

clean:
	rm -rf bin dist $(BIN) _build/*.go
