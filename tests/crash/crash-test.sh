#!/usr/bin/env bash
# Crash consistency: kill sdae with SIGKILL at random (seeded) moments during `data generate`,
# `data import-idx`, `data import-amat`, `train`, `sweep run-local` and `sweep collect`, then
# restart (or resume) the same command and check that
#   - the final files are byte-identical to an uninterrupted run's (for files that record wall
#     times, the lines holding them are dropped first: "seconds", "collected_unix", the table's
#     provenance line, the command line), and
#   - nothing partial or temporary is left: the set of files equals the uninterrupted run's
#     (no .tmp, no claim.*, no failed.json, no stray checkpoint).
#   tests/crash/crash-test.sh [path/to/sdae] [TRIALS per command, default 3] [SEED, default 1]
# `make test` runs 3 trials per command; `make crash-test TRIALS=N` runs more.
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
bin=$(realpath "${1:-$here/target/release/sdae}")
trials=${2:-3}
seed=${3:-1}
[ -x "$bin" ] || { echo "crash-test: no sdae binary at $bin (run: cargo build --release)" >&2; exit 1; }
work=$(mktemp -d /tmp/sdae-crash.XXXXXX)
trap 'rm -rf "$work"' EXIT
RANDOM=$seed
kills=0
mismatches=0
leftovers=0
fail_log="$work/failures.txt"
: > "$fail_log"

now_ms() { date +%s%3N; }

# Files under $1 (relative, sorted), without the logs/ of a sweep (one per worker, by design).
listing() { (cd "$1" && find . -type f ! -path '*/logs/*' | sort); }

# A file's content with the lines that record wall times or the command line dropped.
stable() {
  case "$1" in
    *.json) grep -vE '"(seconds|collected_unix|run_seconds|wall_seconds|command)"' "$1" || true ;;
    *table.md) grep -v '^Grid `' "$1" || true ;;
    *log.jsonl) : ;; # one line per epoch with its timing: compared by count below
    *) cat "$1" ;;
  esac
}

# Compare tree $2 against reference $1; report what differs.
compare() {
  local ref=$1 got=$2 what=$3 bad=0
  if ! diff <(listing "$ref") <(listing "$got") > "$work/diff.txt"; then
    echo "$what: file sets differ (leftover or missing):" >> "$fail_log"
    sed 's/^/    /' "$work/diff.txt" >> "$fail_log"
    leftovers=$((leftovers + 1))
    bad=1
  fi
  while read -r f; do
    [ -f "$got/$f" ] || continue
    case "$f" in
      *log.jsonl)
        if [ "$(wc -l < "$ref/$f")" != "$(wc -l < "$got/$f")" ]; then
          echo "$what: $f has $(wc -l < "$got/$f") epoch lines, expected $(wc -l < "$ref/$f")" >> "$fail_log"
          bad=1
        fi ;;
      *)
        if ! cmp -s <(stable "$ref/$f") <(stable "$got/$f"); then
          echo "$what: $f differs from the uninterrupted run's" >> "$fail_log"
          case "$f" in
            *.json|*.md|*.csv) diff <(stable "$ref/$f") <(stable "$got/$f") | head -n 8 | sed 's/^/    /' >> "$fail_log" || true ;;
          esac
          bad=1
        fi ;;
    esac
  done < <(listing "$ref")
  if [ $bad = 1 ]; then mismatches=$((mismatches + 1)); fi
}

# Run sdae with "${@:2}" in folder $1, in its own process group; SIGKILL it (the whole group, or
# only sdae itself, leaving its children) after $delay_ms; wait for it.
kill_after() {
  local delay_ms=$1 mode=$2 dir=$3; shift 3
  # Not a group leader (no job control here), so setsid execs in place: $! is sdae itself.
  setsid bash -c 'cd "$1" && shift && exec "$@"' _ "$dir" "$bin" --threads 1 "$@" > /dev/null 2>&1 &
  local pid=$!
  sleep "$(printf '%d.%03d' $((delay_ms / 1000)) $((delay_ms % 1000)))"
  if [ "$mode" = group ]; then
    kill -KILL -- "-$pid" 2>/dev/null || true
  else
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
  kills=$((kills + 1))
}

# A random moment within the uninterrupted run's duration (plus 20%, so some kills land after
# the end and the restart must then be a no-op).
moment() { echo $(( (RANDOM * 32768 + RANDOM) % ($1 * 12 / 10 + 1) )); }

# ---- inputs -------------------------------------------------------------------------------
mkdir -p "$work/in"
# IDX: 8000 random 28x28 images and labels 0..9 (gzipped, as MNIST ships).
{ printf '\x00\x00\x08\x03'; printf '\x00\x00\x1f\x40\x00\x00\x00\x1c\x00\x00\x00\x1c'; head -c $((8000 * 784)) /dev/urandom; } > "$work/in/images.idx"
{ printf '\x00\x00\x08\x01\x00\x00\x1f\x40'; for i in $(seq 0 7999); do printf "\\x0$((i % 10))"; done; } > "$work/in/labels.idx"
gzip -n -k "$work/in/images.idx" "$work/in/labels.idx"
# .amat: 3000 + 1000 rows of 100 values in [0, 1] and a label.
awk 'BEGIN { srand(7); for (r = 0; r < 4000; r++) { for (c = 0; c < 100; c++) printf "%.4f ", rand(); printf "%d\n", int(rand() * 10) } }' > "$work/in/all.amat"
head -n 3000 "$work/in/all.amat" > "$work/in/train.amat"
tail -n 1000 "$work/in/all.amat" > "$work/in/test.amat"

# ---- the commands ---------------------------------------------------------------------------
# Each: setup_X DIR (what exists before the command), args_X (the command, run in DIR) and, if
# the restart differs from the command, restart_args_X DIR.
in_dir() { local d=$1; shift; (cd "$d" && exec "$bin" --threads 1 "$@"); }

setup_generate() { :; }
args_generate=(data generate --task rectangles --out data)

setup_import_idx() { :; }
args_import_idx=(data import-idx --images "$work/in/images.idx.gz" --labels "$work/in/labels.idx.gz" --out digits.sdd)

setup_import_amat() { :; }
args_import_amat=(data import-amat --train "$work/in/train.amat" --test "$work/in/test.amat" --out amat --valid-rows 200)

setup_train() { mkdir -p "$1/data" && cp -r "$work/base/data/rectangles" "$1/data/"; }
args_train=(train --data data --task rectangles --out m.sdae --widths 100,100 --epochs 3 --max-epochs 6 --patience 6 --seed 5 --quiet)
# Resume when the killed run left a checkpoint, else start again.
restart_args_train() { if [ -f "$1/m.sdae.ckpt" ]; then echo --resume; fi; }

setup_run_local() {
  mkdir -p "$1/data" && cp -r "$work/base/data/rectangles" "$1/data/"
  in_dir "$1" sweep plan --grid "$here/tests/fixtures/tiny-grid.toml" --tasks rectangles --out s --data "$1/data" > /dev/null
}
args_run_local=(sweep run-local s --jobs 1 --quiet)

# A finished sweep, made once where the trials run and copied for each (same result.json).
setup_collect() {
  if [ ! -d "$work/collect-template" ]; then
    setup_run_local "$1"
    in_dir "$1" sweep run-local s --jobs 1 --quiet > /dev/null
    cp -a "$1" "$work/collect-template"
  else
    rm -rf "$1" && cp -a "$work/collect-template" "$1"
  fi
}
args_collect=(sweep collect s)

# The data the train and sweep commands use, generated once.
mkdir -p "$work/base"
in_dir "$work/base" data generate --task rectangles --out data > /dev/null 2>&1

# ---- trials ---------------------------------------------------------------------------------
# The sweep setups hold absolute paths (sweep.json names the data folder), so every trial runs
# in the same folder as the reference, moved aside in between.
for cmd in generate import_idx import_amat train run_local collect; do
  dir="$work/t-$cmd"
  ref="$work/ref-$cmd"
  rm -rf "$dir"; mkdir -p "$dir"
  "setup_$cmd" "$dir"
  declare -n args="args_$cmd"
  t0=$(now_ms)
  in_dir "$dir" "${args[@]}" > /dev/null 2>&1 || { echo "crash-test: uninterrupted $cmd failed" >&2; exit 1; }
  dur=$(( $(now_ms) - t0 ))
  # The sweep folders name their absolute paths: each trial runs where the reference ran.
  mv "$dir" "$ref"
  for t in $(seq 1 "$trials"); do
    rm -rf "$dir"; mkdir -p "$dir"
    "setup_$cmd" "$dir"
    at=$(moment "$dur")
    mode=self
    if [ $((RANDOM % 2)) = 0 ]; then mode=group; fi
    kill_after "$at" "$mode" "$dir" "${args[@]}"
    extra=()
    if declare -F "restart_args_$cmd" > /dev/null; then
      read -r -a extra < <("restart_args_$cmd" "$dir"; echo)
    fi
    # After a kill of sdae alone, a run-local child lives on: the restart waits for its claim.
    if ! in_dir "$dir" "${args[@]}" "${extra[@]}" > "$work/restart.out" 2>&1; then
      echo "$cmd trial $t (killed at $at ms of $dur, $mode): the restart failed: $(tail -n 2 "$work/restart.out")" >> "$fail_log"
      mismatches=$((mismatches + 1))
      continue
    fi
    # Let any orphan of a kill of sdae alone finish before the file set is compared.
    for _ in $(seq 1 100); do
      pgrep -f -- "$dir/" > /dev/null || break
      sleep 0.1
    done
    compare "$ref" "$dir" "$cmd trial $t (killed at $at ms of $dur, $mode)"
  done
  rm -rf "$dir" "$ref"
  echo "crash-test: $cmd: $trials kill(s) within ~${dur} ms runs"
done

echo "crash-test: $kills kill points, $mismatches mismatches, $leftovers with leftovers (seed $seed)"
if [ -s "$fail_log" ]; then
  cat "$fail_log" >&2
  echo "crash-test: 0 passed, 1 failed"
  exit 1
fi
echo "crash-test: 1 passed, 0 failed"
