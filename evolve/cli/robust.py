"""The robust search's flags in use (issue 10): `--model` alone names the ensemble's one network,
and a flag the chosen mode ignores is refused in one line instead of silently dropped."""
from __future__ import annotations

from evolve.errors import RunError

ROBUST_ONLY = ("models", "views", "class_score", "ensemble", "margin_cap",  # unused by fooling
               "view_grey", "view_jitter", "view_blur", "view_thumb", "polish_thumb",
               "polish_blur")


def robust_values(values: dict, defaults, *, hint: str = "leave out --fooling") -> dict:
    """`values` (a config's settings from flags and file) with `--model NAME` alone (no
    --models) making NAME the robust search's one network, so the flag is never ignored;
    RunError for a robust-only setting changed while the fooling search is chosen."""
    fooling = values.get("fooling", defaults.fooling)
    layer = str(values.get("target", "")).strip().startswith("layer:")
    if fooling or layer:
        changed = [name for name in ROBUST_ONLY
                   if name in values and values[name] != getattr(defaults, name)]
        if changed:
            flag = "--" + changed[0].replace("_", "-")
            why = "a layer target scores one network on the whole image" if layer else \
                f"the fooling search scores --model alone on the whole image; {hint}"
            raise RunError(f"{flag} is ignored here: {why}")
        return values
    model = values.get("model", defaults.model)
    if model != defaults.model and values.get("models", defaults.models) == defaults.models:
        return {**values, "models": model}
    return values
