"""Polish rounds that merged two crabs (issue 21): replays a run's records in order, each
harvest's picture its latest recorded one, and lists the kept polishes (the first, at harvest,
too) whose new picture was a twin (mean |Δ| at 64 px ≤ the run's --harvest-apart) of another
harvest's picture at that moment: the polishes that e47308a's rule (`polish.twin`) no longer keeps.
usage: python docs/measure/merged_rounds.py RUN [RUN ...]"""
import json
import sys
from pathlib import Path

import torch

from evolve.search.settings import RunConfig
from genart import parse, render_batch
from speed_summary import harvest_rows, later_round


def main() -> None:
    for run in map(Path, sys.argv[1:]):
        rows = harvest_rows(run)
        config = RunConfig.from_json(json.loads((run / "config.json").read_text()))
        images = render_batch([parse(r["formula"]) for r in rows], 64, torch.device("cpu"))
        pictures, merges = {}, []
        for row, image in zip(rows, images):
            index = row["polish"]["harvest"]
            twins = [j for j, other in pictures.items()
                     if j != index and float((image - other).abs().mean()) <= config.harvest_apart]
            merges += [(index, j, row["polish"]["round"]) for j in twins]
            pictures[index] = image
        said = ", ".join(f"{i}~{j} at round {r}" for i, j, r in merges) or "none"
        print(f"{run.name}: {len(pictures)} harvests, {sum(map(later_round, rows))} later rounds "
              f"kept; made twins: {said}")


if __name__ == "__main__":
    main()
