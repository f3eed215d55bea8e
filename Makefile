# Two commands on a fresh Debian machine: `make run` and `make test` (see README.md).
JOBS ?= $(shell nproc)
PRESET ?= release
BIN := build/$(PRESET)/sluice

.PHONY: all deps build run test test-long bench clean format

all: build

deps:
	@bash scripts/install-deps.sh

build: deps
	@cmake --preset $(PRESET) >/dev/null
	@cmake --build --preset $(PRESET) -j $(JOBS)

run: build
	$(BIN) run examples/quickstart/pipeline.yaml

test: build
	cd build/$(PRESET) && ctest --output-on-failure -j $(JOBS)

# Long variants: many kill -9 trials and multi-GB files.
test-long: build
	cd build/$(PRESET) && SLUICE_LONG=1 ctest --output-on-failure

bench: build
	bash bench/run.sh

clean:
	rm -rf build

format:
	find src tests bench -name '*.h' -o -name '*.cc' | xargs clang-format -i
