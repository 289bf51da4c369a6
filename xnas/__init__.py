"""xnas: multi-objective evolutionary neural architecture search.

NSGA-II (pymoo, DEAP) over cell-based search spaces, scoring every network on task
error, introspectability, latency and energy at once, with evaluations spread over
MPI ranks. See DESIGN.md in the project's shared folder for the architecture.
"""

__version__ = "0.1.0"

from xnas.errors import ConfigError, DataError, GenomeError, StoreError, XnasError

__all__ = ["ConfigError", "DataError", "GenomeError", "StoreError", "XnasError", "__version__"]
