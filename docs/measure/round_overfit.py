"""Do a harvest's later polish rounds climb on views they were never checked on?  Each kept
round must score no lower on the polish's FIXED_VIEWS fixed views (the same views every round);
this scores each harvest's successive records on `--views` fresh views of their own seed too,
and prints per round the mean change of fixed-view fitness, of fresh-view fitness and of the
judge's p (its record's); then the later rounds split by whether each network's own score on
the fixed views rose, and the judge's change in each part.
usage: python round_overfit.py [--views N] RUN [RUN ...]"""
import argparse
from pathlib import Path

import numpy as np
import torch

from genart import parse, render_batch
from scorers import draw_views, fitness_by_network, fitness_of

from evolve.runfolder.constant_polish import ConstantPolisher
from evolve.runfolder.rundir import RunDir
from evolve.search.robust import view_chances, view_seed
from speed_summary import harvest_rows

FRESH_GENERATION = -7          # apart from every generation's, the polish's and its check's


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("runs", nargs="+")
    parser.add_argument("--views", type=int, default=32)
    args = parser.parse_args()
    torch.set_grad_enabled(False)
    deltas = {}                                        # round -> [(fixed, fresh, judge)]
    split = {}                                         # networks agreeing? -> [judge change]
    for run in map(Path, args.runs):
        config = RunDir.open(run).read_config()
        polisher = ConstantPolisher(config, torch.device("cpu"), tune_size=config.size)
        unseen = polisher.objective.with_views(draw_views(
            args.views, view_seed(config.seed, FRESH_GENERATION), **view_chances(config)))
        rows = harvest_rows(run)
        fresh, nets = [], []
        for start in range(0, len(rows), 8):
            genomes = [parse(r["formula"].strip()) for r in rows[start:start + 8]]
            images = render_batch(genomes, polisher.tune_size, polisher.device, **polisher.options)
            fresh += fitness_of(images, unseen, polisher.naturalness).tolist()
            nets += fitness_by_network(images, polisher.fixed, polisher.naturalness)[1].T.tolist()
        last = {}
        for row, now, net in zip(rows, fresh, nets):
            polish, p = row["polish"], row["judge"]["probability"]
            if polish["harvest"] in last:
                before = last[polish["harvest"]]
                deltas.setdefault(min(polish["round"], 6), []).append(
                    (polish["fixed_fitness_after"] - polish["fixed_fitness_before"],
                     now - before[0], p - before[1]))
                agree = "every network up" if min(np.subtract(net, before[2])) >= 0 else "one down"
                later = "round 2" if polish["round"] == 2 else "round 3+"
                split.setdefault(f"{later}, {agree}", []).append(p - before[1])
            last[polish["harvest"]] = (now, p, net)
        print(f"{run.name}: {len(rows)} harvest records scored", flush=True)
    print("round (6: 6 or later): kept rounds; mean change of fixed-view fitness,"
          f" of fitness on {args.views} fresh views (share up), of the judge's p (share up)")
    for k in sorted(deltas):
        d = np.array(deltas[k])
        print(f"  {k}: {len(d):3d}; fixed {d[:, 0].mean():+.3f}; fresh {d[:, 1].mean():+.3f}"
              f" ({np.mean(d[:, 1] > 0):.2f}); judge {d[:, 2].mean():+.3f}"
              f" ({np.mean(d[:, 2] > 0):.2f})")

    print("later rounds by each network's own score on the fixed views: judge's p change")
    for key, d in sorted(split.items()):
        print(f"  {key}: {len(d)}; judge {np.mean(d):+.3f} ({np.mean(np.array(d) > 0):.2f} up)")


if __name__ == "__main__":
    main()
