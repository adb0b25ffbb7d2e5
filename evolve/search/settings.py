"""Search settings and random states: what decides a search, and how to save and restore it.

`RunConfig` is everything that decides a run (saved as config.json and in every checkpoint);
the random-state helpers capture Python's `random` (DEAP draws from it), numpy and torch as
JSON lists, so a resumed search continues the same random sequence.
"""
from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass

import numpy as np
import torch

from genart import FormulaError, parse

from evolve.errors import RunError
from evolve.search.operators import START_FORMS, Start

CHECKPOINT_VERSION = 1
MIN_SIZE, MAX_SIZE = 8, 1024            # scoring render side (the model resizes to its own)
MAX_RECORD_SIZE = 8192                  # anti-aliased record render side
MAX_POPULATION = 65536
MAX_VIEWS = 1024
CLASS_SCORES = ("margin", "log")
ENSEMBLE_COMBINES = ("mean", "softmin")
# settings a config written before the robust search (issue 10) lacks: it resumes as it ran
BEFORE_ROBUST = {"fooling": True, "tune_min_constants": 0, "naturalness_relative": False}


@dataclass(frozen=True)
class RunConfig:
    """Everything that decides a run; saved as config.json and inside every checkpoint."""
    target: str
    model: str = "efficientnet-lite0"       # the one network of --fooling (and of layer targets)
    fooling: bool = False                   # one network, no views: today's fooling-image search
    models: str = "efficientnet-lite0,efficientnet-lite1"   # the robust search's ensemble
    views: int = 4                          # random views per image, redrawn every generation
    class_score: str = "margin"             # robust objective: logit margin or log target mass
    ensemble: str = "mean"                  # over networks: mean or softmin (scorers.COMBINES)
    judge: str = "efficientnet-lite2"       # held-out network ("none": no judge); never selects
    judge_views: int = 16                   # its fixed seeded views per judged image
    population: int = 8                     # measured (issue 10): a small batch, more Adam
    generations: int | None = None          # budget: total generations of the run
    seconds: float | None = None            # budget: total seconds of evolution (over resumes)
    size: int = 128                         # scoring render size; the model resizes to its own
    record_size: int = 1024
    record_antialias: int = 2
    record_gain: float = 0.005              # a new best must beat the last record by this much
    naturalness: float = 2.0                # λ of the soft penalty λ·max(0, residual − τ)
    naturalness_tau: float = 0.03
    naturalness_weight: float = 0.1         # TV-denoise weight of the residual
    naturalness_relative: bool = False      # fooling: p·exp(−penalty) instead of p − penalty
    seed: int = 0
    device: str = "auto"
    tune: bool = True
    tune_steps: int = 40                    # per generation; 40 beat 10 on the judge (2 seeds)
    tune_share: float = 0.25                # fraction of the population tuned each generation
    tune_lr: float = 0.1
    tune_min_constants: int = 48            # tune the best genomes with this many constants
    pareto: bool = False
    crossover_prob: float = 0.5
    mutation_prob: float = 0.5
    tournament_size: int = 3
    elites: int = 2
    max_height: int = 17
    max_nodes: int = 900
    sine_share: float = 0.5                 # share of the first population built as start_form
    start_form: str = "cppn"                # sines | decorrelated | cppn (search.operators);
                                            # cppn: best held-out score of the three (README)
    sine_terms: int = 12                    # sines per channel (or latent); a cppn's units
    sine_frequency: float = 12.0            # std of their x, y, r coefficients
    sine_amplitude: float = 2.5             # std of each channel's sum (before the tanh squash)
    init_min_depth: int = 2
    init_max_depth: int = 6
    checkpoint_every: int = 1               # generations
    checkpoint_minutes: float = 5.0
    chunk_size: int = 16
    # --from (issue 23): parent formulas the first population is bred from, and where each came
    # from (set by `genart evolve --from SOURCE…` in evolve/cli/runs.py, not flags of their own)
    parents: tuple[str, ...] = ()
    parent_sources: tuple[str, ...] = ()
    fresh_share: float = 0.0                # help: share of a --from run's first population
                                            # drawn as new start genomes, not bred (0)

    def __post_init__(self):
        for name in ("parents", "parent_sources"):       # JSON and TOML give lists
            if isinstance(getattr(self, name), list):
                object.__setattr__(self, name, tuple(getattr(self, name)))
        try:
            self.check()
        except TypeError:                # e.g. a string where a number belongs, from a file
            raise RunError("a setting has the wrong type (a number expected?); "
                           "check the config file or flags") from None

    def check(self) -> None:
        """RunError naming the flag for any setting a search cannot run with."""
        def need(ok: bool, flag: str, what: str, value) -> None:
            if not ok:
                raise RunError(f"--{flag} must be {what}, got {value!r}")
        need(isinstance(self.target, str) and self.target.strip() != "", "target",
             "a class query, class index or layer:NAME", self.target)
        need(2 <= self.population <= MAX_POPULATION, "pop", f"in 2..{MAX_POPULATION}",
             self.population)
        need(MIN_SIZE <= self.size <= MAX_SIZE, "size", f"in {MIN_SIZE}..{MAX_SIZE}", self.size)
        need(self.record_size == 0 or MIN_SIZE <= self.record_size <= MAX_RECORD_SIZE,
             "record-size", f"0 (none) or in {MIN_SIZE}..{MAX_RECORD_SIZE}", self.record_size)
        need(1 <= self.record_antialias <= 4, "record-antialias", "in 1..4", self.record_antialias)
        need(self.generations is None or self.generations >= 0, "generations", "≥ 0",
             self.generations)
        if self.seconds is not None and not self.seconds > 0:
            raise RunError(f"a time budget must be positive, got {self.seconds!r} seconds")
        need(self.naturalness >= 0, "naturalness", "≥ 0", self.naturalness)
        need(self.tune_steps >= 0, "tune-steps", "≥ 0", self.tune_steps)
        need(0 <= self.tune_share <= 1, "tune-share", "in [0, 1]", self.tune_share)
        need(self.tune_lr > 0, "tune-lr", "> 0", self.tune_lr)
        need(self.chunk_size >= 1, "chunk-size", "≥ 1", self.chunk_size)
        need(0 <= self.elites < self.population, "elites", "in 0..pop-1", self.elites)
        need(0 <= self.views <= MAX_VIEWS, "views", f"in 0..{MAX_VIEWS}", self.views)
        need(1 <= self.judge_views <= MAX_VIEWS, "judge-views", f"in 1..{MAX_VIEWS}",
             self.judge_views)
        need(self.class_score in CLASS_SCORES, "class-score", " or ".join(CLASS_SCORES),
             self.class_score)
        need(self.ensemble in ENSEMBLE_COMBINES, "ensemble", " or ".join(ENSEMBLE_COMBINES),
             self.ensemble)
        need(isinstance(self.models, str) and bool(self.model_names()), "models",
             "a comma-separated list of model names", self.models)
        need(self.tune_min_constants >= 0, "tune-min-constants", "≥ 0", self.tune_min_constants)
        need(self.start_form in START_FORMS, "start", " or ".join(START_FORMS), self.start_form)
        need(0 <= self.sine_share <= 1, "sine-share", "in [0, 1]", self.sine_share)
        self.check_parents(need)
        resolve_device(self.device, check_cuda=False)

    def check_parents(self, need) -> None:
        """--from's parent formulas: text that parses, no more than --pop of them, one source
        each (or none), and a fresh share in [0, 1]."""
        need(isinstance(self.parents, tuple) and all(isinstance(f, str) for f in self.parents),
             "from", "parent formulas (text)", self.parents)
        need(len(self.parents) <= self.population, "from",
             f"at most --pop ({self.population}) parent formulas; pick fewer or raise --pop",
             len(self.parents))
        need(isinstance(self.parent_sources, tuple)
             and len(self.parent_sources) in (0, len(self.parents)), "from",
             "one source per parent formula", self.parent_sources)
        need(0 <= self.fresh_share <= 1, "fresh-share", "in [0, 1]", self.fresh_share)
        for number, formula in enumerate(self.parents):
            try:
                parse(formula)
            except FormulaError as error:
                raise RunError(f"parent formula {number} does not parse ({error}); fix "
                               f"config.json's parents or start again with --from") from None

    def start(self) -> Start:
        """How the first population (and explore's fresh genomes) are drawn."""
        return Start(share=self.sine_share, form=self.start_form, terms=self.sine_terms,
                     frequency=self.sine_frequency, amplitude=self.sine_amplitude,
                     min_depth=self.init_min_depth, max_depth=self.init_max_depth)

    def model_names(self) -> list[str]:
        """The networks selection sees: `model` alone in fooling mode, else the ensemble."""
        if self.fooling:
            return [self.model]
        return [name.strip() for name in str(self.models).split(",") if name.strip()]

    def judge_name(self) -> str | None:
        """The held-out network's name, or None when there is no judge."""
        name = str(self.judge).strip()
        return None if name.lower() in ("", "none", "off") else name

    def to_json(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "RunConfig":
        if not isinstance(data, dict):
            raise RunError("config is not a JSON object; restore it from a backup or start a new run")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise RunError(f"config has unknown settings {unknown}; was it written by a newer genart?")
        if "fooling" not in data:        # written before the robust search: resume as it ran
            data = {**BEFORE_ROBUST, **data}
        if "start_form" not in data:     # written before start forms: its genomes were sines
            data = {**data, "start_form": "sines"}
        try:
            return cls(**data)
        except TypeError as error:       # a setting missing or of the wrong kind
            raise RunError(f"config is incomplete or malformed ({error}); "
                           "restore it from a backup or start a new run") from None


# --- random states: Python's `random` (DEAP draws from it), numpy, torch — as JSON lists ------

def rng_states() -> dict:
    version, internal, gauss = random.getstate()
    name, keys, pos, has_gauss, cached = np.random.get_state()
    return {"python": [version, list(internal), gauss],
            "numpy": [name, keys.tolist(), int(pos), int(has_gauss), float(cached)],
            "torch": torch.get_rng_state().tolist()}


def set_rng_states(states: dict) -> None:
    version, internal, gauss = states["python"]
    random.setstate((version, tuple(internal), gauss))
    name, keys, pos, has_gauss, cached = states["numpy"]
    np.random.set_state((name, np.array(keys, dtype=np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(torch.tensor(states["torch"], dtype=torch.uint8))


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def resolve_device(name: str, *, check_cuda: bool = True) -> torch.device:
    """`auto` (CUDA when there is one), `cpu`, `cuda` or `cuda:N`; RunError otherwise."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if not isinstance(name, str) or name != "cpu" and not (name == "cuda" or name.startswith("cuda:") and name[5:].isdigit()):
        raise RunError(f"unknown device {name!r}; use auto, cpu or cuda")
    if name.startswith("cuda") and check_cuda and not torch.cuda.is_available():
        raise RunError(f"--device {name} asked for, but torch sees no CUDA device; "
                       "use --device cpu")
    return torch.device(name)
