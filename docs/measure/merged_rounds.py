"""Polish rounds that merged two crabs (issue 21): replays a run's records in order, each
harvest's picture its latest recorded one, and lists the kept polishes (the first, at harvest,
too) whose new picture was a twin (mean |Δ| at 64 px ≤ the search's APART) of another harvest's
picture at that moment: the polishes that e47308a's rule (`polish.twin`) no longer keeps.
usage: python docs/measure/merged_rounds.py RUN [RUN ...]"""
import sys
from pathlib import Path

import torch

from evolve.search.portfolio import APART
from genart import parse, render_batch
from speed_summary import later_round, record_rows


def render(text: str) -> torch.Tensor:
    return render_batch([parse(text)], 64, torch.device("cpu"))[0]


def main() -> None:
    for run in map(Path, sys.argv[1:]):
        pictures, merges, rounds = {}, [], 0
        for row in record_rows(run):
            if not (row.get("robust_bar") and row.get("polish")):
                continue
            text = (run / "records" / f"{row['number']:04d}.formula").read_text()
            index, image = row["polish"]["harvest"], render(text)
            rounds += later_round(row)
            twins = [j for j, other in pictures.items()
                     if j != index and float((image - other).abs().mean()) <= APART]
            merges += [(index, j, row["polish"]["round"]) for j in twins]
            pictures[index] = image
        said = ", ".join(f"{i}~{j} at round {r}" for i, j, r in merges) or "none"
        print(f"{run.name}: {len(pictures)} harvests, {rounds} later rounds kept; "
              f"made twins: {said}")


if __name__ == "__main__":
    main()
