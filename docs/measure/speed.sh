#!/usr/bin/env bash
# Issue 22's speed comparison, one run at a time (the lead runs it; ~75 minutes on 2 cores):
#   1. `genart bench --parts generation`, eager and --compile (stages, passes, ratio);
#   2. `genart evolve crab` for MINUTES at the default settings and SEED with: the code before
#      issue 22 (BASE, a git worktree), today's default, --compile, --tune-view-size 160;
#   3. one row per run: generations/min, evaluations/s, network passes/s, held-out judge score.
# usage: docs/measure/speed.sh [MINUTES=10] [SEED=0] [BASE=f27316e]
set -euo pipefail
minutes=${1:-10} seed=${2:-0} base=${3:-f27316e}
root=$(pwd)
python=${PYTHON:-$root/.venv/bin/python}
out=runs/measure/speed
mkdir -p "$out"
"$python" -m evolve bench --parts generation | tee "$out/bench-eager.txt"
"$python" -m evolve bench --parts generation --compile | tee "$out/bench-compile.txt"

worktree=$(mktemp -d /tmp/genart-base.XXXX)
git worktree add --detach "$worktree" "$base" > /dev/null
trap 'git worktree remove --force "$worktree"' EXIT

run() {   # label, folder to run in, evolve flags…
  local label=$1 where=$2; shift 2
  rm -rf "$root/$out/$label"
  (cd "$where" && "$python" -m evolve evolve crab --minutes "$minutes" --seed "$seed" --quiet \
     --out "$root/$out/$label" "$@" > "$root/$out/$label.log" 2>&1)
  "$python" docs/measure/speed_summary.py "$out/$label" --label "$label"
}
run base "$worktree"
run default "$root"
run compile "$root" --compile
run tune-view-160 "$root" --tune-view-size 160
