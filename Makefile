# libkimberlite: one way to build, test, bench and demo. See README.md.
GO      ?= go
BUILD   ?= build
PREFIX  ?= /usr/local
VERSION := 0.1.0

.PHONY: all build server lib speedups generate test test-go test-c test-python test-node bench demo static install uninstall test-packaging clean fmt vet chaos

all: build

build: server lib speedups

server:
	@mkdir -p $(BUILD)
	$(GO) build -o $(BUILD)/kimberlite ./cmd/kimberlite

# The C ABI (ffi/) as a shared library with a soname; see build.sh.
lib:
	@./build.sh lib $(BUILD)

# The Python binding's optional C accelerator of Client.read, beside the library (status 3: this
# Python has no headers, and the binding uses ctypes alone).
speedups: lib
	@bindings/python/build-speedups.sh $(BUILD) include || [ $$? -eq 3 ]

# Files written from pool.Options (internal/optionsgen); test-go fails when they are stale.
generate:
	$(GO) generate ./pool

test: build test-go test-c test-python test-node test-packaging
	@echo "make test: all suites passed"

test-go:
	KIMBERLITE_BIN=$(abspath $(BUILD))/kimberlite $(GO) test -count=1 -timeout 10m ./...

test-c: lib
	@if [ -x tests/c/run.sh ]; then BUILD=$(abspath $(BUILD)) tests/c/run.sh; else echo "test-c: no C suite yet"; fi

# The Python package (ctypes) and the Node addon, each against real servers.
test-python: lib speedups
	@if [ -x bindings/python/run-tests.sh ]; then BUILD=$(abspath $(BUILD)) bindings/python/run-tests.sh; else echo "test-python: no Python suite yet"; fi

test-node: lib
	@if [ -x bindings/node/run-tests.sh ]; then BUILD=$(abspath $(BUILD)) bindings/node/run-tests.sh; else echo "test-node: no Node suite yet"; fi

# A long chaos run: SEED picks the fault schedule, DURATION how long faults go on (e.g. 10m).
SEED     ?= 1
DURATION ?= 10m
chaos: server
	CHAOS_SEED=$(SEED) CHAOS_DURATION=$(DURATION) KIMBERLITE_BIN=$(abspath $(BUILD))/kimberlite \
		$(GO) test -count=1 -v -timeout 0 -run TestChaos ./tests/chaos/

bench: build
	@./bench/run.sh $(BUILD)

demo: build
	@./scripts/demo.sh $(BUILD)

static:
	@./build.sh static $(BUILD)

# DESTDIR stages the files under another root (packaging); PREFIX is where they will live.
install: build static
	@./build.sh install $(BUILD) $(PREFIX)

uninstall:
	@./build.sh uninstall $(PREFIX)

# What a user installs into their own project: the Python wheel, the C/C++ install.
test-packaging: build static
	@BUILD=$(abspath $(BUILD)) tests/packaging/run.sh

vet:
	$(GO) vet ./...

clean:
	rm -rf $(BUILD)
