# Entry points for users and CI. Everything installs what it needs first.
BUILD_DIR ?= build
BUILD_TYPE ?= Release
MANIFEST ?= examples/flight-delays.yaml
JOBS ?= 2

.PHONY: deps build run test bench bench-nexmark clean images

deps:
	@bash scripts/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) >/dev/null
	@cmake --build $(BUILD_DIR) -j $(JOBS)

run: build
	@$(BUILD_DIR)/bin/flink-cpp run-local $(MANIFEST)

test: build
	@cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)

bench: build
	@bash bench/flight_delays_bench.sh $(BUILD_DIR)/bin/flink-cpp

bench-nexmark: build
	@bash bench/nexmark_bench.sh $(BUILD_DIR)/bin/flink-cpp

images: deps
	@BUILD_DIR=$(BUILD_DIR) bash scripts/build-images.sh

clean:
	rm -rf $(BUILD_DIR)
