# WIM Console. `make run` and `make test` install what is missing (Debian/Ubuntu).
GO       ?= go
BIN      ?= bin/wimconsole
CLIBIN   ?= bin/wimconsole-cli
# Oracle tests (wimlib-imagex, libwim, Xvfb) must run, not skip, under make test.
export WIMCONSOLE_ORACLE = 1
TESTTAGS := libwim
TESTFLAGS ?= -timeout 25m
# staticcheck, pinned: make vet (and so make test) installs this version.
STATICCHECK ?= v0.8.2

.PHONY: all deps test-deps build run test vet stress bench fuzz pgo clean

all: build

deps:
	@scripts/install-deps.sh build

test-deps:
	@scripts/install-deps.sh test

# wimconsole is the console window and the command line; wimconsole-cli is
# the command line alone, without the GUI libraries (for servers and scripts).
build: deps
	$(GO) build -o $(BIN) .
	$(GO) build -o $(CLIBIN) ./cmd/wimconsole-cli

run: build
	./$(BIN)

vet:
	$(GO) vet -tags $(TESTTAGS) ./...
	$(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK)
	"$$($(GO) env GOPATH)/bin/staticcheck" -tags $(TESTTAGS) ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }

# The console and its use cases run again under the race detector: their
# tests drive the UI from the test's goroutine while background work hands
# results to it, as in the app.
test: test-deps vet
	$(GO) test -tags $(TESTTAGS) $(TESTFLAGS) ./...
	$(GO) test -race -tags $(TESTTAGS) $(TESTFLAGS) ./app/ ./views/

# Stress (not run by CI): the app, views, store, servicing, remote, library and engine/wim's concurrent tests
# under -race, COUNT (10) times, with GOMAXPROCS=1 beside a busy loop per
# core, where timing bugs show (scripts/stress.sh; PKGS="app views" for some;
# LANES=2 runs two packages at a time with one busy loop fewer: half the time).
COUNT ?= 10
LANES ?= 1
stress: test-deps
	COUNT=$(COUNT) LANES=$(LANES) scripts/stress.sh $(PKGS)

# Benchmarks (not run by CI): codec MB/s and side-by-side runs with wimlib-imagex.
# The side-by-side table uses the corpus from ../shared/bench/make-corpus.sh
# (built on first use, ~1.4 GB; CORPUS_SCALE=small for a quick ~350 MB run;
# WIMBENCH_CORPUS=DIR to use another tree; RUNS=N runs per row, default 3).
# The encoders alone against libwim's (BenchmarkTreeVsLibwim) run on the
# corpus's tree A, or on WIMBENCH_TREE. The servicing commit benchmark
# (BenchmarkCommitSmallChange) takes tree A captured once into
# ~/.cache/wimconsole-bench/treeA.wim when that file is there, or
# WIMBENCH_TREE_WIM, instead of capturing the tree at every run.
bench: test-deps
	scripts/bench-vs-wimlib.sh
	@if command -v rclone >/dev/null; then scripts/bench-library.sh; \
	else echo "bench: rclone missing (apt-get install rclone): library rows skipped" >&2; fi
	@tree=$${WIMBENCH_TREE:-$$HOME/.cache/wimconsole-bench/corpus/A}; \
	if [ -d "$$tree" ]; then export WIMBENCH_TREE="$$tree"; fi; \
	wim=$${WIMBENCH_TREE_WIM:-$$HOME/.cache/wimconsole-bench/treeA.wim}; \
	if [ -f "$$wim" ]; then export WIMBENCH_TREE_WIM="$$wim"; fi; \
	$(GO) test -tags $(TESTTAGS) -run '^$$' -bench . -benchtime 3x ./engine/...

# Regenerate default.pgo (and its copy in cmd/wimconsole-cli), the profile
# go build uses to optimise both binaries.
pgo: test-deps
	scripts/pgo-profile.sh

# Fuzzing (not run by CI): each target for FUZZTIME, seeded with the real
# files in the packages' testdata. Go minimises every new input for up to
# 60 s by default, which used a whole 60 s budget on a few dozen inputs;
# FUZZMINIMIZE bounds it. FUZZ picks targets (a regexp, e.g. FUZZ=FuzzOpen),
# FUZZPKG packages; the last "execs:" line of each run says how much ran.
FUZZTIME ?= 60s
FUZZMINIMIZE ?= 5s
FUZZ ?= .
FUZZPKG ?= ./...
fuzz:
	@for pkg in $$($(GO) list $(FUZZPKG)); do \
	  for f in $$($(GO) test -tags $(TESTTAGS) -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz' | grep -E -- '$(FUZZ)'); do \
	    echo "== $$pkg $$f"; \
	    $(GO) test -tags $(TESTTAGS) -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) \
	      -fuzzminimizetime $(FUZZMINIMIZE) $$pkg || exit 1; \
	  done; \
	done

clean:
	rm -rf bin
