"""`genart bench`'s render part runs and reports what the issue asks for (figures, not targets)."""
import re

import torch

from evolve.bench.render import PAIRS, render_part


def test_render_part_reports_both_rates_the_ratio_and_the_cache():
    lines = render_part(torch.device("cpu"), seed=0)
    text = "\n".join(lines)
    assert "render threads=1" in lines[0]                 # 224^2 bands run on one thread
    baseline = float(re.search(r"lambda:\s+([\d.]+) img/s", text).group(1))
    ours = float(re.search(r"render_batch:\s+([\d.]+) img/s", text).group(1))
    ratio = float(re.search(r"ratio:\s+(\d+)x \(median of (\d+)", text).group(1))
    assert f"median of {PAIRS} back-to-back pairs" in text
    assert baseline > 0 and ours > baseline and ratio > 1
    assert re.search(r"computes \d+/\d+ primitive nodes", text)
