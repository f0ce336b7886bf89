# SketchMaker's front door. Every target builds with the Go release whose standard library
# carries the security fixes (see docs/architecture.md); the first use downloads it.
export GOTOOLCHAIN := go1.27.3

# The test databases of this project's machines; unset them to run without.
PG_TEST_URL ?= postgres://postgres@127.0.0.1:5432/test?sslmode=disable
REDIS_TEST_URL ?= redis://127.0.0.1:6379/0

.PHONY: help run build test test-short lint bench fmt

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-11s %s\n", $$1, $$2}'

run: ## run SketchMaker on http://127.0.0.1:8080 with the embedded defaults
	go run ./cmd/sketchmaker serve

build: ## build bin/sketchmaker
	go build -trimpath -o bin/sketchmaker ./cmd/sketchmaker

test: ## run every test, with the race detector, on SQLite and (when reachable) PostgreSQL and Redis
	go test -race -count=1 ./...

test-short: ## run the tests without the browser and the slow cases
	go test -short -count=1 ./...

lint: ## go vet, staticcheck and an offline govulncheck
	go vet ./...
	go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...
	go run golang.org/x/vuln/cmd/govulncheck@latest -db "file://$$(go mod download -json golang.org/x/vulndb@latest | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')/data/osv" ./...

# The packages whose micro-benchmarks `make bench` runs. The web package's benchmarks start
# whole servers; the benchmark program measures those scenarios against the real binary.
BENCH_PKGS ?= ./internal/engine ./internal/media ./internal/pngcodec ./internal/upload \
	./internal/password ./internal/job ./internal/moderation ./internal/gallery

bench: ## measure the targets of issue 8 into bench/results.md (about 10 minutes; see README)
	go build -trimpath -o bin/sketchmaker ./cmd/sketchmaker
	go build -trimpath -o bin/sketchmaker-bench ./cmd/sketchmaker-bench
	go test -run '^$$' -bench . -benchmem -benchtime=500ms $(BENCH_PKGS)
	bin/sketchmaker-bench -server bin/sketchmaker -out bench/results.md

fmt: ## format the code
	gofmt -w cmd internal
