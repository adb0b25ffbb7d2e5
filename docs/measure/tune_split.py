"""Which constant tuning climbs fastest per second from a lineage's start: every Adam step on
both networks (wave 30's default: 3 views each, 40 steps a generation), on 2 views each (60
steps), or on one network per step by turns (3 views, 80 steps: ~1.2x the seconds; or 60).
Each variant tunes jittered crab-template copies for ROUNDS generations' worth, each round
starting where the last ended, and after each round the judge's numbers are taken on its 16
fixed views: Lite0's crab top-1 rate (the bar's screen) and Lite2's mean crab p.
usage: python docs/measure/tune_split.py [FIRST-LAST] [ROUNDS] [VARIANT,…]   (0-2, 6, all)"""
import random
import sys
import time

from evolve.runfolder.judge import judged
from evolve.runfolder.session import build_evaluator
from evolve.search.robust import drawn_genome, form_defaults, view_seed
from evolve.search.settings import RunConfig
from evolve.search.templates import template_population
from evolve.search.tuning import tune_constants
from scorers import JUDGE_SEED, draw_views, load_model


def main() -> None:
    first, _, last = (sys.argv[1] if len(sys.argv) > 1 else "0-2").partition("-")
    starts = range(int(first), int(last or first) + 1)
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 6
    config = RunConfig(target="crab", seed=1, **form_defaults("crab"))
    evaluator = build_evaluator(config)
    judge_views = draw_views(16, JUDGE_SEED)
    lite0, lite2 = evaluator.objective.models[0], load_model("efficientnet-lite2", evaluator.device)
    classes = evaluator.objective.classes
    variants = {"both 3v x40": (evaluator.objective.with_view_count(3), 40),
                "both 2v x60": (evaluator.objective.with_view_count(2), 60),
                "turns 3v x80": (evaluator.objective.with_view_count(3), 80),
                "turns 3v x60": (evaluator.objective.with_view_count(3), 60)}
    chosen = sys.argv[3].split(",") if len(sys.argv) > 3 else list(variants)
    for start in starts:
        random.seed(start)
        (genome,) = template_population("crab", 2, seed=start)[1:]
        for name in chosen:
            objective, steps = variants[name]
            current, clock, row = genome, 0.0, []
            for r in range(rounds):
                began = time.perf_counter()
                (current,), _ = tune_constants(
                    [current], objective, evaluator.naturalness, size=config.size,
                    device=evaluator.device, steps=steps, lr=config.tune_lr,
                    view_seed=lambda step, r=r: view_seed(100 * start + r, -1, step),
                    render_options=evaluator.render_options,
                    max_frequency=config.max_frequency, turns=name.startswith("turns"))
                clock += time.perf_counter() - began
                drawn = drawn_genome(config, current)
                top1 = judged(drawn, lite0, classes, judge_views)["top1_rate"]
                p2 = judged(drawn, lite2, classes, judge_views)["probability"]
                row.append(f"{clock:4.0f}s {top1:.2f}/{p2:.3f}")
            print(f"start {start} {name}: " + "  ".join(row), flush=True)


if __name__ == "__main__":
    main()
