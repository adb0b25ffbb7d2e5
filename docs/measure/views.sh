#!/usr/bin/env bash
# Issue 20 item 3: views that take colour and texture away, each alone, then together, seeds
# 10–19 (fresh), 5-minute default runs, best record audited (docs/measure/robust.sh: Lite0/1/2 on
# 64 fixed views, now with grey top-1 per network and a figure's coverage; Lite2 stays the judge).
# usage: docs/measure/views.sh [MINUTES] [SEEDS] [extra evolve flags, e.g. the figure levers]
set -euo pipefail
minutes=${1:-5} seeds=${2:-"10 11 12 13 14 15 16 17 18 19"}
shift $(( $# < 2 ? $# : 2 ))
sweep=docs/measure/robust.sh
"$sweep" views-none   "$minutes" "$seeds" "$@"
"$sweep" views-grey   "$minutes" "$seeds" --view-grey 0.5 "$@"
"$sweep" views-jitter "$minutes" "$seeds" --view-jitter 0.5 "$@"
"$sweep" views-blur   "$minutes" "$seeds" --view-blur 0.5 "$@"
"$sweep" views-thumb  "$minutes" "$seeds" --view-thumb 0.5 "$@"
"$sweep" views-all    "$minutes" "$seeds" --view-grey 0.25 --view-jitter 0.25 --view-blur 0.25 \
  --view-thumb 0.25 "$@"
"$sweep" views-all8   "$minutes" "$seeds" --views 8 --view-grey 0.25 --view-jitter 0.25 \
  --view-blur 0.25 --view-thumb 0.25 "$@"
