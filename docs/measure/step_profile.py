"""One constant-tuning step of the crab search, split: the render's forward+backward, the
networks' forward+backward on the step's views, and the whole step (mean of 5, after one warm-up).
usage: python docs/measure/step_profile.py [COPIES]   (COPIES genomes tuned together, default 2)"""
import random
import sys

import torch

from evolve.runfolder.session import build_evaluator
from evolve.search.robust import form_defaults, render_options, view_seed
from evolve.search.settings import RunConfig
from evolve.search.templates import template_population
from genart import constants_of, render_batch
from fold_speed import seconds
from scorers import fitness_of


def main() -> None:
    copies = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    torch.manual_seed(0)
    random.seed(0)
    config = RunConfig(target="crab", seed=1, **form_defaults("crab"))
    evaluator = build_evaluator(config)
    objective = evaluator.objective.with_view_count(config.tune_views)
    genomes = template_population("crab", copies)
    params = [torch.tensor(constants_of(g), requires_grad=True) for g in genomes]
    device, options = torch.device("cpu"), render_options(config)
    render = lambda: render_batch(genomes, config.size, device, constants=params, **options)
    views = objective.redrawn(view_seed(1, -1, 0))
    still = render().detach()

    def score(images):
        fitness_of(images, views, evaluator.naturalness).sum().backward()

    print(f"{copies} copies, {config.tune_views} views, {config.model_names()} at "
          f"{config.size} px, {torch.get_num_threads()} threads")
    print(f"  render forward+backward   {seconds(lambda: render().sum().backward()):.3f} s")
    print(f"  networks forward+backward "
          f"{seconds(lambda: score(still.clone().requires_grad_(True))):.3f} s")
    print(f"  whole step                {seconds(lambda: score(render())):.3f} s")


if __name__ == "__main__":
    main()
