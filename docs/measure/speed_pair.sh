#!/usr/bin/env bash
# Issue 22's side-by-side: the code at BASE (a git worktree) and this checkout, each
# `genart evolve crab --minutes MINUTES --seed S` at its own defaults, side by side, one thread
# each; then `genart audit RUN --no-control`, docs/measure/speed_summary.py and summary.py.
# usage: docs/measure/speed_pair.sh LABEL MINUTES BASE SEED...   (log: $LOG, default /tmp/LABEL.log)
# Used: pair 10 b63d241 40 41 (wave 4: --tune-views 2 and lineage restarts against wave 3's main).
set -u
cd "$(dirname "$0")/../.."
label=$1 minutes=$2 base=$3; shift 3
root=$(pwd)
export OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE
py=${PYTHON:-$root/.venv/bin/python}
log=${LOG:-/tmp/$label.log}
worktree=$(mktemp -d /tmp/genart-base.XXXX)
git worktree add --detach "$worktree" "$base" > /dev/null
trap 'git worktree remove --force "$worktree"' EXIT
one() {   # name, folder to run in, seed
  local name=$1 where=$2 seed=$3 out=$root/runs/measure/$label-$1-s$3
  rm -rf "$out"
  (cd "$where" && "$py" -m evolve evolve crab --minutes "$minutes" --seed "$seed" --quiet \
     --out "$out" > "$out.log" 2>&1)
  "$py" -m evolve audit "$out" --no-control >> "$out.log" 2>&1
  { "$py" docs/measure/speed_summary.py "$out" --label "$name s$seed"
    "$py" docs/measure/summary.py "$out" --label "$name s$seed"; } >> "$log" 2>&1
}
for seed in "$@"; do
  one base "$worktree" "$seed" &
  one today "$root" "$seed" &
  wait
done
