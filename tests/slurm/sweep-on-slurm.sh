#!/usr/bin/env bash
# A real sweep on a real (single-node) Slurm cluster: plan a tiny grid, submit it as a job
# array, let one array task fail, collect (must refuse), resubmit that task alone, collect,
# check the table. Needs root (it starts munge, slurmctld and slurmd; see scripts/slurm-local.sh).
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
echo "sweep-on-slurm: 1 passed, 0 failed"
