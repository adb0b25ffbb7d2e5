#!/usr/bin/env bash
# Issue 20's lever sweep (items 1, 2, 4): each lever alone, then combined, seeds 10–19
# (fresh: not the 0–9 that chose today's defaults), 5-minute default runs, best record audited
# (docs/measure/robust.sh: Lite0/1/2 on 64 fixed views; Lite2 stays the judge in every run).
# Coverage of a figure record: 1 − its NNNN_alpha.png's transparency (printed at the end).
# usage: docs/measure/figure.sh [MINUTES] [SEEDS]     (one run at a time; ~8 arms × 10 × 5 min)
set -euo pipefail
minutes=${1:-5} seeds=${2:-"10 11 12 13 14 15 16 17 18 19"}
sweep=docs/measure/robust.sh
"$sweep" fig-baseline "$minutes" "$seeds"
"$sweep" fig-figure   "$minutes" "$seeds" --start figure
"$sweep" fig-mirror   "$minutes" "$seeds" --symmetry mirror
"$sweep" fig-freq4    "$minutes" "$seeds" --max-frequency 4
"$sweep" fig-template "$minutes" "$seeds" --template crab
"$sweep" fig-band     "$minutes" "$seeds" --start figure --coverage-low 0.25 --coverage-high 0.45
"$sweep" fig-all      "$minutes" "$seeds" --start figure --symmetry mirror --max-frequency 4 \
  --template crab
"$sweep" fig-all-notemplate "$minutes" "$seeds" --start figure --symmetry mirror --max-frequency 4
${PYTHON:-.venv/bin/python} - <<'PY'
import glob, json, numpy as np
from PIL import Image
for run in sorted(glob.glob("runs/measure/fig-*-s*")):
    alphas = sorted(glob.glob(f"{run}/records/*_alpha.png"))
    if alphas:
        a = np.asarray(Image.open(alphas[-1]))[..., 3] / 255
        print(f"{run}: best figure coverage {a.mean():.2f}")
PY
