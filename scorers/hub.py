"""Weight files for torchvision models: the torch hub cache first, then a bounded download.

Never hangs on the network: connecting (DNS included) must succeed within a few seconds and
every read has a socket timeout; any failure becomes ModelUnavailableError naming the fix.
"""
from __future__ import annotations

import logging
import os
import tempfile
import threading
import urllib.request
from pathlib import Path

import torch

from scorers.errors import ModelUnavailableError

log = logging.getLogger(__name__)

CONNECT_SECONDS = 5.0   # DNS + TCP + first response headers
READ_SECONDS = 10.0     # per socket read once the download runs


def checkpoint_dir() -> Path:
    """Where torchvision looks for weight files: $TORCH_HOME/hub/checkpoints."""
    return Path(torch.hub.get_dir()) / "checkpoints"


def cached_weight_file(url: str) -> Path | None:
    """The cached file for a weight URL, or None when it is not on this machine."""
    path = checkpoint_dir() / os.path.basename(url)
    return path if path.is_file() else None


def ensure_weight_file(name: str, url: str) -> Path:
    """The cached weight file for model `name`, downloading it first if needed.

    Raises:
        ModelUnavailableError: not cached and not downloadable within the time limits.
    """
    cached = cached_weight_file(url)
    if cached is not None:
        return cached
    target = checkpoint_dir() / os.path.basename(url)
    try:
        _download(url, target)
    except Exception as error:  # noqa: BLE001 - every failure gets the same how-to message
        log.info("download of %s failed: %r", url, error)
        fix = (f"python -c \"import torchvision; torchvision.models.get_model('{name}', "
               f"weights='DEFAULT')\"")
        raise ModelUnavailableError(
            f"weights for {name} are not cached in {target.parent} and could not be downloaded "
            f"({type(error).__name__}); run `{fix}` on a machine with internet, or copy "
            f"{url} to {target}") from None
    return target


def _download(url: str, target: Path) -> None:
    """Download url to target atomically; the connection must open within CONNECT_SECONDS."""
    opened: dict = {}
    ready = threading.Event()

    def connect() -> None:  # DNS lookups ignore socket timeouts, so connect in a thread
        try:
            opened["response"] = urllib.request.urlopen(url, timeout=READ_SECONDS)
        except Exception as error:  # noqa: BLE001 - handed to the caller below
            opened["error"] = error
        ready.set()

    threading.Thread(target=connect, daemon=True).start()
    if not ready.wait(CONNECT_SECONDS):
        raise TimeoutError(f"no connection to {url} within {CONNECT_SECONDS:.0f} s")
    if "error" in opened:
        raise opened["error"]
    target.parent.mkdir(parents=True, exist_ok=True)
    with opened["response"] as response, tempfile.NamedTemporaryFile(
            dir=target.parent, delete=False, suffix=".part") as part:
        try:
            while chunk := response.read(1 << 20):
                part.write(chunk)
            part.flush()
        except BaseException:
            os.unlink(part.name)
            raise
    os.replace(part.name, target)
