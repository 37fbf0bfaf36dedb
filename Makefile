# sdae — see README.md. `make test` is the README's test command; `make reproduce` its main job.
CARGO ?= cargo
DATA_SRC ?= ../shared/datasets
DATA_DIR ?= data

.PHONY: build setup test test-native test-aarch64 test-slurm test-crash crash-test bench lint fmt info clean reproduce fuzz

build:
	$(CARGO) build --release

# Installs the cross toolchain, qemu and Slurm if missing (scripts/setup.sh); a no-op otherwise.
setup:
	bash scripts/setup.sh

# The README's test command: everything, set-up included.
test: setup test-native test-aarch64 test-slurm test-crash

test-native:
	$(CARGO) test --workspace

# NEON: cross-build the kernel tests for aarch64 and run them under qemu.
test-aarch64:
	CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc \
	CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="qemu-aarch64 -L /usr/aarch64-linux-gnu" \
	SDAE_EXPECT_ISAS=scalar,neon \
	$(CARGO) test -p sdae-kernels --target aarch64-unknown-linux-gnu

# A real sweep as a Slurm job array on a single-node cluster started for the test (needs root).
test-slurm: build
	bash tests/slurm/sweep-on-slurm.sh ./target/release/sdae

# Crash consistency: SIGKILL at seeded random moments during data generate / import-idx /
# import-amat / train / sweep run-local / sweep collect, restart, compare with an uninterrupted run
# (tests/crash/crash-test.sh). `make test` runs 3 kills per command; `make crash-test TRIALS=N`.
TRIALS ?= 40
SEED ?= 1
test-crash: build
	bash tests/crash/crash-test.sh ./target/release/sdae 3 $(SEED)
crash-test: build
	bash tests/crash/crash-test.sh ./target/release/sdae $(TRIALS) $(SEED)

# The README's main job: the paper's Table 1 with the `best` grid (generates missing data).
# Writes a fresh run to $(REPRO_OUT); the committed reproduction is in results/ (a finished run
# is never re-run, so pointing this at results/ would only re-collect it).
REPRO_OUT ?= results/latest
reproduce: build
	./target/release/sdae reproduce --grid best --out $(REPRO_OUT) --data $(DATA_DIR) --source $(DATA_SRC)

# criterion benches (GEMM per ISA beside matrixmultiply, fused kernels, the DAE step), then the
# quick tables of `sdae bench` at one and two threads.
bench: build
	$(CARGO) bench --workspace
	./target/release/sdae bench gemm --threads 1 --isa all
	./target/release/sdae bench gemm --threads 2
	./target/release/sdae --isa all bench fused --threads 1
	./target/release/sdae bench dae-step --batch 128 --threads 1
	./target/release/sdae bench dae-step --batch 20 --threads 1
	./target/release/sdae bench rbm-step --batch 128 --threads 1
	./target/release/sdae bench rbm-step --batch 20 --threads 1

# Every file reader fuzzed for FUZZ_SECONDS per target, one target at a time, from fresh seeds
# (tests/fuzz_readers.rs; `make test` runs each from a fixed seed for a few hundred inputs).
FUZZ_SECONDS ?= 600
fuzz:
	SDAE_FUZZ_SECONDS=$(FUZZ_SECONDS) $(CARGO) test --test fuzz_readers fuzz_ -- --test-threads 1 --nocapture

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

info: build
	./target/release/sdae info

clean:
	$(CARGO) clean

# The GEMM shapes and the DAE step in sdae beside matrixmultiply, numpy and PyTorch
# (benches/peers/), interleaved, with the FMA peak of the same run and the CPU model. Not in CI.
.PHONY: bench-peers
bench-peers: build
	python3 benches/peers/gemm_compare.py
	python3 benches/peers/compare.py

# Datasets (issue 3): generate the eight benchmark tasks into $(DATA_DIR) from MNIST and natural
# images in $(DATA_SRC). See datasets/README.md.
.PHONY: data
data:
	@missing=""; \
	for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do \
	  [ -f "$(DATA_SRC)/mnist/$$f.gz" ] || [ -f "$(DATA_SRC)/mnist/$$f" ] || missing="$$missing $(DATA_SRC)/mnist/$$f.gz"; \
	done; \
	bg=""; for f in "$(DATA_SRC)"/backgrounds/*.pgm "$(DATA_SRC)"/backgrounds/*.png; do [ -f "$$f" ] && bg=1; done; \
	[ -n "$$bg" ] || missing="$$missing $(DATA_SRC)/backgrounds/*.pgm|*.png"; \
	if [ -n "$$missing" ]; then \
	  echo "make data: source files missing:$$missing" >&2; \
	  echo "  Put the four MNIST IDX files (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz," >&2; \
	  echo "  t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz; from the usual MNIST distribution," >&2; \
	  echo "  gzipped or not) in DIR/mnist/, and natural grayscale images (PGM P5 or PNG, >= 28x28)" >&2; \
	  echo "  in DIR/backgrounds/, then run: make data DATA_SRC=DIR   (see datasets/README.md)" >&2; \
	  exit 1; \
	fi
	$(CARGO) build --release
	./target/release/sdae data generate --task all --out $(DATA_DIR) --source $(DATA_SRC)
	./target/release/sdae data verify $(DATA_DIR)
