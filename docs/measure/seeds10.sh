#!/usr/bin/env bash
# Issue 20's ten-seed table: 5-minute crab runs on seeds 10–19, before the form levers and at
# today's defaults, the pair of each seed side by side (one thread each), every run's best
# record audited on the 64 views (docs/measure/robust.sh → docs/measure/summary.py rows).
# usage: docs/measure/seeds10.sh [MINUTES]   (rows to $LOG, default /tmp/seeds10.log)
cd "$(dirname "$0")/../.."
export OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE
minutes=${1:-5} log=${LOG:-/tmp/seeds10.log}
BEFORE="--start cppn --symmetry none --template none --max-frequency 0 --view-grey 0"
for seed in 10 11 12 13 14 15 16 17 18 19; do
  bash docs/measure/robust.sh before10 "$minutes" "$seed" $BEFORE >> "$log" 2>&1 &
  bash docs/measure/robust.sh today10 "$minutes" "$seed" >> "$log" 2>&1 &
  wait
done
echo "seeds10 done $(date)" >> "$log"
