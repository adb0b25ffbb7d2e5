#!/usr/bin/env bash
# Issue 22's speed levers end to end: --compile and --tune-view-size 160, each 10 minutes, seed 20,
# at the settings speed-today ran with (the defaults before the form levers), one thread each.
cd "$(dirname "$0")/../.."
export OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE
py=${PYTHON:-.venv/bin/python}
M=runs/measure; log=${LOG:-/tmp/speed_levers.log}
OLD="--start cppn --symmetry none --template none --max-frequency 0 --view-grey 0"
one() {
  local label=$1; shift
  rm -rf $M/$label
  $py -m evolve evolve crab --minutes 10 --seed 20 --quiet $OLD "$@" --out $M/$label > $M/$label.log 2>&1
  $py docs/measure/speed_summary.py $M/$label --label $label >> $log 2>&1
}
one speed-compile --compile &
one speed-tune160 --tune-view-size 160 &
wait
echo "speed levers done $(date)" >> $log
