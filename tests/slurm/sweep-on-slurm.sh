#!/usr/bin/env bash
# A real sweep on a real (single-node) Slurm cluster: plan a tiny grid, submit it as a job
# array, let one array task fail, collect (must refuse), resubmit that task alone, collect,
# check the table; then three workers (two run-local and the array) on one 8-run sweep:
# each run started once, the table equal to one worker's. Needs root (it starts munge, slurmctld and slurmd; see scripts/slurm-local.sh).
#   tests/slurm/sweep-on-slurm.sh [path/to/sdae]
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
bin=${1:-$here/target/release/sdae}
[ -x "$bin" ] || { echo "sweep-on-slurm: no sdae binary at $bin (run: cargo build --release)" >&2; exit 1; }
work=$(mktemp -d /tmp/sdae-slurm.XXXXXX)
cleanup() { "$here/scripts/slurm-local.sh" down || true; rm -rf "$work"; }
trap cleanup EXIT

"$here/scripts/slurm-local.sh" up
fail() { echo "sweep-on-slurm: FAILED: $*" >&2; exit 1; }

"$bin" data generate --task rectangles --out "$work/data" >/dev/null
"$bin" sweep plan --grid "$here/tests/fixtures/tiny-grid.toml" --tasks rectangles \
  --out "$work/sweep" --data "$work/data" --threads-per-run 1
grep -q -- '--array=0-3' "$work/sweep/sweep.sbatch" || fail "array range"

# Array task 1 will fail: a damaged checkpoint, as a killed job might leave.
mkdir -p "$work/sweep/runs/0001"
echo garbage > "$work/sweep/runs/0001/model.sdm.ckpt"
if sbatch --wait --quiet "$work/sweep/sweep.sbatch"; then
  fail "sbatch --wait should report the failed array task"
fi
if "$bin" sweep collect "$work/sweep" 2> "$work/collect.err"; then
  fail "collect must refuse an unfinished sweep"
fi
grep -q 'not finished: 1' "$work/collect.err" || { cat "$work/collect.err" >&2; fail "collect names run 1"; }
for i in 0 2 3; do [ -f "$work/sweep/runs/000$i/result.json" ] || fail "run $i has no result"; done

# Resubmit the failed task alone.
rm "$work/sweep/runs/0001/model.sdm.ckpt"
sbatch --wait --quiet --array=1 "$work/sweep/sweep.sbatch" || fail "resubmitted task 1"
"$bin" sweep collect "$work/sweep" > "$work/table.out"
cat "$work/sweep/table.md"
grep -qE '^\| rectangles \| [0-9]+\.[0-9]+ ± [0-9]+\.[0-9]+ \|' "$work/sweep/table.md" || fail "table row"
[ "$(grep -c '"chosen": true' "$work/sweep/results.json")" = 2 ] || fail "two chosen models"
ls "$work/sweep/logs"/slurm-*_1.out >/dev/null || fail "Slurm log of task 1"

# Three workers on one 8-run sweep: two `run-local --jobs 1` and the job array, started
# together. Every run must be started exactly once (counted in all the logs), and the table
# must equal a single worker's.
"$bin" sweep plan --grid "$here/tests/fixtures/tiny-grid-8.toml" --tasks rectangles \
  --out "$work/one" --data "$work/data" --threads-per-run 1 >/dev/null
"$bin" sweep run-local "$work/one" --jobs 1 --quiet >/dev/null
"$bin" sweep collect "$work/one" >/dev/null
"$bin" sweep plan --grid "$here/tests/fixtures/tiny-grid-8.toml" --tasks rectangles \
  --out "$work/three" --data "$work/data" --threads-per-run 1 >/dev/null
"$bin" sweep run-local "$work/three" --jobs 1 > "$work/w1.out" 2>&1 & w1=$!
"$bin" sweep run-local "$work/three" --jobs 1 > "$work/w2.out" 2>&1 & w2=$!
sbatch --wait --quiet "$work/three/sweep.sbatch" || fail "the job array of the shared sweep"
wait "$w1" || { cat "$work/w1.out" >&2; fail "worker 1"; }
wait "$w2" || { cat "$work/w2.out" >&2; fail "worker 2"; }
for i in 0 1 2 3 4 5 6 7; do
  n=$(cat "$work/three/logs"/* | grep -c "^run $i: started by" || true)
  [ "$n" = 1 ] || fail "run $i was started $n times"
done
by_slurm=$(cat "$work/three/logs"/slurm-* | grep -c ': started by .*(Slurm ' || true)
echo "shared sweep: runs started by local worker 1: $(grep -c 'done (' "$work/w1.out" || true), worker 2: $(grep -c 'done (' "$work/w2.out" || true), the job array: $by_slurm"
"$bin" sweep status "$work/three" | grep -q '^8 runs: 8 done' || fail "status of the shared sweep"
"$bin" sweep collect "$work/three" >/dev/null
diff <(grep -v '^Grid `' "$work/one/table.md") <(grep -v '^Grid `' "$work/three/table.md") \
  || fail "the shared sweep's table differs from a single worker's"
for i in 0 1 2 3 4 5 6 7; do
  cmp -s "$work/one/runs/000$i/model.sdm" "$work/three/runs/000$i/model.sdm" || fail "model $i differs"
done
echo "sweep-on-slurm: 2 passed, 0 failed"
