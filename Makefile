# mcptray — build, test and benchmark. `make` (or `make help`) lists the targets.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

GO           ?= go
BIN          := $(CURDIR)/bin
TEST_TIMEOUT ?= 15m
BENCH_PKG    ?= ./mcpclient/bench/
BENCHTIME    ?= 3s
BENCH_COUNT  ?= 1
# Fuzzing time per fuzz target: `make fuzz`, and the short run `make test` does.
FUZZTIME      ?= 60s
TEST_FUZZTIME ?= 2s
# The version `mcptray version` prints and the hub reports (mcpclient.Version),
# set by build and package: `git describe` (the last tag, the commits since it,
# -dirty for uncommitted changes; the bare commit when there is no tag). Where
# git cannot say (no git, no commit yet) the default in mcpclient/hub.go stays.
# Tests build without it: test binaries and the binaries they build agree.
VERSION      := $(shell git describe --tags --always --dirty 2>/dev/null)
VERSION_X    := $(if $(VERSION),-X=github.com/mcptray/mcptray/mcpclient.Version=$(VERSION))
# Packages that must build without cgo on every desktop OS.
CROSS_PKGS   := ./auth/... ./mcpclient/... ./cmd/mcptray-bridge/... ./cmd/mcptray/internal/...
CROSS_OSES   := linux darwin windows

# Real Node MCP servers for the tests (see mcpclient/internal/testenv): where
# they are, and fail rather than skip when they are missing.
export MCPTRAY_NPM_DIR      := $(CURDIR)/.ci/npm
export MCPTRAY_REQUIRE_REAL ?= 1

# Go files of the repo, outside dot-directories (.ci/npm/node_modules, .git).
GO_FILES = $(shell find . -name '.?*' -prune -o -name '*.go' -type f -print)

.PHONY: help deps build run test fuzz bench lint fmt fmt-check vet cross clean package

help: ## list the targets
	@grep -hE '^[a-z][a-z-]*:.*## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN {FS = ":.*## "} {printf "  make %-10s %s\n", $$1, $$2}'

deps: ## install missing system and npm packages (.ci/deps.sh)
	@bash .ci/deps.sh

build: ## build bin/mcptray and bin/mcptray-bridge (version from git describe)
	$(GO) build -ldflags '$(VERSION_X)' -o $(BIN)/ ./cmd/mcptray ./cmd/mcptray-bridge

run: deps build ## build and start the tray app (headless `serve` without a display)
	@if [ -n "$${DISPLAY:-}" ] || [ -n "$${WAYLAND_DISPLAY:-}" ]; then \
		exec $(BIN)/mcptray; \
	else \
		echo "run: no DISPLAY or WAYLAND_DISPLAY: starting the headless hub (bin/mcptray serve)"; \
		exec $(BIN)/mcptray serve; \
	fi

test: deps fmt-check vet cross ## gofmt, vet, cross builds, go test -race on everything, each fuzz target for TEST_FUZZTIME
	$(GO) test -race -count=1 -timeout $(TEST_TIMEOUT) ./...
	@GO=$(GO) FUZZTIME=$(TEST_FUZZTIME) FUZZ_KEEP_CRASHERS=0 FUZZ_CRASHERS_DIR=$(BIN)/fuzz-crashers bash .ci/fuzz.sh

fuzz: ## run every Go fuzz target for FUZZTIME each (default 60s; FUZZ_MATCH=regexp picks some)
	@GO=$(GO) FUZZTIME=$(FUZZTIME) bash .ci/fuzz.sh

bench: deps build ## run the benchmarks in BENCH_PKG (BENCHTIME, BENCH_COUNT)
	@[ -d "$(BENCH_PKG)" ] || { echo "bench: $(BENCH_PKG) does not exist (yet)"; exit 1; }
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) -count $(BENCH_COUNT) -timeout 60m $(BENCH_PKG)...

lint: fmt-check vet ## gofmt, go vet, and go.mod/go.sum tidy check
	@$(GO) mod tidy -diff || { echo "lint: go.mod/go.sum are not tidy: run go mod tidy"; exit 1; }

fmt: ## gofmt -w all Go files
	@gofmt -w $(GO_FILES)

fmt-check:
	@out="$$(gofmt -l $(GO_FILES))"; \
	if [ -n "$$out" ]; then echo "gofmt: these files need formatting (make fmt):"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

cross:
	@for os in $(CROSS_OSES); do \
		echo "CGO_ENABLED=0 GOOS=$$os go build + go vet (tests too) $(CROSS_PKGS)"; \
		CGO_ENABLED=0 GOOS=$$os GOARCH=amd64 $(GO) build $(CROSS_PKGS); \
		CGO_ENABLED=0 GOOS=$$os GOARCH=amd64 $(GO) vet $(CROSS_PKGS); \
	done

# fyne's packaging tool, pinned; `go run` fetches it as a Go module.
FYNE := fyne.io/tools/cmd/fyne@v1.7.4

package: ## build the Linux package bin/mcptray.tar.xz (fyne package + the bridge); docs/packaging.md
	@mkdir -p $(BIN)
	@# fyne reads FyneApp.toml beside the main package (and bumps its Build):
	@# give it a copy of the root file for this run only.
	@sed 's#"assets/#"../../assets/#' FyneApp.toml > cmd/mcptray/FyneApp.toml
	@# fyne takes the linker flags for the app from GOFLAGS (-ldflags=…).
	@trap 'rm -f $(CURDIR)/cmd/mcptray/FyneApp.toml' EXIT; \
		cd $(BIN) && rm -f mcptray.tar.xz && \
		GOFLAGS="$${GOFLAGS:-} $(if $(VERSION_X),-ldflags=$(VERSION_X))" $(GO) run $(FYNE) package -os linux -release -src $(CURDIR)/cmd/mcptray
	@# Add mcptray-bridge (what IDEs launch) beside mcptray, and to the package's Makefile.
	@tmp="$$(mktemp -d)"; trap 'rm -rf "$$tmp"' EXIT; \
		tar -xJf $(BIN)/mcptray.tar.xz -C "$$tmp"; \
		bindir="$$(dirname "$$(find "$$tmp" -path '*/bin/mcptray' -type f)")"; \
		CGO_ENABLED=0 $(GO) build -trimpath -ldflags '-s -w' -o "$$bindir/mcptray-bridge" ./cmd/mcptray-bridge; \
		awk '/bin\/\$$\(Exec\)/ && !/sed/ { print; gsub(/\$$\(Exec\)/, "mcptray-bridge") } { print }' \
			"$$tmp/mcptray/Makefile" > "$$tmp/Makefile.new" && mv "$$tmp/Makefile.new" "$$tmp/mcptray/Makefile"; \
		tar -cJf $(BIN)/mcptray.tar.xz -C "$$tmp" mcptray; \
		echo "package: $(BIN)/mcptray.tar.xz"; tar -tJf $(BIN)/mcptray.tar.xz | sed 's/^/  /'

clean: ## remove bin/
	rm -rf $(BIN)
