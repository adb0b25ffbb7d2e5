#!/usr/bin/env bash
# Issue 21's measurement: 60-minute `genart evolve crab` runs on fresh seeds (not 0–9) per arm,
# each audited on 64 fixed views (Lite0/1/2), then one table per run every 10 minutes: the
# leader's held-out (Lite2 judge) score, the best record's, records meeting the robust bar
# (Lite0 top-1 ≥ 90 % of views, Lite2 top 5 on the median view) and how many are mutually
# distinct; RUN/portfolio_sheet.png shows them.
# usage: docs/measure/portfolio.sh [MINUTES] ["SEEDS"] [ARMS]
#   ARMS (default "portfolio restart"), each a label below; e.g. "today portfolio restart"
#   today:     --no-portfolio (the search before issue 21)
#   portfolio: the defaults (looks recorded; the search itself is today's: the portfolio draws
#              no random number, so its "best path" rows are today's records on the same search)
#   restart:   --stall-generations $STALL (default 6): restarts from portfolio elites and grown
#              start forms when the best has not climbed by --record-gain for that long
# Runs go to runs/measure/portfolio-ARM-sSEED (about MINUTES + 10 minutes of audit each).
set -euo pipefail
minutes=${1:-60} seeds=${2:-"11 12"} arms=${3:-"portfolio restart"}
stall=${STALL:-6}
genart=${GENART:-.venv/bin/genart}
python=${PYTHON:-.venv/bin/python}
mkdir -p runs/measure
for seed in $seeds; do
  for arm in $arms; do
    case $arm in
      today) flags=(--no-portfolio) ;;
      portfolio) flags=() ;;
      restart) flags=(--stall-generations "$stall") ;;
      *) echo "unknown arm $arm (today, portfolio or restart)" >&2; exit 2 ;;
    esac
    out=runs/measure/portfolio-$arm-s$seed
    rm -rf "$out"
    "$genart" evolve crab --minutes "$minutes" --seed "$seed" --quiet --out "$out" \
      "${flags[@]}" > "$out.log" 2>&1
    "$genart" audit "$out" --no-control >> "$out.log" 2>&1
    "$python" docs/measure/portfolio_summary.py "$out" --label "$arm s$seed"
    if [ "$arm" != today ]; then
      "$python" docs/measure/portfolio_summary.py "$out" --label "$arm s$seed" --best-path
    fi
  done
done
