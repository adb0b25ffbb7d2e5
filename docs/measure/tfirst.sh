#!/usr/bin/env bash
# The template-first tuning (loop.Evolution._tuning_order): seed 22 (the night run that lost its
# template) and fresh seed 24, 10 minutes each, one core each, side by side.
cd "$(dirname "$0")/../.."
export OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE
py=${PYTHON:-.venv/bin/python}
M=runs/measure; log=${LOG:-/tmp/tfirst.log}
one() {
  local seed=$1 out=$M/tfirst-s$1
  rm -rf $out
  $py -m evolve evolve crab --minutes 10 --seed $seed --quiet --out $out > $out.log 2>&1
  $py -m evolve audit $out --no-control --best 1 >> $out.log 2>&1
  $py docs/measure/summary.py $out --label "tfirst s$seed" >> $log 2>&1
  echo "s$seed done $(date)" >> $log
}
one 22 &
one 24 &
wait
