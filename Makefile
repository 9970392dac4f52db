# The front door: `make run` and `make test` work on a fresh Debian 12 machine (see README.md).
JOBS ?= $(shell nproc)
DATA_DIR ?= data
LISTEN ?= 127.0.0.1:8080
CMAKE_FLAGS ?=

.PHONY: all bootstrap build build-asan run test test-release test-asan format format-check bench clean

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

run: build
	build/boxoffice serve --listen $(LISTEN) --data-dir $(DATA_DIR) --demo

test: format-check test-release test-asan

test-release: build
	cd build && ctest --output-on-failure -j $(JOBS)

test-asan: build-asan
	cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j $(JOBS)

format:
	@git ls-files --cached --others --exclude-standard '*.cpp' '*.hpp' | xargs -r clang-format -i

format-check: bootstrap
	@files=$$(git ls-files --cached --others --exclude-standard '*.cpp' '*.hpp'); \
	  [ -z "$$files" ] || clang-format --dry-run -Werror $$files

bench: build
	build/boxoffice_benchmarks --benchmark_out=bench/results/micro.json --benchmark_out_format=json
	bench/http.sh
	bench/queue.sh

clean:
	rm -rf build build-asan
