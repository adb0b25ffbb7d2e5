"""Do transfer tricks from the adversarial-example literature make a polish carry to the judge?
Each harvest's first record (round 1) is polished once more, on one draw, under each variant
(--variants): plain (the best constants seen); the mean of the constants over the last k steps
(`tail k`: Polyak averaging, no step's easy views picking the winner); or with the
networks' residual blocks changed during the Adam steps only (the keep check and the judge
see the networks as they are): the Skip Gradient Method (Wu et al. 2020: a residual
branch passes only `decay` of its gradient back, the forward unchanged); Ghost networks' skip
erosion (Li et al. 2020: each forward scales each skip connection by U(1 - spread, 1 + spread)).
Prints per variant the share kept, the mean change of fixed-view fitness and of the judge's p
(unkept: no change), and the judge's p change of the tuned constants whether kept or not.
usage: python polish_transfer.py [--per-run K] [--start first|latest] [--variants NAME ...]
       RUN [RUN ...]"""
import argparse
import contextlib
from pathlib import Path

import torch

from evolve.runfolder.constant_polish import ConstantPolisher
from polish_views import DRAW, compared, print_summary, tuned_of_each_polish
VARIANTS = {"plain": None, "skip grad 0.5": ("decay", 0.5), "skip grad 0.2": ("decay", 0.2),
            "ghost 0.2": ("ghost", 0.2), "last": ("tail", 1), "tail 20": ("tail", 20)}


def residual_blocks(classifier) -> list:
    """The blocks of an EfficientNet-Lite whose input is added to their output."""
    def stride(block):
        s = block._block_args.stride
        return s if isinstance(s, int) else s[0]
    return [b for b in classifier.net.blocks if b.id_skip and stride(b) == 1
            and b._block_args.input_filters == b._block_args.output_filters]


@contextlib.contextmanager
def modulated(models, change, seed: int):
    """The models' residual blocks changed as `change` says while inside."""
    if change is None or change[0] == "tail":
        yield
        return
    kind, amount = change
    generator = torch.Generator().manual_seed(seed)

    def hook(_module, inputs, output):
        skip = inputs[0]
        branch = output - skip
        if kind == "decay":
            return skip + amount * branch + (1 - amount) * branch.detach()
        scale = 1 + amount * (2 * torch.rand((), generator=generator).item() - 1)
        return scale * skip + branch
    handles = [b.register_forward_hook(hook) for m in models for b in residual_blocks(m)]
    try:
        yield
    finally:
        for h in handles:
            h.remove()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("runs", nargs="+")
    parser.add_argument("--per-run", type=int, default=4)
    parser.add_argument("--start", choices=["first", "latest"], default="first")
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    args = parser.parse_args()
    state = {"change": None, "seed": 0}
    tuned = tuned_of_each_polish(
        lambda objective: modulated(objective.models, state["change"], state["seed"]))

    def setups(config) -> dict:
        polisher = ConstantPolisher(config, torch.device("cpu"), tune_size=config.size)

        def prepare(change):
            def before_polish(index: int) -> None:
                state.update(change=change, seed=DRAW + index)
                polisher.tail_mean = change[1] if change and change[0] == "tail" else 0
            return before_polish
        return {name: (polisher, prepare(VARIANTS[name])) for name in ["plain"] + args.variants}
    print_summary(compared(list(map(Path, args.runs)), args.per_run, args.start, setups, tuned),
                  "plain")


if __name__ == "__main__":
    main()
