"""The stop rule never stops a candidate that could still be on the front."""

from __future__ import annotations

import dataclasses

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

from tests.test_run import cfg
from xnas.evaluate import evaluate, make_task
from xnas.evaluate.stoprule import StopRule, check, dominated, optimistic_vector
from xnas.space import get_space

unit = st.floats(0, 1, allow_nan=False)
vectors = st.lists(st.tuples(unit, unit, unit), min_size=1, max_size=8)


def non_dominated_by(front, vector) -> bool:
    """Independent reference: pymoo's non-dominated sorting of front + candidate."""
    F = np.array([*front, vector], dtype=float)
    return len(F) - 1 in NonDominatedSorting().do(F, only_non_dominated_front=True)


@settings(max_examples=300, deadline=None)
@given(front=vectors, candidate=st.tuples(unit, unit, unit))
def test_dominated_agrees_with_non_dominated_sorting(front, candidate):
    vector = np.array(candidate)
    if non_dominated_by(front, vector):
        assert not dominated(vector, tuple(front))
    else:
        assert dominated(vector, tuple(front)) or any(np.array_equal(p, vector) for p in front)


@settings(max_examples=40, deadline=None)
@given(
    front=st.lists(st.tuples(unit, st.floats(0, 1e5)), min_size=1, max_size=6),
    params=st.floats(0, 1e5),
    start=st.floats(0.05, 0.6),
    gain=st.floats(0, 0.4),
    rate=st.floats(0.1, 2),
)
def test_a_candidate_whose_optimistic_bound_is_non_dominated_is_never_stopped(
    front, params, start, gain, rate
):
    curve = tuple(start + gain * (1 - np.exp(-rate * np.arange(1, 5))))
    rule = StopRule(("error", "params"), tuple(front), min_epochs=3)
    stop, prediction = check(rule, curve, 20, {"params": params})
    assert prediction is not None
    best = max(prediction.upper, max(curve))
    optimistic = optimistic_vector(rule.names, {"params": params}, best)
    if non_dominated_by(front, optimistic):
        assert not stop


def test_objectives_known_only_after_training_are_assumed_at_their_best():
    rule = StopRule(("error", "introspection"), ((0.0, -1.0),), min_epochs=2)
    stop, _ = check(rule, (0.1, 0.12, 0.13), 30, {})
    assert not stop  # introspection unknown: it might beat the front, so keep training
    assert optimistic_vector(rule.names, {}, 0.5)[1] == -np.inf


def test_a_hopeless_candidate_stops_at_min_epochs_with_a_flagged_prediction():
    c = cfg(
        "data.name=digits",
        "train.epochs=12",
        "objectives=[error, params, introspection]",
    )
    space = get_space(c.space)
    task = make_task(c, space, space.sample(np.random.default_rng(0)))
    rule = StopRule(("error", "params"), ((0.0, 0.0),), min_epochs=3)  # dominates anything
    result = evaluate(dataclasses.replace(task, stop=rule))
    assert result.status == "stopped" and result.epochs == 3 and len(result.curve) == 3
    how = result.measurements["error"]
    assert how["method"] == "extrapolated" and how["predicted"] is True
    assert result.objectives["error"] == 1 - how["predicted_final_accuracy"]
    assert how["at_epoch"] == 3 and how["target_epoch"] == 12
    assert result.objectives["introspection"] > 0  # computed on the weights it has
