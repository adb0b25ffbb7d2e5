"""Formula text: exact round trip, and hostile text rejected fast without executing anything."""
import builtins
import pickle
import time

import pytest

from genart import FormulaError, GenartError, parse, random_genomes
from genart.formula import MAX_DEPTH

HOSTILE = {
    "unknown name": "add(x, foo)",
    "import": "__import__('os').system('touch /tmp/genart_pwned')",
    "power tower": "9**9**9**9",
    "megabyte of sin(": "sin(" * 250_000,
    "deep but short": "sin(" * 5_000 + "x" + ")" * 5_000,
    "wrong arity, too few": "add(x)",
    "wrong arity, too many": "sin(x, y)",
    "terminal called": "x(y)",
    "empty": "",
    "only spaces": "   \n\t",
    "binary junk": "\x00\xff\x1b[2J\ud800garbage",
    "nan literal": "add(x, nan)",
    "inf literal": "add(x, inf)",
    "overflowing literal": "add(x, 1e999)",
    "trailing text": "add(x, y) y",
    "trailing paren": "add(x, y))",
    "unbalanced": "add(x, sin(y)",
    "missing argument": "add(x, )",
    "bad colour": "colour(0.1, x, 0.3)",
    "lambda": "lambda: 0",
    "attribute": "x.__class__",
}


def test_round_trip_is_exact_text_and_tree():
    for genome in random_genomes(300, seed=3, min_depth=1, max_depth=8):
        text = str(genome)
        again = parse(text)
        assert str(again) == text
        assert [n.name for n in again] == [n.name for n in genome]


def test_literals_round_trip_exactly():
    text = "add(mul(0.1, x), colour(-1e-07, 0.30000000000000004, 123456.789))"
    assert str(parse(text)) == text
    assert str(parse("add( x ,y )")) == "add(x, y)"


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_text_raises_formula_error_fast(name):
    start = time.perf_counter()
    with pytest.raises(FormulaError) as info:
        parse(HOSTILE[name])
    elapsed = time.perf_counter() - start
    assert elapsed < 0.1, f"{name}: {elapsed * 1e3:.0f} ms"
    message = str(info.value)
    assert "\n" not in message and "at character" in message
    assert isinstance(info.value, GenartError) and isinstance(info.value, ValueError)
    assert 0 <= info.value.position <= max(len(HOSTILE[name]), 1) + 1


def test_errors_name_the_position():
    assert parse_error("add(x, foo)").position == 7
    assert parse_error("add(x, y) y").position == 10
    assert "deeper" in str(parse_error("sin(" * (MAX_DEPTH + 1) + "x" + ")" * (MAX_DEPTH + 1)))
    assert "2 arguments" in str(parse_error("add(x)"))


def parse_error(text):
    with pytest.raises(FormulaError) as info:
        parse(text)
    return info.value


def test_parse_executes_nothing(monkeypatch, tmp_path):
    def forbidden(*args, **kwargs):
        raise AssertionError("parse must not eval, exec, compile or import")
    for name in ("eval", "exec", "compile", "__import__"):
        monkeypatch.setattr(builtins, name, forbidden)
    for text in HOSTILE.values():
        with pytest.raises(FormulaError):
            parse(text)
    assert str(parse("if_pos(x, hsv(y, r, theta), noise(x, 0.5))")).startswith("if_pos")


def test_genomes_pickle():
    genome = random_genomes(1, seed=0)[0]
    assert str(pickle.loads(pickle.dumps(genome))) == str(genome)
