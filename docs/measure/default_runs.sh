#!/usr/bin/env bash
# Default crab runs side by side, one core each, then each audited and summarised (issues 20, 21):
#   genart evolve crab --minutes MINUTES --seed S --out runs/measure/LABEL-sS   for each SEED
#   genart audit RUN --no-control; docs/measure/summary.py (best record);
#   docs/measure/portfolio_summary.py (every 10 minutes; plain and --best-path)
# usage: docs/measure/default_runs.sh LABEL MINUTES SEED... [-- EVOLVE FLAGS...]
# The log goes to $LOG (default /tmp/LABEL.log); $AUDIT adds audit flags (e.g. "--best 16").
# Used: night 60 22 23; tfirst 10 22 24; thirty 30 25 26 and thirty 30 27 28;
# tv2 10 22 24 -- --tune-views 2 and tv1 … --tune-views 1 (wave 4); night4 60 42 43.
set -u
cd "$(dirname "$0")/../.."
label=$1 minutes=$2; shift 2
seeds=(); while [ $# -gt 0 ] && [ "$1" != "--" ]; do seeds+=("$1"); shift; done
[ $# -gt 0 ] && shift
export OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE
py=${PYTHON:-.venv/bin/python}
log=${LOG:-/tmp/$label.log}
one() {
  local seed=$1; shift
  local out=runs/measure/$label-s$seed
  rm -rf "$out"
  "$py" -m evolve evolve crab --minutes "$minutes" --seed "$seed" --quiet --out "$out" "$@" \
    > "$out.log" 2>&1
  "$py" -m evolve audit "$out" --no-control ${AUDIT:-} >> "$out.log" 2>&1
  "$py" docs/measure/summary.py "$out" --label "$label s$seed" >> "$log" 2>&1
  "$py" docs/measure/portfolio_summary.py "$out" --label "$label s$seed" >> "$log" 2>&1
  "$py" docs/measure/portfolio_summary.py "$out" --label "$label s$seed best path" --best-path \
    >> "$log" 2>&1
  echo "$label s$seed done $(date)" >> "$log"
}
for seed in "${seeds[@]}"; do one "$seed" "$@" & done
wait
