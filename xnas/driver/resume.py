"""Resuming a run: the stored config, the library versions it was run with, and the
replay check. No live state or RNG state is stored: resume rebuilds the strategy from
the seed and replays the stored history through ask/tell, checking every replayed
generation against its stored population."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

from xnas.config import Config, build
from xnas.errors import ConfigError, StoreError
from xnas.results import FAILURE_KINDS, failure_kind
from xnas.space import Genome
from xnas.store import RunStore

PACKAGES = ("xnas", "torch", "torchvision", "pymoo", "deap", "captum", "numpy")


def restore_state(strategy: str, mode: str, seed: int) -> dict:
    """What a generation row records about the strategy: how it is restored."""
    return {"strategy": strategy, "mode": mode, "seed": seed, "restore": "replay"}


def versions() -> dict[str, str]:
    """The installed versions of the packages a replay depends on, and the commit of the
    xnas source when it is a git checkout (``xnas_commit``: figures and tables cite it)."""
    import importlib.metadata as md

    from xnas import __version__

    out = {}
    for pkg in PACKAGES:
        try:
            out[pkg] = __version__ if pkg == "xnas" else md.version(pkg)
        except md.PackageNotFoundError:
            out[pkg] = "not installed"
    commit = source_commit()
    if commit:
        out["xnas_commit"] = commit
    return out


def source_commit() -> str | None:
    """The git commit of the xnas source this process runs (``+`` if edited), or None."""
    import subprocess

    root = Path(__file__).resolve().parents[2]
    if not (root / ".git").exists():
        return None
    try:
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short=10", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no", "xnas"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return head + ("+" if dirty else "") if head else None


def check_versions(stored: dict[str, str], installed: dict[str, str], run_dir) -> None:
    """Resume replays the history through the strategy; another library version may ask
    for other genomes, so a change is refused (``--allow-version-change`` overrides)."""
    for pkg in sorted(set(stored) | set(installed)):
        if pkg not in ("xnas", "xnas_commit") and stored.get(pkg) != installed.get(pkg):
            raise StoreError(
                f"{run_dir} was run with {pkg} {stored.get(pkg, 'absent')}, this is "
                f"{installed.get(pkg, 'absent')}; expected the same versions to replay it "
                "(xnas resume --allow-version-change continues if the replay still matches)"
            )


def check_replay(generation: int, asked: list[str], stored: tuple[str, ...]) -> None:
    """A replayed generation must ask for exactly the stored population."""
    if list(asked) == list(stored):
        return
    at = next(
        (i for i, (a, b) in enumerate(zip(asked, stored, strict=False)) if a != b),
        min(len(asked), len(stored)),
    )
    got = asked[at] if at < len(asked) else "nothing"
    want = stored[at] if at < len(stored) else "nothing"
    raise StoreError(
        f"resume: replaying generation {generation} asks for {got} at position {at}, the "
        f"store holds {want}; the stored history does not match this strategy "
        "(edited store, or another library version or platform)"
    )


# what a resume may change: the budget, never what was searched or how
BUDGET_KEYS = ("search.generations", "search.max_evaluations", "search.max_wall_time")


def stored_config(
    run_dir: str | Path, allow_version_change: bool = False, budget: Iterable[str] = ()
) -> Config:
    """The config a run was started with, checked for a resume here: the installed
    library versions must match the run's; the launcher of the resumed job decides serial
    or MPI, not the first one. ``budget`` (``KEY=VALUE`` for ``BUDGET_KEYS`` only) extends
    or shortens the search: ``search.generations=12`` continues a finished run."""
    from xnas.config import apply_overrides

    budget = list(budget)
    for item in budget:
        key = item.partition("=")[0].strip()
        if key not in BUDGET_KEYS:
            raise ConfigError(
                f"resume --set {key}: a resume changes the budget only; expected one of "
                f"{', '.join(BUDGET_KEYS)} (a different search is a new run)"
            )
    with RunStore.open(run_dir) as probe:
        cfg = build(Config, apply_overrides(probe.meta("config"), budget))
        if not allow_version_change:
            check_versions(probe.meta("versions", {}), versions(), run_dir)
    return replace(cfg, parallel=replace(cfg.parallel, backend="auto"))


def check_kinds(kinds: Iterable[str]) -> tuple[str, ...]:
    kinds = tuple(kinds)
    unknown = [k for k in kinds if k not in FAILURE_KINDS]
    if unknown:
        raise ConfigError(
            f"--retry-failed {unknown[0]!r}: expected failure kinds among "
            f"{', '.join(FAILURE_KINDS)}"
        )
    return kinds


def retire_failed(store: RunStore, kinds: tuple[str, ...]) -> list[tuple[Genome, str, int]]:
    """Take the failed results of ``kinds`` back (kept in the store's ``retired`` table)
    so that they are evaluated again, first, in the resumed run; returns their (genome,
    key, generation). The new results are stored in the generation the failures were, for
    the front, reports, reuse and donors; the strategy's history is not rewritten: a
    replay still tells it the failures it was told (like a retried trial in Optuna, the
    retry is new information, not a new past)."""
    if not kinds:
        return []
    failed = [(g, r) for g, _, r in store.results() if failure_kind(r) in kinds]
    if failed:
        last = store.last_generation()
        store.retire([r.key for _, r in failed], (-1 if last is None else last.generation) + 1)
    return [(r.genome, r.key, g) for g, r in failed]
