"""The latency LUT's file (``xnas latency-table``): read and checked against a search's
space, without torch (a config is checked before anything heavy is imported)."""

from __future__ import annotations

import functools
import json
from dataclasses import asdict
from pathlib import Path

import numpy as np

from xnas.config import SpaceConfig
from xnas.errors import ConfigError

FORMAT = "xnas-latency-table"
VERSION = 1


def bad_table(path: str | Path, what: str) -> ConfigError:
    return ConfigError(
        f"latency table {path}: {what}; expected a file written by `xnas latency-table` "
        "for this search's space"
    )


@functools.lru_cache(maxsize=4)
def _read(path: str, mtime: float) -> dict:
    try:
        table = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise bad_table(path, "no such file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise bad_table(path, f"not readable JSON ({type(exc).__name__})") from None
    if not isinstance(table, dict) or table.get("format") != FORMAT:
        raise bad_table(path, f"no 'format: {FORMAT}' field")
    if table.get("version") != VERSION:
        raise bad_table(path, f"version {table.get('version')!r}, this xnas reads {VERSION}")
    entries, model = table.get("entries"), table.get("model")
    if not isinstance(entries, dict) or not entries or not isinstance(model, dict):
        raise bad_table(path, "no entries or no model")
    values = [*entries.values(), model.get("scale"), model.get("overhead_ms")]
    if not all(isinstance(v, int | float) and np.isfinite(v) for v in values):
        raise bad_table(path, "an entry or the model is not a finite number")
    return table


def load_table(path: str | Path, space: SpaceConfig) -> dict:
    """The table at ``path``, checked to be a LUT for ``space`` (one-line ConfigError)."""
    try:
        mtime = Path(path).stat().st_mtime
    except OSError:
        raise bad_table(path, "no such file") from None
    table = _read(str(path), mtime)
    if table.get("space") != json.loads(json.dumps(asdict(space))):
        theirs = table.get("space", {})
        raise bad_table(
            path,
            f"measured for space {theirs.get('name')!r} ({_short(theirs)}), "
            f"but the search uses {space.name!r} ({_short(asdict(space))})",
        )
    return table


def _short(space: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(space.items()) if k != "name" and v)
