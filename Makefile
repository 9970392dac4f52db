# The front door: `make run` and `make test` work on a fresh Debian 12 machine (see README.md).
JOBS ?= $(shell nproc)
DATA_DIR ?= data
LISTEN ?= 127.0.0.1:8080
CMAKE_FLAGS ?=

.PHONY: all bootstrap build build-asan build-tsan web run test test-release test-asan test-tsan \
        ctest-release ctest-asan ctest-tsan format format-check bench clean \
        build-fuzz fuzz fuzz-check sim

# Tests that prove a concurrency claim carry one of these words in their name and run again under
# ThreadSanitizer.
TSAN_TESTS ?= Concurrent|Contention|Torture|GracefulStop

all: build

bootstrap:
	@scripts/bootstrap

build/build.ninja:
	cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS)

build: bootstrap build/build.ninja
	cmake --build build -j $(JOBS)

build-asan/build.ninja:
	cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug \
	  -DBOXOFFICE_SANITIZE=address,undefined $(CMAKE_FLAGS)

build-asan: bootstrap build-asan/build.ninja
	cmake --build build-asan -j $(JOBS)

build-tsan/build.ninja:
	cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DBOXOFFICE_SANITIZE=thread \
	  $(CMAKE_FLAGS)

build-tsan: bootstrap build-tsan/build.ninja
	cmake --build build-tsan -j $(JOBS) --target boxoffice_tests

# The libFuzzer targets of fuzz/ (fuzz/README.md), with clang. `make test` runs each over its
# checked-in corpus and then FUZZ_CHECK_SECONDS of fresh inputs; `make fuzz` runs each for
# FUZZ_SECONDS and keeps what it finds in build-fuzz/corpus/ (scripts/fuzz merge adds it to
# fuzz/corpus/). A crash's input goes to build-fuzz/artifacts/.
FUZZ_SECONDS ?= 600
FUZZ_CHECK_SECONDS ?= 10
FUZZ_TARGETS ?=

build-fuzz/build.ninja:
	CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=Debug -DBOXOFFICE_FUZZ=ON \
	  $(CMAKE_FLAGS)

build-fuzz: bootstrap build-fuzz/build.ninja
	cmake --build build-fuzz -j $(JOBS)

fuzz-check: build-fuzz
	@scripts/fuzz check $(FUZZ_CHECK_SECONDS) $(FUZZ_TARGETS)

fuzz: build-fuzz
	@scripts/fuzz grow $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# The fan page, from web/package-lock.json (scripts/web-build says when it rebuilds).
web: bootstrap
	@scripts/web-build

# The demo trusts X-Forwarded-For from loopback only, so that `boxoffice onsale` and `botsim`,
# run on this machine, can play many fans each with their own address (README, "Watch an
# on-sale"); clients from elsewhere are still seen as their own address.
TRUSTED_PROXIES ?= 127.0.0.1/32

run: build web
	build/boxoffice serve --listen $(LISTEN) --data-dir $(DATA_DIR) --demo \
	  --trusted-proxies $(TRUSTED_PROXIES)

# The stages of `make test`, in order; scripts/stages prints each one's duration at the end.
TEST_STAGES = format-check build web ctest-release build-asan ctest-asan build-tsan ctest-tsan \
              build-fuzz fuzz-check

test: bootstrap
	@scripts/stages $(TEST_STAGES)

test-release: build web
	@$(MAKE) --no-print-directory ctest-release

test-asan: build-asan
	@$(MAKE) --no-print-directory ctest-asan

test-tsan: build-tsan
	@$(MAKE) --no-print-directory ctest-tsan

# The test runs alone, on what the builds above left.
ctest-release:
	cd build && ctest --output-on-failure -j $(JOBS)

ctest-asan:
	cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j $(JOBS)

ctest-tsan:
	cd build-tsan && TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
	  ctest --output-on-failure -j $(JOBS) -R '$(TSAN_TESTS)'

format:
	@git ls-files --cached --others --exclude-standard '*.cpp' '*.hpp' | xargs -r clang-format -i

format-check: bootstrap
	@files=$$(git ls-files --cached --others --exclude-standard '*.cpp' '*.hpp'); \
	  [ -z "$$files" ] || clang-format --dry-run -Werror $$files

bench: build
	build/boxoffice_benchmarks --benchmark_out=bench/results/micro.json --benchmark_out_format=json
	bench/http.sh
	bench/holds.sh
	bench/queue.sh
	bench/orders.sh
	bench/defense.sh
	bench/botsim.sh

# The deterministic simulation (src/tools/sim.hpp) for SIM_SECONDS, seeds from SIM_SEED on, every
# seed run twice to prove it replays; the summary (seeds, faults, crashes by effect) goes to
# bench/results/sim.json. A failing seed prints the command that replays it.
SIM_SECONDS ?= 600
SIM_SEED ?= 1
sim: build
	build/boxoffice sim --seed $(SIM_SEED) --duration-s $(SIM_SECONDS) --check-determinism \
	  --report bench/results/sim.json

clean:
	rm -rf build build-asan build-tsan build-fuzz
