"""Plugins: a user's own objectives, spaces, datasets, strategies and evaluators, found by
name in every process that needs them (every MPI rank, every reader of a run).

Two ways, both recorded with the run:

- an installed package declares entry points in the groups below; an entry point's *name*
  is the name it registers, its *value* the module (``pkg.mod``, or ``pkg.mod:attr``)
  whose import registers it. It is imported the first time that name is looked up, in any
  process, so a run that uses it can be read and resumed wherever the package is installed;
- a config's ``plugins:`` lists modules imported whenever that config is built (by the
  search, on every rank, by ``xnas status`` and every reader: the list is in the stored
  config).

A plugin that cannot be imported is one line naming it (ConfigError, exit 2).
"""

from __future__ import annotations

import importlib
import importlib.metadata as md
from collections.abc import Iterable

from xnas.errors import ConfigError

# registry kind -> entry point group
GROUPS = {
    "objective": "xnas.objectives",
    "search space": "xnas.spaces",
    "dataset": "xnas.datasets",
    "strategy": "xnas.strategies",
    "evaluator": "xnas.evaluators",
}

_loaded: set[str] = set()


def import_plugin(module: str, what: str = "plugin") -> None:
    """Import ``module`` (``pkg.mod`` or ``pkg.mod:attr``) once; one line if it fails."""
    name = module.partition(":")[0]
    if name in _loaded:
        return
    try:
        importlib.import_module(name)
    except ImportError as exc:
        raise ConfigError(
            f"{what} {module!r} cannot be imported ({exc}); expected an importable module "
            "(pip install its package, or put its folder on PYTHONPATH)"
        ) from None
    _loaded.add(name)


def load_plugins(modules: Iterable[str]) -> None:
    """Import a config's ``plugins:`` list."""
    for module in modules:
        import_plugin(module, "plugin")


def entry_points(kind: str) -> dict[str, md.EntryPoint]:
    """The installed entry points for registry ``kind``, by the name they register."""
    group = GROUPS.get(kind)
    if group is None:
        return {}
    return {ep.name: ep for ep in md.entry_points(group=group)}


def load_entry_point(kind: str, name: str) -> bool:
    """Import the installed plugin that registers ``name`` of ``kind``; False if none."""
    ep = entry_points(kind).get(name)
    if ep is None:
        return False
    dist = f" of {ep.dist.name}" if ep.dist is not None else ""
    import_plugin(ep.value, f"entry point {name!r}{dist} ({GROUPS[kind]})")
    return True
