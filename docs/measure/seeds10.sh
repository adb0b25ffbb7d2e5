#!/usr/bin/env bash
# Issue 20's ten-seed table: 5-minute crab runs on seeds 10–19, every run's best record audited
# on the 64 views (docs/measure/robust.sh → docs/measure/summary.py rows), two runs at a time
# (one thread each). Without flags: before the form levers and at today's defaults, each seed's
# pair side by side. With flags: one lever alone — the "before" settings, then FLAGS (the last
# of a flag wins), seeds in pairs, runs named ARM-sSEED.
# usage: docs/measure/seeds10.sh [MINUTES]                  (arms before10, today10)
#        ARM=grey10 docs/measure/seeds10.sh MINUTES FLAGS…  (e.g. --view-grey 0.25)
# rows to $LOG (default /tmp/seeds10.log); then python docs/measure/seeds10_summary.py ARM…
cd "$(dirname "$0")/../.."
export OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE
minutes=${1:-5} log=${LOG:-/tmp/seeds10.log}
shift || true
BEFORE="--start cppn --symmetry none --template none --max-frequency 0 --view-grey 0"
if [ $# -eq 0 ]; then
  for seed in 10 11 12 13 14 15 16 17 18 19; do
    bash docs/measure/robust.sh before10 "$minutes" "$seed" $BEFORE >> "$log" 2>&1 &
    bash docs/measure/robust.sh today10 "$minutes" "$seed" >> "$log" 2>&1 &
    wait
  done
else
  for pair in "10 11" "12 13" "14 15" "16 17" "18 19"; do
    for seed in $pair; do
      bash docs/measure/robust.sh "${ARM:?name the arm}" "$minutes" "$seed" $BEFORE "$@" \
        >> "$log" 2>&1 &
    done
    wait
  done
fi
echo "seeds10 ${ARM:-pairs} done $(date)" >> "$log"
