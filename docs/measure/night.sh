#!/usr/bin/env bash
# Issue 21/20: two 60-minute runs with today's defaults (form levers on), fresh seeds 22 and 23,
# one core each, side by side; then every record audited and summarised.
cd "$(dirname "$0")/../.."
export OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE
py=${PYTHON:-.venv/bin/python}
M=runs/measure; log=${LOG:-/tmp/night.log}
night() {
  local seed=$1 out=$M/night-s$1
  rm -rf $out
  $py -m evolve evolve crab --minutes 60 --seed $seed --quiet --out $out > $out.log 2>&1
  echo "s$seed evolve done $(date)" >> $log
  $py -m evolve audit $out --no-control >> $out.log 2>&1
  $py docs/measure/summary.py $out --label "night s$seed" >> $log 2>&1
  $py docs/measure/portfolio_summary.py $out --label "night s$seed" >> $log 2>&1
  $py docs/measure/portfolio_summary.py $out --label "night-best-path s$seed" --best-path >> $log 2>&1
  echo "s$seed done $(date)" >> $log
}
night 22 &
night 23 &
wait
