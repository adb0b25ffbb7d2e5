#!/usr/bin/env bash
# Issue 10's seed sweep: `genart evolve crab` for MINUTES per seed with FLAGS, then
# `genart audit --best 1` (64 fixed views, Lite0/1/2 at native size) on its best record.
# usage: docs/measure/robust.sh LABEL MINUTES "0 1 2 …" [evolve flags …]
# Runs go to runs/measure/LABEL-sSEED; prints one summary row per seed (docs/measure/summary.py).
set -euo pipefail
label=$1 minutes=$2 seeds=$3
shift 3
genart=${GENART:-.venv/bin/genart}
python=${PYTHON:-.venv/bin/python}
for seed in $seeds; do
  out=runs/measure/$label-s$seed
  rm -rf "$out"; mkdir -p runs/measure
  "$genart" evolve crab --minutes "$minutes" --seed "$seed" --quiet --out "$out" "$@" \
    > "$out.log" 2>&1
  "$genart" audit "$out" --best 1 --no-control >> "$out.log" 2>&1
  "$python" docs/measure/summary.py "$out" --label "$label"
done
