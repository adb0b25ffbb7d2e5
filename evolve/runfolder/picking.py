"""The gallery's picking: a person ticks the records that look most like the target, and the
page writes the `genart evolve TARGET --from …` command that breeds from them (issue 23).

Plain HTML and a few lines of JavaScript, no server: each card carries its formula file's
path, its own copyable command and a "pick" checkbox; a panel shows the command for the
ticked set. `index.html?pick=3,7` ticks records 3 and 7 on load (`c118` a cell), so a link
or a headless browser can tick boxes too. Paths are absolute and shell-quoted.
"""
from __future__ import annotations

import html
import os
import shlex
from pathlib import Path

PICK_STYLE = """.pick{margin-top:4px}.pick code{display:block;font-size:11px;word-break:break-all;
background:#f3f3f3;padding:2px 4px;border-radius:3px;user-select:all}
#picked{position:sticky;top:0;background:#fffbe6;border:1px solid #e6d9a0;padding:8px;
border-radius:6px;margin:1em 0;z-index:1}#pick-command{user-select:all;word-break:break-all}
.parent{max-width:230px}"""

# DOM order is the command's order; ?pick= keys are a card's data-key ("7", "c118").
PICK_SCRIPT = """<script>
(function () {
  var boxes = Array.prototype.slice.call(document.querySelectorAll('input.pick'));
  var out = document.getElementById('pick-command');
  if (!out) { return; }
  function update() {
    var picked = boxes.filter(function (b) { return b.checked; });
    document.getElementById('pick-count').textContent = picked.length;
    out.textContent = picked.length ? out.dataset.prefix + ' ' +
      picked.map(function (b) { return b.dataset.source; }).join(' ')
      : 'tick records to build the command';
  }
  var wanted = new URLSearchParams(window.location.search).get('pick');
  if (wanted) {
    var keys = wanted.split(',').map(function (k) { return k.trim().replace(/^0+(?=\\d)/, ''); });
    boxes.forEach(function (b) { if (keys.indexOf(b.dataset.key) >= 0) { b.checked = true; } });
  }
  boxes.forEach(function (b) { b.addEventListener('change', update); });
  var copy = document.getElementById('pick-copy');
  if (copy) {
    copy.addEventListener('click', function () {
      if (navigator.clipboard) { navigator.clipboard.writeText(out.textContent); }
    });
  }
  update();
})();
</script>"""


def command_prefix(target: str) -> str:
    """`genart evolve TARGET --from`, the target shell-quoted."""
    return f"genart evolve {shlex.quote(str(target))} --from"


def pick_controls(run_path: Path, file: Path, key: str, target: str) -> str:
    """A card's formula file (linked), its own command line and its pick checkbox."""
    source = shlex.quote(str(Path(file).resolve()))
    relative = Path(file).relative_to(run_path).as_posix()
    return (f"<div class='pick'><label><input type='checkbox' class='pick' data-key='{_e(key)}' "
            f"data-source='{_e(source)}'> pick</label> · <a href='{_e(relative)}'>"
            f"{_e(relative)}</a><code>{_e(command_prefix(target))} {_e(source)}</code></div>")


def pick_panel(target: str) -> str:
    """The sticky box with the command for the ticked records, and its copy button."""
    return (f"<style>{PICK_STYLE}</style><div id='picked'><b>Breed from your picks:</b> "
            f"<span id='pick-count'>0</span> ticked · <button id='pick-copy' type='button'>"
            f"copy</button><br><code id='pick-command' data-prefix='{_e(command_prefix(target))}'>"
            f"tick records to build the command</code></div>")


def parents_section(run_path: Path, config: dict) -> str:
    """The formulas this run was bred from (config.json's parents), each with where it came
    from, linked (and its picture when the source has one); '' for a run without parents."""
    parents = config.get("parents") or []
    if not parents:
        return ""
    sources = config.get("parent_sources") or ["formula text"] * len(parents)
    cards = []
    for number, (formula, source) in enumerate(zip(parents, sources)):
        cards.append(f"<div class='card parent' id='parent-{number}'>"
                     f"{_source_view(Path(run_path), str(source))}"
                     f"<details><summary>formula</summary><pre>{_e(formula)}</pre></details>"
                     f"</div>")
    return (f"<h2>Bred from {len(parents)} parent{'s' if len(parents) != 1 else ''}</h2>"
            "<div class='grid' id='parents'>" + "".join(cards) + "</div>")


def parent_links(config: dict) -> str:
    """A record card's line linking to the run's parents (every record descends from them)."""
    sources = config.get("parent_sources") or []
    if not config.get("parents"):
        return ""
    names = [_short_name(s) for s in sources] or [f"parent {i}" for i in
                                                  range(len(config["parents"]))]
    links = " · ".join(f"<a href='#parent-{i}'>{_e(n)}</a>" for i, n in enumerate(names))
    return f"<div class='muted parent-links'>bred from {links}</div>"


def _source_view(run_path: Path, source: str) -> str:
    """The parent's picture and a link to its file and to its run's gallery card."""
    if source == "formula text" or not os.path.isabs(source):
        return "<div class='muted'>from formula text</div>"
    path = Path(source)
    picture = path if path.suffix == ".png" else path.with_suffix(".png")
    href = lambda p: _e(Path(os.path.relpath(p, run_path)).as_posix())   # noqa: E731
    image = (f"<img src='{href(picture)}' alt='{_e(path.name)}'>" if picture.is_file() else "")
    gallery = path.parent.parent / "index.html"
    anchor = (f" · <a href='{href(gallery)}#r{_e(path.stem[:4])}'>its gallery</a>"
              if path.parent.name == "records" and gallery.is_file() else "")
    return (f"{image}<div><a href='{href(path)}'>{_e(_short_name(source))}</a>{anchor}</div>"
            f"<div class='muted' style='word-break:break-all'>{_e(source)}</div>")


def _short_name(source: str) -> str:
    """`A/records/0007.formula` → `A/0007`: the run and the record."""
    path = Path(source)
    if path.parent.name in ("records", "cells"):
        return f"{path.parent.parent.name}/{path.stem}"
    return path.name or source


def _e(text) -> str:
    return html.escape(str(text), quote=True)
