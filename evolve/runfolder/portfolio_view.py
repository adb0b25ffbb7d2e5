"""The gallery's portfolio: the best record alone, then one card per lineage (the last record of
each restart's picture) and one per look (niche) — the latest record of each, distinct pictures
a person can choose from. Built from records' JSON only (`lineage`, `niche`, `look`,
`niche_record`, written by runfolder.session with search.portfolio)."""
from __future__ import annotations

import html


def lineage_finals(records: list[dict]) -> list[dict]:
    """The last record the best's path wrote in each lineage (records of a look's gain aside),
    by lineage."""
    finals: dict[int, dict] = {}
    for record in records:
        if not record.get("niche_record"):
            finals[int(record.get("lineage", 0))] = record
    return [finals[k] for k in sorted(finals)]


def portfolio_looks(records: list[dict]) -> tuple[dict | None, list[dict]]:
    """(the best record, the latest record of each other look, by held-out score then fitness).
    The best is the fittest lineage's last record (one lineage: the last record of the best's
    path)."""
    best = max(lineage_finals(records), key=lambda r: r.get("fitness", 0.0), default=None)
    latest: dict[int, dict] = {}
    for record in records:
        if record.get("niche") is not None and record.get("niche_record"):
            latest[int(record["niche"])] = record
    best_look = None if best is None else best.get("niche")     # its look's older records
    looks = [r for n, r in latest.items() if n != best_look]
    return best, sorted(looks, key=lambda r: (-_judge_p(r), -r.get("fitness", 0.0)))


def portfolio_section(records: list[dict]) -> str:
    """HTML: 'Portfolio: N looks', the best large, then a grid of the other lineages' pictures
    and one of looks; '' with one lineage and no looks."""
    best, looks = portfolio_looks(records)
    others = [r for r in lineage_finals(records) if r is not best]
    if not looks and not others:
        return ""
    top = "" if best is None else (f"<div class='card portfolio-best' style='max-width:420px'>"
                                   f"{_card_body(best, 'best')}</div>")
    lineages = "" if not others else (
        f"<h3>{len(others) + 1} lineages</h3><p class='muted'>the last record of every other "
        "lineage (a restart's new picture, --restart-mode lineage)</p><div class='grid' "
        "id='lineages'>" + "".join(f"<div class='card lineage'>"
                                   f"{_card_body(r, 'lineage ' + str(r.get('lineage', 0)))}"
                                   f"</div>" for r in others) + "</div>")
    cards = "".join(f"<div class='card look'>{_card_body(r, r.get('look', ''))}</div>"
                    for r in looks)
    return (f"<h2>Portfolio: {len(looks) + (best is not None)} looks</h2>"
            "<p class='muted'>the best record, then the latest record of every other look "
            "(dominant hue × detail) whose best reached --portfolio-bar</p>"
            f"{top}{lineages}<div class='grid' id='portfolio'>{cards}</div>")


def _card_body(record: dict, title: str) -> str:
    stem = record["stem"]
    judge = "" if _judge_p(record) < 0 else f" · judge p {_judge_p(record):.3f}"
    look = record.get("look")
    title = f"{title} ({look})" if title == "best" and look else title
    return (f"<a href='#r{_e(stem)}'><img src='records/{_e(stem)}.png' alt='look {_e(stem)}'>"
            f"</a><div><b>{_e(title)}</b> #{_e(stem)}</div><div class='muted'>fitness "
            f"{record.get('fitness', 0.0):.3f}{judge} · generation {record.get('generation')}"
            f"</div>")


def _judge_p(record: dict) -> float:
    judge = record.get("judge")
    return float(judge["probability"]) if isinstance(judge, dict) else -1.0


def _e(text) -> str:
    return html.escape(str(text), quote=True)
