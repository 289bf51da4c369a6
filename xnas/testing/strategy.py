"""The strategy contract (``strategy.base``), checked on a cheap deterministic problem.

Told values come from a function of the genome (two conflicting objectives, one budget
constraint), so nothing is trained. Each check runs with the two barrier policies' batch
shapes: generational (ask ``POP``, tell them together) and steady-state (ask 1, tell each
alone), plus uneven batches.
"""

from __future__ import annotations

import numpy as np

from xnas.config import SpaceConfig
from xnas.space import SearchSpace, get_space
from xnas.strategy import STRATEGIES, Strategy
from xnas.summary import FAILED_F

POP = 8
SHAPES = {"generational": [POP], "steady": [1], "uneven": [3, 1, 5, 2]}
SPACE_NAMES = ("nb201", "micro")


def space_of(name: str) -> SearchSpace:
    return get_space(SpaceConfig(name=name, channels=4, layers=1))


def values(space: SearchSpace, genomes, fail_every: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(F, G): objectives 'size' and 'distance from an optimum' (conflicting), a budget
    constraint on size, and every ``fail_every``-th genome failed (infeasible)."""
    X = np.array(genomes, dtype=float)
    span = np.maximum(space.upper - space.lower, 1)
    u = (X - space.lower) / span
    f1 = u.mean(axis=1)
    f2 = np.abs(u - 0.7).mean(axis=1)
    F = np.stack([f1, f2], axis=1)
    G = np.zeros((len(genomes), 2))
    G[:, 1] = f1 - 0.8  # budget: size <= 0.8
    if fail_every:
        bad = np.arange(len(genomes)) % fail_every == 0
        F[bad] = FAILED_F
        G[bad, 0] = 1.0
    return F, G


def make(name: str, space: SearchSpace, seed: int = 0) -> Strategy:
    return STRATEGIES.get(name)(space, 2, 2, POP, seed)


def drive(
    name: str,
    space_name: str,
    evaluations: int = 3 * POP,
    seed: int = 0,
    fail_every: int = 0,
    shape: str = "generational",
) -> tuple[list[list[str]], Strategy, SearchSpace]:
    """Ask/tell ``evaluations`` genomes in batches of the shape's sizes (cycled)."""
    space = space_of(space_name)
    strategy = make(name, space, seed)
    asked: list[list[str]] = []
    sizes, i = SHAPES[shape], 0
    while sum(map(len, asked)) < evaluations:
        n = sizes[i % len(sizes)]
        genomes = strategy.ask(n)
        assert 1 <= len(genomes) <= n, f"ask({n}) returned {len(genomes)} genomes"
        asked.append([space.canonical(g) for g in genomes])
        strategy.tell(genomes, *values(space, genomes, fail_every))
        i += 1
    return asked, strategy, space


def check_deterministic(name: str, space_name: str, shape: str) -> None:
    """Same seed and told values, same asks; another seed, other asks."""
    a, _, _ = drive(name, space_name, shape=shape)
    b, _, _ = drive(name, space_name, shape=shape)
    assert a == b, "two runs with the same seed asked for different genomes"
    c, _, _ = drive(name, space_name, seed=1, shape=shape)
    assert c != a, "the seed does not matter"


def check_bounds(name: str, space_name: str, shape: str) -> None:
    """Every asked genome is in bounds and parses; the population stays capped."""
    space = space_of(space_name)
    strategy = make(name, space)
    for n in SHAPES[shape] * 6:
        genomes = strategy.ask(n)
        assert 1 <= len(genomes) <= n
        for g in genomes:
            assert len(g) == space.n_var
            assert all(lo <= v <= hi for v, lo, hi in zip(g, space.lower, space.upper, strict=True))
            assert space.parse(space.canonical(g)) is not None
        strategy.tell(genomes, *values(space, genomes))
    members = strategy.members()
    assert 1 <= len(members) <= POP, "the population is not capped by the batch sizes"


def check_refuses_empty_ask(name: str, space_name: str) -> None:
    try:
        make(name, space_of(space_name)).ask(0)
    except ValueError as exc:
        assert "n >= 1" in str(exc), exc
    else:
        raise AssertionError("ask(0) was accepted")


def check_failures_and_constraints(name: str, space_name: str, shape: str) -> None:
    """Failed (infeasible) results and a budget do not stop it from asking."""
    asked, _, _ = drive(name, space_name, evaluations=4 * POP, fail_every=3, shape=shape)
    assert sum(map(len, asked)) >= 4 * POP


def check_generational_replay(name: str, space_name: str) -> None:
    """A fresh strategy told the stored history asks next what the uninterrupted one did."""
    full, _, space = drive(name, space_name, evaluations=4 * POP)
    replay = make(name, space)
    for keys in full[:3]:
        genomes = replay.ask(POP)
        assert [space.canonical(g) for g in genomes] == keys
        replay.tell(genomes, *values(space, genomes))
    assert [space.canonical(g) for g in replay.ask(POP)] == full[3]


def check_steady_replay(name: str, space_name: str) -> None:
    """Steady-state resume tells the stored arrivals one by one (the asks that made them
    are not replayed: some were lost in flight), then reseeds: two resumes agree."""
    asked, _, space = drive(name, space_name, evaluations=20, shape="steady")
    arrivals = [space.parse(k[0]) for k in asked]
    nexts = []
    for _ in range(2):
        replay = make(name, space)
        for genome in arrivals:
            replay.tell([genome], *values(space, [genome]))
        replay.reseed(len(arrivals))
        members = sorted(map(space.canonical, replay.members()))
        nexts.append((members, [space.canonical(replay.ask(1)[0]) for _ in range(3)]))
    assert nexts[0] == nexts[1]


def check_improves(name: str, shape: str) -> None:
    """Not random: after 8 generations' worth of evaluations the best feasible 'distance'
    beats the random first ``POP``'s median (a weak check that told values are used)."""
    asked, _, space = drive(name, "nb201", evaluations=8 * POP, shape=shape)
    keys = [k for batch in asked for k in batch]
    F, G = values(space, [space.parse(k) for k in keys])
    feasible = (G <= 0).all(axis=1)
    first = float(np.median(F[:POP][feasible[:POP], 1]))
    later = F[POP:][feasible[POP:], 1]
    assert later.size and later.min() < first


def check_strategy(name: str, *, improves: bool = True) -> None:
    """Every check above, on both built-in spaces and every batch shape."""
    for space_name in SPACE_NAMES:
        check_refuses_empty_ask(name, space_name)
        check_generational_replay(name, space_name)
        check_steady_replay(name, space_name)
        for shape in SHAPES:
            check_deterministic(name, space_name, shape)
            check_bounds(name, space_name, shape)
            check_failures_and_constraints(name, space_name, shape)
    if improves:
        for shape in ("generational", "steady"):
            check_improves(name, shape)
