"""Search settings: `RunConfig` is everything that decides a run (config.json, every checkpoint).
"""
from __future__ import annotations

import dataclasses
import math
import types
import typing
from dataclasses import dataclass

import torch

from genart import FormulaError, parse
from scorers.ensemble import COMBINES as ENSEMBLE_COMBINES, KINDS as CLASS_SCORES

from evolve.errors import RunError
from evolve.search.operators import START_FORMS, Start
from evolve.search.ranges import range_text
from evolve.search.templates import FORMS

CHECKPOINT_VERSION = 1
MIN_SIZE, MAX_SIZE = 8, 1024            # scoring render side (the model resizes to its own)
MAX_RECORD_SIZE = 8192                  # anti-aliased record render side
MAX_POPULATION = 65536
MAX_VIEWS = 1024
# old defaults of settings a config.json from before them lacks (robust search, start forms …)
BEFORE_ROBUST = {"fooling": True, "tune_min_constants": 0, "naturalness_relative": False}
BEFORE_SETTING = {"start_form": "sines", "portfolio": False, "tune_views": 0}
# settings renamed since (config.json files name them the old way)
RENAMED = {f"sine_{k}": f"start_{k}" for k in ("share", "terms", "frequency", "amplitude")}

GROUPS = ("search", "scoring", "robust", "budget", "output")
NO_FLAG = ""                             # a setting set by other flags (target, seconds, …)


def setting(default, help: str, group: str, *, flag: str | None = None, choices=None,
            low=None, high=None, above=None, aliases: tuple[str, ...] = ()):
    """A RunConfig field whose flag (`--name-with-dashes` unless `flag` says; `NO_FLAG`: none of
    its own), TOML key, help, `--help` group and range (low ≤ v ≤ high, v > above) come from
    this one declaration; RunConfig checks the type and range, argparse the same range."""
    if group not in GROUPS:
        raise ValueError(f"setting group {group!r} is not one of {GROUPS}")
    metadata = {"help": help, "group": group, "flag": flag, "choices": choices, "low": low,
                "high": high, "above": above, "aliases": tuple(aliases)}
    if default is dataclasses.MISSING:
        return dataclasses.field(metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def redefault(cls, name: str, default, **changes):
    """`cls`'s setting `name` with another default (and any metadata `changes`), for a
    subclass such as ExploreConfig: the flag, help and range stay declared once."""
    field = next(f for f in dataclasses.fields(cls) if f.name == name)
    return dataclasses.field(default=default, metadata={**field.metadata, **changes})


def flag_name(field: dataclasses.Field) -> str:
    """The flag a setting is given by (`--pop`), or its config key when it has no flag."""
    flag = field.metadata.get("flag")
    if flag == NO_FLAG:
        return field.name
    return "--" + (flag or field.name.replace("_", "-"))


KIND_NOUNS = {bool: "true or false", int: "a whole number", float: "a finite number", str: "text"}


def checked_value(field: dataclasses.Field, kind, value):
    """`value` as a `kind` setting (an int is a float, a list a tuple), or RunError naming the
    setting and the value: the one type check for flags, TOML files and config.json."""
    optional = isinstance(kind, types.UnionType) and type(None) in typing.get_args(kind)
    if optional:
        if value is None:
            return None
        kind = next(k for k in typing.get_args(kind) if k is not type(None))
    if typing.get_origin(kind) is tuple:
        if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
            return tuple(value)
        raise RunError(f"{flag_name(field)} must be a list of text, got {value!r}")
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    ok = (isinstance(value, kind) and not (kind is int and isinstance(value, bool))
          and not (kind is float and not math.isfinite(value)))
    if not ok:
        noun = KIND_NOUNS.get(kind, kind.__name__) + (" or none" if optional else "")
        raise RunError(f"{flag_name(field)} must be {noun}, got {value!r}")
    meta = field.metadata
    low, high, above, choices = (meta.get(k) for k in ("low", "high", "above", "choices"))
    if choices is not None and value not in choices:
        raise RunError(f"{flag_name(field)} must be {' or '.join(choices)}, got {value!r}")
    if ((low is not None and value < low) or (high is not None and value > high)
            or (above is not None and not value > above)):
        raise RunError(f"{flag_name(field)} must be {range_text(low, high, above)}, "
                       f"got {value!r}")
    return value


@dataclass(frozen=True)
class RunConfig:
    """Everything that decides a run; saved as config.json and inside every checkpoint.
    Each field is a `setting`: evolve/cli/arguments.py makes its flag and TOML key."""
    target: str = setting(dataclasses.MISSING, "class query (crab), class index (118) or "
                          "layer:NAME[:C1,C2]", "search", flag=NO_FLAG)
    model: str = setting("efficientnet-lite0", "the one network of --fooling (and of layer "
                         "targets); alone, the robust search's one network", "scoring")
    fooling: bool = setting(False, "one network (--model), no views: the fooling-image search",
                            "robust")
    models: str = setting("efficientnet-lite0,efficientnet-lite1", "networks selection sees, "
                          "each at its native size (comma-separated)", "robust")
    views: int = setting(4, "random crops/flips/rotations per image, redrawn every generation",
                         "robust", low=0, high=MAX_VIEWS)
    class_score: str = setting("margin", "robust objective: logit margin or log target mass",
                               "robust", choices=CLASS_SCORES)
    ensemble: str = setting("mean", "combine the networks' scores by their mean or a soft "
                            "minimum, which pays most for the one that lags", "robust",
                            choices=ENSEMBLE_COMBINES)
    margin_cap: float = setting(0.0, "each view's class score counts at most this (0: no cap): "
                                "effort goes to the views that still fail", "robust", low=0.0)
    judge: str = setting("efficientnet-lite2", "held-out network, never used for selection "
                         "(none: no judge)", "robust")
    judge_views: int = setting(16, "fixed seeded views the judge scores on", "robust", low=1,
                               high=MAX_VIEWS)
    population: int = setting(8, "population size (measured, issue 10: a small batch, more "
                              "Adam)", "search", flag="pop", low=2, high=MAX_POPULATION)
    generations: int | None = setting(None, "generations in all", "budget", low=0)
    seconds: float | None = setting(None, "seconds of evolution in all, over resumes (set by "
                                    "--minutes or --hours)", "budget", flag=NO_FLAG, above=0)
    size: int = setting(128, "render size for scoring (a robust class search: 256)", "scoring",
                         low=MIN_SIZE, high=MAX_SIZE)
    record_size: int = setting(1024, "side of each record's anti-aliased render (0: none)",
                               "output", low=0, high=MAX_RECORD_SIZE)
    record_antialias: int = setting(2, "supersampling factor of the record renders", "output",
                                   low=1, high=4)
    record_gain: float = setting(0.005, "a new best becomes a record when it beats the last "
                                 "record by this much", "output", low=0.0)
    naturalness: float = setting(2.0, "λ of the naturalness penalty λ·max(0, residual − τ)",
                                 "scoring", low=0.0)
    naturalness_tau: float = setting(0.03, "τ: the residual the penalty forgives", "scoring",
                                     low=0.0)
    naturalness_weight: float = setting(0.1, "TV-denoise weight of the naturalness residual",
                                        "scoring", above=0.0)
    naturalness_relative: bool = setting(False, "fooling: p·exp(−penalty) instead of "
                                         "p − penalty", "scoring")
    seed: int = setting(0, "random seed of the search", "search", low=0, high=2**63 - 1)
    device: str = setting("auto", "auto, cpu, cuda or cuda:N", "scoring")
    tune: bool = setting(True, "constant tuning by Adam", "search")
    tune_steps: int = setting(40, "Adam steps of constant tuning per generation (40 beat 10 on "
                              "the judge, 2 seeds; a crab search: 80)", "search", low=0,
                              high=100000)
    tune_share: float = setting(0.25, "fraction of the population tuned each generation "
                                "(a crab search: 0.125)", "search", low=0.0, high=1.0)
    tune_lr: float = setting(0.1, "Adam learning rate of constant tuning (a crab search: 0.01)",
                             "search", above=0.0)
    tune_turns: bool = setting(False, "each Adam step of constant tuning scores one network by "
                               "turns, not all (a crab search: on)", "search")
    tune_min_constants: int = setting(48, "tune the best genomes that have at least this many "
                                      "constants", "search", low=0)
    pareto: bool = setting(False, "NSGA-II on (objective, −residual); the front goes to the "
                           "gallery", "search")
    crossover_prob: float = setting(0.5, "probability that a pair of offspring is crossed",
                                    "search", low=0.0, high=1.0)
    mutation_prob: float = setting(0.5, "probability that an offspring is mutated", "search",
                                   low=0.0, high=1.0)
    tournament_size: int = setting(3, "genomes per selection tournament", "search", low=1,
                                  high=MAX_POPULATION)
    elites: int = setting(2, "best genomes carried unchanged into the next generation",
                          "search", low=0)
    max_height: int = setting(17, "deepest formula tree offspring may have", "search",
                            low=1, high=90)
    max_nodes: int = setting(900, "most nodes a formula tree may have", "search",
                           low=1, high=1000000)
    # the numbers of the start population are Start's (search.operators); the form is the run's
    start_share: float = setting(Start.share, "share of the first population built as --start "
                                 "formulas", "search", low=0.0, high=1.0, aliases=("sine-share",))
    start_form: str = setting("cppn", "capacity-rich start formulas: sine sums per channel, "
                              "sine sums on decorrelated colour axes, or CPPN-style "
                              "tanh/sin/bump units, or figure(colour, alpha) (a robust class search "
                              "starts figure; others cppn)",
                              "search", flag="start", choices=START_FORMS)
    start_terms: int = setting(Start.terms, "sines per channel (or latent) of a start formula; "
                               "a cppn's hidden units", "search", low=1, high=1024)
    start_frequency: float = setting(Start.frequency, "std of the start formulas' x, y, r "
                                     "coefficients", "search", low=0.0,
                                     aliases=("sine-frequency",))
    start_amplitude: float = setting(Start.amplitude, "std of each start channel's value before "
                                     "the tanh squash", "search", low=0.0)
    init_min_depth: int = setting(Start.min_depth, "least depth of the random (non-start) first "
                                  "genomes", "search", low=0, high=17)
    init_max_depth: int = setting(Start.max_depth, "greatest depth of the random (non-start) "
                                  "first genomes", "search", low=0, high=17)
    checkpoint_every: int = setting(1, "checkpoint every this many generations", "output", low=1)
    checkpoint_minutes: float = setting(5.0, "and at least every this many minutes", "output",
                                       above=0.0)
    chunk_size: int = setting(8, "images per forward pass on the CPU (8 measured best; CUDA "
                              "scores the whole population at once)", "scoring",
                              low=1, high=MAX_POPULATION)
    parents: tuple[str, ...] = setting((), "parent formulas the first population is bred from "
                                       "(--from resolves record files, run folders or formula "
                                       "text to them)", "search", flag=NO_FLAG)
    parent_sources: tuple[str, ...] = setting((), "where each --from parent came from",
                                              "search", flag=NO_FLAG)
    fresh_share: float = setting(0.0, "share of a --from run's first population drawn as new "
                                 "start genomes, not bred", "search", low=0.0, high=1.0)
    compile: bool = setting(False, "torch.compile the networks (bf16 on CUDA): faster passes "
                            "after ~1 minute of compiling per network and shape on a CPU; pays "
                            "off in long runs (docs/measure/speed.sh)", "scoring")
    tune_view_size: int = setting(0, "side of the views constant tuning scores on (0: each "
                                  "network's own input size; 160 costs about half the "
                                  "pixels per pass)", "search", low=0, high=MAX_SIZE)
    tune_views: int = setting(3, "fresh random views per Adam step of constant tuning, at most "
                              "--views (0: --views; 3 measured best for the judge's score)",
                              "search", low=0, high=MAX_VIEWS)
    # the portfolio and stall restarts (issue 21; evolve/search/portfolio.py)
    portfolio: bool = setting(True, "keep the best genome of each look (dominant hue × detail) "
                              "and record each look's gains (robust search only)", "search")
    portfolio_bar: float = setting(0.0, "fitness a look's best must reach to be recorded and "
                                   "counted (margin: log-odds of the target, 0 = p 0.5)",
                                   "output", low=-math.inf)   # any finite number
    stall_generations: int = setting(0, "generations without a best gain of --record-gain "
                                     "before part of the population restarts (0: never)",
                                     "search", low=0)
    restart_mode: str = setting("blend", "a stall restart blends niche elites and fresh start "
                                "forms in, or starts a new lineage: the whole population drawn "
                                "again, the old best kept in its records", "search",
                                choices=("blend", "lineage"))
    restart_share: float = setting(0.5, "share of the population a stall restart replaces: "
                                   "portfolio elites (half) and fresh start formulas", "search",
                                   low=0.0, high=1.0)
    restart_units: int = setting(4, "units (or terms) each restart adds to its fresh start "
                                 "formulas, so capacity grows", "search", low=0, high=1024)
    harvest: bool = setting(False, "keep each picture that meets the robust bar on the audit's "
                            "64 views; lineages end by harvests (a crab search: on)", "search")
    lineage_harvests: int = setting(1, "harvests that end a lineage; until then it goes on, twins "
                                    "shunned (a crab search: 3)", "search", low=1)
    sibling_generations: int = setting(0, "generations without a best gain after a harvest "
                                       "before its lineage ends without the next sibling (0: "
                                       "--stall-generations; a crab search: 4)", "search", low=0)
    harvest_apart: float = setting(0.1, "mean |Δ| of two 64-px renders above which a picture is "
                                   "a new crab, not a twin of a harvest (the audit's; 0.14 made "
                                   "fewer crabs, not more a person tells apart)", "search",
                                   low=0.0, high=2.0)
    harvest_breed: float = setting(0.0, "share of a new lineage bred from the pictures harvested "
                                   "so far (mutants, crossovers)", "search", low=0.0, high=1.0)
    harvest_polish: int = setting(0, "Adam steps a harvest is polished through its constants "
                                  "(as `genart polish` does) before its record; kept when the "
                                  "networks score it no lower and it still meets the bar "
                                  "(a crab search: 40)", "search", low=0, high=10000)
    harvest_rounds: int = setting(1, "polish rounds each harvest gets in all, 0 for no end: "
                                  "a generation that harvests nothing (every third, every "
                                  "second from 4 harvests, every one from 8), by turns the "
                                  "harvest with the fewest and the fittest is polished again "
                                  "and, when kept, recorded anew (a crab search: 0)", "search",
                                  low=0, high=1000)
    harvest_grow: int = setting(0, "terms a polish round adds at zero weight to a harvest whose "
                                "last 2 rounds were not kept, so its constants have more to "
                                "climb with (NEAT-style growth; 0: never; a crab search: 3)",
                                "search", low=0, high=64)
    # figure/ground genomes, symmetry, frequency discipline, templates (issue 20)
    symmetry: str = setting("none", "mirror: every formula sees |x|, so pictures are exactly "
                            "left-right symmetric (a robust class search: mirror)", "search",
                            choices=("none", "mirror"))
    template: str = setting("none", "seed jittered copies of a class-shaped figure formula "
                            "into the first population (a robust crab search: crab)", "search",
                            choices=("none", "crab"))
    template_share: float = setting(0.25, "share of the first population that is --template "
                                    "copies", "search", low=0.0, high=1.0)
    template_forms: int = setting(1, "lineage k starts from the template's form k mod this "
                                  "(crab: 5 forms); 0: lineage k > 0 from a crab form drawn "
                                  "at random (its layout, legs, colour)", "search", low=0,
                                  high=len(FORMS))
    coverage_low: float = setting(0.15, "figures (--start figure, --template) covering less "
                                  "of the frame than this pay --coverage-cost per unit",
                                  "scoring", low=0.0, high=1.0)
    coverage_high: float = setting(0.55, "figures covering more than this pay "
                                   "--coverage-cost per unit", "scoring", low=0.0, high=1.0)
    coverage_cost: float = setting(10.0, "margin units per unit of coverage outside "
                                   "[--coverage-low, --coverage-high]", "scoring", low=0.0)
    max_frequency: float = setting(0.0, "constant tuning clamps every coefficient of x, y or "
                                   "r to ±this (0: unbounded; a robust class search: 4)", "search",
                                   low=0.0)
    # views that take colour and texture away (issue 20 item 3): each training view's chance of
    # each (scorers.draw_views); the judge's and audit's fixed views never have them
    view_grey: float = setting(0.0, "chance that a training view is grey (colour taken away; "
                               "a robust class search: 0.25)",
                               "robust", low=0.0, high=1.0)
    view_jitter: float = setting(0.0, "chance that a training view is colour-jittered "
                                 "(brightness, saturation, hue)", "robust", low=0.0, high=1.0)
    view_blur: float = setting(0.0, "chance that a training view is blurred (fine texture "
                               "taken away)", "robust", low=0.0, high=1.0)
    view_thumb: float = setting(0.0, "chance that a training view is a thumbnail (seen at "
                                "10-30 % of its side, then enlarged)", "robust", low=0.0,
                                high=1.0)
    polish_thumb: float = setting(0.0, "a harvest polish's own views: at least this chance of a "
                                  "thumbnail (the check's fixed views stay the run's)", "robust",
                                  low=0.0, high=1.0)
    polish_blur: float = setting(0.0, "a harvest polish's own views: at least this chance of a "
                                 "blurred view", "robust", low=0.0, high=1.0)

    def __post_init__(self):
        hints = typing.get_type_hints(type(self))
        for field in dataclasses.fields(self):            # type and declared range, by name
            value = checked_value(field, hints[field.name], getattr(self, field.name))
            object.__setattr__(self, field.name, value)
        self.check()

    def check(self) -> None:
        """RunError naming the flag for any setting a search cannot run with."""
        def need(ok: bool, flag: str, what: str, value) -> None:
            if not ok:
                raise RunError(f"--{flag} must be {what}, got {value!r}")
        need(isinstance(self.target, str) and self.target.strip() != "", "target",
             "a class query, class index or layer:NAME", self.target)
        need(self.record_size == 0 or self.record_size >= MIN_SIZE,
             "record-size", f"0 (none) or in {MIN_SIZE}..{MAX_RECORD_SIZE}", self.record_size)
        need(self.elites < self.population, "elites", "below --pop", self.elites)
        need(self.coverage_low <= self.coverage_high, "coverage-high",
             f"at least --coverage-low ({self.coverage_low})", self.coverage_high)
        need(self.tune_view_size == 0 or self.tune_view_size >= 32, "tune-view-size",
             "0 (each network's size) or at least 32", self.tune_view_size)
        need(self.init_min_depth <= self.init_max_depth <= self.max_height, "init-max-depth",
             "between --init-min-depth and --max-height", self.init_max_depth)
        need(isinstance(self.models, str) and bool(self.model_names()), "models",
             "a comma-separated list of model names", self.models)
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
        return Start(share=self.start_share, form=self.start_form, terms=self.start_terms,
                     frequency=self.start_frequency, amplitude=self.start_amplitude,
                     min_depth=self.init_min_depth, max_depth=self.init_max_depth)

    def forward_chunk(self, device: torch.device) -> int:
        """Images per forward pass: --chunk-size on the CPU, the whole population on CUDA."""
        if device.type == "cpu":
            return self.chunk_size
        return max(self.chunk_size, self.population * 2)

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
        data = {RENAMED.get(key, key): value for key, value in data.items()}
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise RunError(f"config has unknown settings {unknown}; was it written by a newer genart?")
        if "fooling" not in data:        # written before the robust search: resume as it ran
            data = {**BEFORE_ROBUST, **data}
        data = {**BEFORE_SETTING, **data}
        try:
            return cls(**data)
        except TypeError as error:       # a setting missing or of the wrong kind
            raise RunError(f"config is incomplete or malformed ({error}); "
                           "restore it from a backup or start a new run") from None


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
