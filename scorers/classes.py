"""ImageNet class names (offline, from torchvision's weight metadata) and class queries."""
from __future__ import annotations

import difflib
import functools
import re

from scorers.errors import UnknownClassError


@functools.lru_cache(maxsize=1)
def imagenet_classes() -> list[str]:
    """The 1000 ImageNet-1k class names in index order, as torchvision ships them."""
    from torchvision.models import EfficientNet_B0_Weights

    return list(EfficientNet_B0_Weights.DEFAULT.meta["categories"])


def resolve_classes(query: str, class_names: list[str] | None = None) -> list[int]:
    """Class indices a query names, sorted.

    A query is an index (`118`), an exact name (`rock crab`), or a word or phrase matched as
    whole words (`crab` → the five crab classes, not `crabapple`). Commas join several queries.

    Raises:
        UnknownClassError: a part of the query matches nothing; the message lists close names.
    """
    names = imagenet_classes() if class_names is None else list(class_names)
    found: set[int] = set()
    for part in (p.strip() for p in str(query).split(",")):
        if not part:
            continue
        found.update(_resolve_one(part, names))
    if not found:
        raise UnknownClassError(f"empty class query {query!r}: give a class name such as "
                                "'crab' or an index such as 118")
    return sorted(found)


def _resolve_one(part: str, names: list[str]) -> list[int]:
    if re.fullmatch(r"\d+", part):
        index = int(part)
        if index >= len(names):
            raise UnknownClassError(f"class index {index} is out of range: the model has "
                                    f"{len(names)} classes (0..{len(names) - 1})")
        return [index]
    lowered = part.lower()
    exact = [i for i, name in enumerate(names) if name.lower() == lowered]
    if exact:
        return exact
    pattern = re.compile(r"\b" + r"\s+".join(map(re.escape, lowered.split())) + r"\b")
    words = [i for i, name in enumerate(names) if pattern.search(name.lower())]
    if words:
        return words
    vocabulary = {n.lower() for n in names} | {w for n in names for w in n.lower().split()}
    close = difflib.get_close_matches(lowered, sorted(vocabulary), n=5, cutoff=0.6)
    hint = ("closest: " + ", ".join(repr(c) for c in close)) if close else \
        "try `genart classes WORD` to search the class names"
    raise UnknownClassError(f"no ImageNet class matches {part!r}; {hint}")
