"""How much a record's fitness moves from one generation's view draw to the next: each named
record of RUN scored by the run's own evaluator under DRAWS fresh view seeds (the run's --views
each), mean / sd / min / max of its fitness. Selection keeps the best of such single draws.
usage: python docs/measure/view_noise.py RUN STEM... [--draws 12]"""
import argparse
import statistics

from evolve.runfolder.rundir import RunDir
from evolve.runfolder.session import build_evaluator
from evolve.search.robust import view_seed
from genart import parse


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("run")
    parser.add_argument("stems", nargs="+")
    parser.add_argument("--draws", type=int, default=12)
    args = parser.parse_args()
    run = RunDir.open(args.run)
    evaluator = build_evaluator(run.config)
    genomes = [parse((run.records / f"{stem}.formula").read_text()) for stem in args.stems]
    draws = []
    for k in range(args.draws):                  # seeds past any generation a run reaches
        evaluator.use_views(view_seed(run.config.seed, 10**6 + k))
        draws.append(evaluator(genomes).fitness.tolist())
    for i, stem in enumerate(args.stems):
        column = [draw[i] for draw in draws]
        print(f"#{stem}: fitness mean {statistics.fmean(column):.2f} sd "
              f"{statistics.pstdev(column):.2f} min {min(column):.2f} max {max(column):.2f} "
              f"over {args.draws} draws of {run.config.views} views")


if __name__ == "__main__":
    main()
