# Entry points for users and CI. Everything installs what it needs first.
BUILD_DIR ?= build
BUILD_TYPE ?= Release
MANIFEST ?= examples/flight-delays.yaml
JOBS ?= 2
# make test SANITIZE=address,undefined (or thread): the suite under sanitizers, own build dir.
SANITIZE ?=
# The libFuzzer build (clang) and how long `make fuzz` runs each target; `make test` runs each
# for FUZZ_SMOKE_SECONDS after the suite.
FUZZ_BUILD_DIR ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_SMOKE_SECONDS ?= 10
FUZZ_TARGETS ?=

# SANITIZE_CTEST_ARGS narrows the ASan+UBSan suite (e.g. -E 'e2e|kubelet' for the unit tests).
SANITIZE_CTEST_ARGS ?=
# The concurrency tests TSan runs, by Catch2 tag (the unit tests in processes of their own are
# left out): network exchange and credits, barrier alignment, checkpoints and asynchronous
# snapshots, sinks' two-phase commit, the work queue, informers and the test cluster's
# controllers, the operator's config store, the REST server's task queue.
TSAN_TESTS ?= $(subst $(space),$(comma),$(foreach t,network aligner checkpoint sink workqueue informer cluster operator-config http concurrency,[$(t)]~[process]))
space := $(subst ,, )
comma := ,
ifeq ($(SANITIZE),thread)
  BUILD_DIR := build-tsan
  BUILD_TYPE := Sanitize
else ifneq ($(SANITIZE),)
  BUILD_DIR := build-asan
  BUILD_TYPE := Sanitize
  CTEST_ARGS := $(SANITIZE_CTEST_ARGS)
endif
export TSAN_OPTIONS ?= suppressions=$(CURDIR)/test/sanitizers/tsan.supp halt_on_error=1 second_deadlock_stack=1
export UBSAN_OPTIONS ?= print_stacktrace=1 halt_on_error=1
export ASAN_OPTIONS ?= detect_leaks=1

.PHONY: deps fuzz-deps build fuzz-build run test fuzz bench bench-nexmark clean images

deps:
	@bash scripts/install-deps.sh

fuzz-deps:
	@bash scripts/install-deps.sh --fuzz

build: deps
	@cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DFLINK_SANITIZE=$(SANITIZE) >/dev/null
	@cmake --build $(BUILD_DIR) -j $(JOBS)

fuzz-build: fuzz-deps
	@cmake -S . -B $(FUZZ_BUILD_DIR) -DFLINK_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_BUILD_TYPE=Fuzz >/dev/null
	@cmake --build $(FUZZ_BUILD_DIR) -j $(JOBS)

run: build
	@$(BUILD_DIR)/bin/flink-cpp run-local $(MANIFEST)

test: build
ifeq ($(SANITIZE),thread)
	@cd $(BUILD_DIR) && ./bin/unit_tests '$(TSAN_TESTS)'
else
	@cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) $(CTEST_ARGS)
endif
ifeq ($(SANITIZE),)
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=$(FUZZ_SMOKE_SECONDS)
endif

fuzz: fuzz-build
	@bash test/fuzz/run.sh $(CURDIR)/$(FUZZ_BUILD_DIR) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

bench: build
	@bash bench/flight_delays_bench.sh $(BUILD_DIR)/bin/flink-cpp

bench-nexmark: build
	@bash bench/nexmark_bench.sh $(BUILD_DIR)/bin/flink-cpp

images: deps
	@BUILD_DIR=$(BUILD_DIR) bash scripts/build-images.sh

clean:
	rm -rf $(BUILD_DIR) build-asan build-tsan $(FUZZ_BUILD_DIR)
