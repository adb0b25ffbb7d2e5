"""What a polish round is made of (issue 21, wave 18): one record polished round after round
under four keep rules, the held-out judge's p after each round ('-': not kept; in brackets the
run's fitness on the polish's fixed views). A: today's (both networks' gradient, kept when both
score it no lower on the fixed views). B: one network's gradient, kept when the other scores it
no lower (alternating Lite0/Lite1). C: A kept on fresh views each round. D: A with 16 views per
Adam step instead of the run's 4. The judge is never consulted.
usage: python docs/measure/polish_variants.py RUN STEM ROUNDS RULE [RULE ...]"""
import sys
from pathlib import Path

import torch

from evolve.runfolder.constant_polish import ConstantPolisher
from evolve.runfolder.judge import judged, make_judge
from evolve.runfolder.rundir import RunDir
from evolve.search.robust import view_chances, view_seed
from genart import parse
from scorers import EnsembleObjective, draw_views


def one_network(objective, model):
    """The objective over one of its networks (same classes, views and score)."""
    o = EnsembleObjective([model], objective.classes, objective.views, kind=objective.kind,
                          chunk_size=objective.chunk_size, combine=objective.combine,
                          coverage=objective.coverage, cap=objective.cap)
    o.view_size = objective.view_size
    return o


def variant(base: ConstantPolisher, **parts) -> ConstantPolisher:
    """A copy of `base` with some of its parts (objective, fixed) replaced."""
    polisher = ConstantPolisher.__new__(ConstantPolisher)
    polisher.__dict__.update(base.__dict__)
    polisher.__dict__.update(parts)
    return polisher


def main() -> None:
    run_path, stem, rounds = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    run, device = RunDir.open(run_path), torch.device("cpu")
    config = run.read_config()
    judge = make_judge(config, device)
    start = parse((run.records / f"{stem}.formula").read_text().strip())

    def p(genome):
        return judged(genome, judge.model, judge.classes, judge.views)["probability"]
    a = ConstantPolisher(config, device, tune_size=config.size)
    both, fixed, chances = a.objective, a.fixed, view_chances(config)
    crossed = [variant(a, objective=one_network(both, both.models[k]),
                       fixed=one_network(fixed, both.models[1 - k])) for k in range(2)]
    for rule in sys.argv[4:]:
        genome, line = start, [f"{p(start):.3f}"]
        for r in range(rounds):
            polisher = {"A": a, "B": crossed[r % 2],
                        "C": variant(a, fixed=both.with_views(
                            draw_views(16, view_seed(config.seed, -3, r), **chances))),
                        "D": variant(a, objective=both.with_views(
                            draw_views(16, 0, **chances)))}[rule]
            polished = polisher.polish(genome, draw=r).genome
            kept, genome = polished is not genome, polished
            line.append(f"{p(genome):.3f}{'' if kept else '-'}({a.fitness([genome])[0]:.2f})")
        print(rule, run_path.name, stem, " ".join(line), flush=True)


if __name__ == "__main__":
    main()
