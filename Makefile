# The two commands a newcomer runs: `make run` and `make test`. Everything else is a step of those.
BUILD      ?= build
ASAN_BUILD ?= build-asan
JOBS       ?= $(shell nproc 2>/dev/null || sysctl -n hw.ncpu 2>/dev/null || echo 2)
CONFIG     ?= $(wildcard config.json)
# The CLI versions the integration suites run on (each installed by scripts/install-test-deps.sh).
CLI_VERSIONS ?= 2.1.100 2.1.197 2.1.332
export CLI_VERSIONS

.PHONY: all build asan deps test-deps run test unit bench fuzz soak docker-test clean

all: build

deps:
	@scripts/install-deps.sh

test-deps: deps
	@scripts/install-test-deps.sh

build:
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

asan:
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DSANITIZE=ON >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)

run: deps build
	@scripts/install-cli.sh
	@PATH="$(CURDIR)/.deps/cli/node_modules/.bin:$$PATH" ./$(BUILD)/claude-ws-proxy $(if $(CONFIG),--config $(CONFIG))

# Every test, on the sanitizer build (the plain build is built too, so both compile cleanly).
test: test-deps build asan
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --test-dir $(ASAN_BUILD) --output-on-failure -j 1

unit: build
	@ctest --test-dir $(BUILD) --output-on-failure -L unit

# The Docker image built and run with podman (no Docker daemon or registry); also a ctest entry of `make test`.
docker-test: test-deps
	@tests/docker/run.sh

bench: test-deps build
	@node bench/run.mjs

# libFuzzer targets (tests/fuzz/) under ASan/UBSan in build-fuzz, FUZZ_SECONDS each (20 here, 60 in `make test`).
fuzz: test-deps
	@scripts/fuzz.sh

# A bounded load run on loopback: concurrency 1/8/32 and abort churn (bench/soak.mjs; SOAK_SECONDS per phase).
soak: test-deps build
	@node bench/soak.mjs

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
