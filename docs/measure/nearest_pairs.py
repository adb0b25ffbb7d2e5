"""Which of a run's harvests lie close (issue 21): each harvest's latest picture rendered at 64 px
as the search compares them, the closest pairs by mean |Δ| and each one's nearest neighbour, to
set against the twins a person names on the run's sheet (by_eye.py --sheet).
usage: python docs/measure/nearest_pairs.py RUN [RUN ...]"""
import sys
from pathlib import Path

import torch

from evolve.search.portfolio import DESCRIPTOR_SIZE, pixel_gaps
from genart import parse, render_batch
from speed_summary import latest_harvests

PAIRS = 25      # closest pairs printed


def main() -> None:
    for run in map(Path, sys.argv[1:]):
        rows = latest_harvests(run)
        images = render_batch([parse(r["formula"]) for r in rows], DESCRIPTOR_SIZE,
                              torch.device("cpu"))
        gaps = pixel_gaps(images, images)
        names = [r["number"] for r in rows]
        pairs = sorted((float(gaps[i, j]), names[i], names[j])
                       for i in range(len(rows)) for j in range(i + 1, len(rows)))
        print(f"{run.name}: " + " ".join(f"#{a}/#{b} {g:.3f}" for g, a, b in pairs[:PAIRS]))
        nearest = (gaps + torch.eye(len(rows)) * 9).min(dim=1).values
        print("  nearest: " + " ".join(f"#{n} {g:.3f}" for n, g in zip(names, nearest.tolist())))


if __name__ == "__main__":
    main()
