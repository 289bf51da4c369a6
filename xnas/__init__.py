"""xnas: multi-objective evolutionary neural architecture search.

NSGA-II (pymoo, DEAP) over cell-based search spaces, scoring every network on task
error, introspectability, latency and energy at once, with evaluations spread over
MPI ranks. The Python API (``xnas.search``, ``xnas.open_run``, ``xnas.load_config``,
``xnas.resume``) is ``xnas.api``; docs/architecture.md maps the package.
"""

__version__ = "0.2.0"

from xnas.errors import ConfigError, DataError, GenomeError, StoreError, XnasError

_API = ("Callback", "GenerationSummary", "load_config", "open_run", "resume", "search")


def __getattr__(name: str):
    """The API functions, imported on first use so ``import xnas`` stays light."""
    if name in _API:
        from xnas import api

        return getattr(api, name)
    raise AttributeError(f"module 'xnas' has no attribute {name!r}")


__all__ = [
    "ConfigError",
    "DataError",
    "GenomeError",
    "StoreError",
    "XnasError",
    "__version__",
    *_API,
]
