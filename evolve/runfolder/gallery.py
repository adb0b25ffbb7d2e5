"""The run's gallery: index.html (records as a grid, formula on click) and fitness.png (PIL plot).

Built only from files in the run folder, so `genart gallery RUN` can rebuild it at any time.
Extra sections appear when their folders exist: `pareto/` (the NSGA-II front) and `polished/`
(dream outputs, any *.png there).
"""
from __future__ import annotations

import html
import json
import logging
from pathlib import Path


from evolve.runfolder.picking import (PICK_SCRIPT, parent_links, parents_section, pick_controls,
                                      pick_panel)
from evolve.runfolder.plots import fitness_png
from evolve.runfolder.portfolio_view import portfolio_section
from evolve.runfolder.rundir import RunDir, write_atomic

logger = logging.getLogger(__name__)
EXTRA_SECTIONS = (("pareto", "Pareto front (objective vs naturalness residual)"),
                  ("polished", "Polished (constants under the run's views, or DeepDream)"))


def build_gallery(run: RunDir) -> Path:
    """Write index.html and fitness.png into the run folder; returns the page's path."""
    log = run.read_log()
    write_atomic(run.path / "fitness.png", fitness_png(log))
    page = render_page(run, log)
    write_atomic(run.path / "index.html", page)
    return run.path / "index.html"


# --- the page --------------------------------------------------------------------------------

STYLE = """body{font-family:sans-serif;margin:1.5em;background:#fafafa;color:#222}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(230px,1fr));gap:14px}
.card{background:#fff;border:1px solid #ddd;border-radius:6px;padding:8px;font-size:13px}
.card img{width:100%;image-rendering:auto;border-radius:4px}
details pre{white-space:pre-wrap;word-break:break-all;font-size:11px;max-height:14em;overflow:auto}
.muted{color:#777}"""


def render_page(run: RunDir, log: list[dict]) -> str:
    config = {}
    if run.config_path.exists():
        config = json.loads(run.config_path.read_text(encoding="utf-8"))
    records = run.record_entries()
    parts = ["<!doctype html><html><head><meta charset='utf-8'>",
             f"<title>genart: {_e(config.get('target', run.path.name))}</title>",
             f"<style>{STYLE}</style></head><body>",
             f"<h1>{_e(run.path.name)} — target <code>{_e(config.get('target', '?'))}</code></h1>",
             summary_line(records, log, config.get("kind") == "explore"),
             "<img src='fitness.png' alt='fitness plot'>",
             "<h2>Records</h2><div class='grid' id='records'>"]
    audit = _audit_rows(run)
    target = config.get("target", "?")
    parts.insert(-1, parents_section(run.path, config)                       # picking.py
                 + (pick_panel(target) if records else ""))
    parts.insert(-1, _cells_section(run, audit))
    parts.insert(-1, portfolio_section(records))                # distinct looks, best first
    for entry in reversed(records):
        picks = pick_controls(run.path, run.records / f"{entry['stem']}.formula",
                              str(int(entry["stem"])), target) + parent_links(config)
        parts.append(_record_card(run, entry, _audit_line(audit.get(entry["stem"])) + picks))
    parts.append("</div>")
    for folder, title in EXTRA_SECTIONS:
        parts.append(_extra_section(run, folder, title))
    parts.insert(5, _skipped_line(run.skipped))      # after every read: under the summary
    parts.append(PICK_SCRIPT + "</body></html>\n")
    return "\n".join(p for p in parts if p)


def summary_line(records: list[dict], log: list[dict], explore: bool) -> str:
    """The header: the best record's fitness (the number the records hold; an explore: its best
    cell's), then the last generation's own best under its views, each labelled."""
    last = log[-1] if log else {}
    generation, minutes = last.get("generation", 0), last.get("elapsed", 0) / 60
    if explore:
        best = f"best cell fitness {last.get('best_fitness', float('nan')):.4f}"
    else:
        fits = [(e["fitness"], e["stem"]) for e in records
                if isinstance(e.get("fitness"), (int, float))]
        best = f"{len(records)} records · " + (
            f"best record #{max(fits)[1]}: fitness {max(fits)[0]:.4f}" if fits else "none yet")
        if "best_fitness" in last:
            best += (f" · generation {generation}'s own best: fitness {last['best_fitness']:.4f}"
                     " under that generation's views")
    return (f"<p class='muted' id='summary'>{best} · generation {generation} · {minutes:.1f} min"
            "</p>")


def _skipped_line(skipped: list[str]) -> str:
    """The unreadable files the page was built without (each also logged as a warning)."""
    if not skipped:
        return ""
    return ("<p class='skipped' id='skipped'>skipped unreadable files (restore or delete them): "
            + " · ".join(_e(s) for s in skipped) + "</p>")


def _record_card(run: RunDir, entry: dict, extra: str = "") -> str:
    stem = entry["stem"]
    image = f"records/{stem}.png"
    hires = run.records / f"{stem}_hires.png"
    link = f"records/{stem}_hires.png" if hires.exists() else image
    formula_path = run.records / f"{stem}.formula"
    formula = formula_path.read_text(encoding="utf-8") if formula_path.exists() else ""
    top = "<br>".join(f"{_e(name)} {prob:.3f}" for name, prob in entry.get("top5", [])[:3])
    return (f"<div class='card record' id='r{stem}'><a href='{link}'><img src='{image}' "
            f"alt='record {stem}'></a>"
            f"<div><b>#{stem}</b> fitness {entry.get('fitness', 0):.4f}{_look(entry)}</div>"
            f"<div>objective {entry.get('objective', 0):.4f} · residual "
            f"{entry.get('residual', 0):.4f}</div><div class='muted'>{top}</div>"
            f"<div class='muted'>generation {entry.get('generation')} · "
            f"{entry.get('elapsed', 0) / 60:.1f} min · {entry.get('nodes', '?')} nodes</div>"
            f"{_judge_line(entry)}{extra}"
            f"<details><summary>formula</summary><pre>{_e(formula)}</pre></details></div>")


def _look(entry: dict) -> str:
    """' · look: blue, detailed' for a record of a portfolio look's gain (search.portfolio)."""
    return f" · look: {_e(entry['look'])}" if entry.get("niche_record") and entry.get("look") \
        else ""


def _judge_line(entry: dict) -> str:
    """The record's held-out numbers (judge) and its training networks' on the same views."""
    judge = entry.get("judge")
    if not isinstance(judge, dict):
        return ""
    views = entry.get("training_views") or {}
    training = " · ".join(f"{_e(name.replace('efficientnet-', ''))} top-1 "
                          f"{row['top1_rate']:.2f}" for name, row in views.items())
    slope = entry.get("spectral_slope")
    return (f"<div class='card-judge'>judge {_e(judge['model'].replace('efficientnet-', ''))}"
            f" ({judge['views']} views): p {judge['probability']:.3f} · top-1 "
            f"{judge['top1_rate']:.2f} · rank {judge['median_rank']:.0f}</div>"
            f"<div class='muted'>{training}"
            f"{'' if slope is None else f' · slope {slope:.2f}'}</div>")


# --- explore archive and audit columns (written by evolve/explore_run.py and evolve/audit.py) --

def _audit_rows(run: RunDir) -> dict:
    """audit.json rows by key (record stem or cell class), or {} when the run has no audit."""
    data = run.optional_json(run.path / "audit.json", "audit", needed=("items",))
    try:
        return {str(row["key"]): row for row in data["items"]} if data else {}
    except (KeyError, TypeError):
        return _skip(run, "audit.json", "items without keys", {})


def _audit_line(row: dict | None) -> str:
    """audit.json's numbers for one image: per network top-1 rate, mean p, median rank."""
    if not row or not isinstance(row.get("models"), dict):
        return ""
    networks = " · ".join(f"{_e(name.replace('efficientnet-', ''))} top-1 "
                          f"{r['top1_rate']:.2f} p {r['probability']:.3f} rank "
                          f"{r['median_rank']:.0f}"
                          + (f" grey {r['grey']['top1_rate']:.2f}" if "grey" in r else "")
                          + (f" grounds {r['swap']['top1_rate']:.2f}" if "swap" in r else "")
                          for name, r in row["models"].items())
    cover = f" · coverage {row['coverage']:.2f}" if row.get("figure") else ""
    return (f"<div class='card-audit muted'>audit: {networks}{cover} · slope "
            f"{row.get('slope', float('nan')):.2f}</div>")


def _cells_section(run: RunDir, audit: dict) -> str:
    """MAP-Elites archive (archive.json): one card per occupied cell, by confidence."""
    data = run.optional_json(run.path / "archive.json", "archive", needed=("cells",))
    if data is None:
        return ""
    try:
        cards = _cell_cards(data["cells"], audit)
    except (KeyError, TypeError, ValueError, AttributeError):
        return _skip(run, "archive.json", "cells without their fields", "")
    return (f"<h2>Archive: {len(cards)} cells, by confidence</h2>{_figures_line(run)}"
            "<div class='grid' id='cells'>" + "".join(cards) + "</div>")


def _cell_cards(cells: dict, audit: dict) -> list[str]:
    cards = []
    for key, cell in sorted(cells.items(), key=lambda kv: -kv[1]["confidence"]):
        cards.append(f"<div class='card cell'><a href='{cell['image']}'><img loading='lazy' "
                     f"src='{cell['image']}' alt='{_e(cell['name'])}'></a>"
                     f"<div><b>{_e(cell['name'])}</b> ({key}) {cell['confidence']:.4f}</div>"
                     f"<div class='muted'>residual {cell['residual']:.4f} · generation "
                     f"{cell['generation']}</div>{_audit_line(audit.get(key))}"
                     f"<details><summary>formula</summary><pre>{_e(cell['formula'])}</pre>"
                     f"</details></div>")
    return cards


def _skip(run: RunDir, name: str, why: str, empty):
    """Note an unreadable run file (page and warning) and go on without it."""
    run.skipped.append(f"{run.path / name} ({why})")
    logger.warning("skipped unreadable %s (%s); restore it or delete it", run.path / name, why)
    return empty


def _figures_line(run: RunDir) -> str:
    """report.json's QD figures: coverage, median, QD score, network passes."""
    r = run.optional_json(run.path / "report.json", "report")
    if r is None:
        return ""
    try:
        at = r["at_least"]
        networks = ", ".join(r.get("networks") or ["?"])
        return (f"<p class='muted' id='figures'>cells with confidence ≥0.5: {at['0.5']} · "
                f"≥0.9: {at['0.9']} · ≥0.99: {at['0.99']} · median cell confidence "
                f"{r['median_confidence']:.4f} · QD score {r.get('qd_score', 0):.2f} · "
                f"{r['evaluations']} images scored by {_e(networks)} · network passes "
                f"{r.get('forward_passes', 0)} forward, {r.get('backward_passes', 0)} backward"
                f" ({r.get('passes_per_image', 1)} per scored image)</p>")
    except (KeyError, TypeError, ValueError):
        return _skip(run, "report.json", "figures missing", "")


def _extra_section(run: RunDir, folder: str, title: str) -> str:
    images = sorted((run.path / folder).glob("*.png")) if (run.path / folder).is_dir() else []
    if not images:
        return ""
    cards = []
    for path in images:
        meta = path.with_suffix(".json")
        caption = ""
        if meta.exists():
            try:
                data = json.loads(meta.read_text(encoding="utf-8"))
                caption = " · ".join(f"{k} {v:.4f}" for k, v in data.items()
                                     if isinstance(v, float))
            except (OSError, json.JSONDecodeError):
                caption = ""
        rel = f"{folder}/{path.name}"
        cards.append(f"<div class='card {folder}'><a href='{rel}'><img src='{rel}' "
                     f"alt='{_e(path.stem)}'></a><div>{_e(path.stem)}</div>"
                     f"<div class='muted'>{_e(caption)}</div></div>")
    return f"<h2>{_e(title)}</h2><div class='grid' id='{folder}'>" + "".join(cards) + "</div>"


def _e(text) -> str:
    return html.escape(str(text), quote=True)


# --- the plot ----------------------------------------------------------------------------------
