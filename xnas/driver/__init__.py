"""The search driver: one loop, two barrier policies, one writer of the run.

- ``run``: ``run_search`` (preflight -> store -> strategy -> loop) and its outcome;
- ``checks``: every pre-flight and cross-section check of a config, once;
- ``loop``: the one loop (tasks in flight, each result committed as it arrives);
- ``policy``, ``generational``, ``steady``: what to ask and when to tell;
- ``state``: the in-memory mirror of the run and the one writer of its results;
- ``tasks``: every task the run sends; ``fidelity``: rungs (ladder and its driving);
- ``invariants``: what a result must meet before it is stored;
- ``front``, ``termination``, ``callbacks``, ``resume``: small pure pieces.

Torch-free: a tabular search imports no torch (a network's module is imported by the
evaluator that builds it).
"""

from xnas.driver.callbacks import Callback, FunctionCallback, GenerationSummary
from xnas.driver.checks import check_config, preflight
from xnas.driver.run import SearchOutcome, run_search
from xnas.driver.tasks import derive_seed, make_task

__all__ = [
    "Callback",
    "FunctionCallback",
    "GenerationSummary",
    "SearchOutcome",
    "check_config",
    "derive_seed",
    "make_task",
    "preflight",
    "run_search",
]
