"""Formula text -> Genome, by our own tokenizer and an iterative prefix parser (never eval).

    formula := NUMBER | TERMINAL | PRIMITIVE "(" formula ("," formula)* ")"
             | "colour" "(" NUMBER "," NUMBER "," NUMBER ")"
    text    := formula | "figure" "(" formula "," formula ")"      (figure: the root only)

Every token must be a known name or a literal that `float()` reads to a finite number. Length
is checked before tokenizing, depth and node count while scanning, so any input fails fast.
"""
from __future__ import annotations

import math
import re

from genart.errors import GenartError
from genart.figure import FIGURE
from genart.primitives import PRIMITIVES, PSET, TERMINALS, Colour, Genome, make_constant

ARITY = {**{name: arity for name, (_, arity) in PRIMITIVES.items()}, "figure": 2}

MAX_LENGTH = 200_000     # characters
MAX_NODES = 20_000
MAX_DEPTH = 64

_TOKEN = re.compile(r"\s*(?:(?P<num>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)"
                    r"|(?P<name>[A-Za-z_][A-Za-z_0-9]*)|(?P<punct>[(),]))")


class FormulaError(GenartError):
    """A formula text that cannot be read; `.position` is the character offset of the fault."""

    def __init__(self, message: str, position: int):
        super().__init__(f"bad formula at character {position}: {message}")
        self.position = position


def _tokens(text: str):
    """(kind, text, position) tuples; kind is 'num', 'name' or the punctuation itself."""
    pos, end = 0, len(text)
    while pos < end:
        match = _TOKEN.match(text, pos)
        if match is None:
            if text[pos:].strip() == "":
                return
            bad = pos + len(text[pos:]) - len(text[pos:].lstrip())
            raise FormulaError(f"unexpected character {text[bad]!r}; formulas use names, "
                               f"numbers, parentheses and commas", bad)
        kind = match.lastgroup
        yield (match.group("punct") if kind == "punct" else kind), match.group(kind), \
            match.start(kind)
        pos = match.end()


def _number(token: str, position: int) -> float:
    value = float(token)
    if not math.isfinite(value):
        raise FormulaError(f"number {token} is not finite", position)
    return value


def parse(text: str) -> Genome:
    """Read a formula printed by `str(genome)`; FormulaError names the position of any fault."""
    if not isinstance(text, str):
        raise FormulaError(f"expected text, got {type(text).__name__}", 0)
    if len(text) > MAX_LENGTH:
        raise FormulaError(f"formula is {len(text)} characters, limit {MAX_LENGTH}", MAX_LENGTH)
    tokens = _tokens(text)
    nodes, open_calls = [], []        # open_calls: [name, arguments still expected]
    expect = "formula"                # what the next token must be: formula, '(' or ', or )'
    for kind, token, pos in tokens:
        if expect == "(":
            if kind != "(":
                raise FormulaError(f"expected '(' after {open_calls[-1][0]}", pos)
            expect = "formula"
            continue
        if expect == "formula":
            if kind == "num":
                nodes.append(make_constant(_number(token, pos)))
            elif kind == "name" and token in TERMINALS:
                nodes.append(PSET.mapping[token])
            elif kind == "name" and token == "colour":
                nodes.append(_colour(tokens, pos))
            elif kind == "name" and token in ARITY:
                if len(open_calls) >= MAX_DEPTH:
                    raise FormulaError(f"formula is deeper than {MAX_DEPTH}", pos)
                if token == "figure" and nodes:
                    raise FormulaError("figure(colour, alpha) may only be the whole formula",
                                       pos)
                nodes.append(FIGURE if token == "figure" else PSET.mapping[token])
                open_calls.append([token, ARITY[token]])
                expect = "("
            elif kind == "name":
                raise FormulaError(f"unknown name {token!r}; known: "
                                   f"{', '.join(TERMINALS + tuple(ARITY))}, colour", pos)
            else:
                raise FormulaError(f"expected a formula, got {token!r}", pos)
            if len(nodes) > MAX_NODES:
                raise FormulaError(f"formula has more than {MAX_NODES} nodes", pos)
            if expect == "formula":
                expect = _argument_done(open_calls)
            continue
        # expect == "after": a complete argument was just read
        if not open_calls:
            raise FormulaError(f"unexpected {token!r} after a complete formula", pos)
        name, missing = open_calls[-1]
        if kind == "," and missing > 0:
            expect = "formula"
        elif kind == ")" and missing == 0:
            open_calls.pop()
            expect = _argument_done(open_calls)
        elif kind == ")":
            raise FormulaError(f"{name} takes {ARITY[name]} arguments, "
                               f"got {ARITY[name] - missing}", pos)
        else:
            raise FormulaError(f"{name} takes {ARITY[name]} arguments; expected ')'"
                               if kind == "," else f"expected ',' or ')', got {token!r}", pos)
    if not nodes:
        raise FormulaError("empty formula; try e.g. 'add(x, y)'", 0)
    if open_calls or expect != "after":
        raise FormulaError(f"formula ends early: {open_calls[-1][0] if open_calls else 'it'} "
                           f"is not complete (missing arguments or ')')", len(text))
    return Genome(nodes)


def _argument_done(open_calls: list) -> str:
    """Count a finished argument against the innermost call; next expect 'after'."""
    if open_calls:
        open_calls[-1][1] -= 1
    return "after"


def _colour(tokens, start: int):
    """The rest of `colour(r, g, b)`: exactly three numeric literals."""
    values = []
    for expected in ("(", "num", ",", "num", ",", "num", ")"):
        kind, token, pos = next(tokens, (None, "end of text", start))
        if kind != expected:
            want = "a number" if expected == "num" else repr(expected)
            raise FormulaError(f"colour(r, g, b) takes three numbers; expected {want}, "
                               f"got {token!r}", pos)
        if kind == "num":
            values.append(_number(token, pos))
    return make_constant(Colour(values))
