# sdae — see README.md. `make test` is the README's test command; `make reproduce` its main job.
CARGO ?= cargo
DATA_SRC ?= ../shared/datasets
DATA_DIR ?= data

.PHONY: build test test-native test-aarch64 bench lint fmt info clean

build:
	$(CARGO) build --release

test: test-native test-aarch64

test-native:
	$(CARGO) test --workspace

# NEON: cross-build the kernel tests for aarch64 and run them under qemu.
test-aarch64:
	CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc \
	CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="qemu-aarch64 -L /usr/aarch64-linux-gnu" \
	SDAE_EXPECT_ISAS=scalar,neon \
	$(CARGO) test -p sdae-kernels --target aarch64-unknown-linux-gnu

bench:
	$(CARGO) bench --workspace

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

info: build
	./target/release/sdae info

clean:
	$(CARGO) clean

# DAE step in sdae beside numpy and PyTorch (benches/peers/), interleaved, one run. Not part of CI.
.PHONY: bench-peers
bench-peers: build
	python3 benches/peers/compare.py
