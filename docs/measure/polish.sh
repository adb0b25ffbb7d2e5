#!/usr/bin/env bash
# Issue 20 item 5: does polishing keep what the run bought? For each run folder given (default:
# runs/measure/views-none-s1*, from docs/measure/views.sh), its best record polished two ways —
# through its constants under the run's networks and views (the default for robust runs) and by
# DeepDream (--dream) — then the record and both polished images scored on Lite0/1/2 over 64
# fixed views (docs/measure/polish_compare.py). One run at a time; ~2–4 CPU minutes per run.
# usage: docs/measure/polish.sh [RUN …]
set -euo pipefail
genart=${GENART:-.venv/bin/genart} python=${PYTHON:-.venv/bin/python}
runs=("$@")
[ ${#runs[@]} -gt 0 ] || runs=(runs/measure/views-none-s1*)
for run in "${runs[@]}"; do
  [ -d "$run" ] || continue
  dreamed=$run-dream
  rm -rf "$dreamed" "$run/polished"; cp -r "$run" "$dreamed"; rm -rf "$dreamed/polished"
  "$genart" polish "$run" --top 1 --size 512 > "$run.polish.log" 2>&1
  "$genart" polish "$dreamed" --top 1 --size 512 --dream > "$dreamed.polish.log" 2>&1
  "$python" docs/measure/polish_compare.py "$run" "$dreamed"
done
