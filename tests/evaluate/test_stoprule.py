"""The stop rule never stops a candidate that could still be on the front."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

from tests.conftest import cfg
from xnas.driver import make_task
from xnas.evaluate import evaluate
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
    stop, _ = check(rule, (0.5, 0.52, 0.53), 30, {})
    assert not stop  # introspection unknown: it might beat the front, so keep training
    assert optimistic_vector(rule.names, {}, 0.5)[1] == -np.inf


def test_a_curve_near_chance_is_never_stopped():
    rule = StopRule(("error", "params"), ((0.0, 0.0),), min_epochs=2)  # dominates anything
    ten_classes = (0.1, 0.11, 0.2, 0.25, 0.3, 0.32, 0.4, 0.5, 0.52)  # below 0.1 + 0.5 * 0.9
    for k in range(2, len(ten_classes) + 1):
        stop, prediction = check(rule, ten_classes[:k], 12, {"params": 1.0}, chance=0.1)
        assert not stop and prediction is not None
    stop, _ = check(rule, (0.1, 0.6, 0.62), 12, {"params": 1.0}, chance=0.1)
    assert stop  # well above chance, levelling off, and the front beats any accuracy


def test_a_curve_still_rising_fast_is_never_stopped():
    rule = StopRule(("error", "params"), ((0.0, 0.0),), min_epochs=2)
    # the last epoch closed (0.8 - 0.6) / 0.4 = 50% of the remaining error: keep going
    assert not check(rule, (0.3, 0.6, 0.8), 12, {"params": 1.0}, chance=0.1)[0]
    # 10%: levelling off
    assert check(rule, (0.3, 0.6, 0.64), 12, {"params": 1.0}, chance=0.1)[0]


def test_validation_noise_protects_candidates_within_one_standard_error():
    # the candidate's upper bound after 11 of 12 epochs is ~0.914 (error ~0.086); a front
    # member at error 0.07 beats that by less than the binomial standard error of 100
    # validation samples (~0.028), so no stop; measured on 10^7 samples it is a real gap
    curve = (0.85, 0.88, 0.89, 0.895, 0.897, 0.898, 0.899, 0.9, 0.9, 0.9, 0.9)
    upper = check(StopRule(("error",), (), 3), curve, 12, {})[1].upper
    assert 0.9 < upper < 1 - 0.07
    rule = StopRule(("error", "params"), ((0.07, 1.0),), min_epochs=3)
    assert not check(rule, curve, 12, {"params": 2.0}, val_samples=100)[0]
    assert check(rule, curve, 12, {"params": 2.0}, val_samples=10**7)[0]


@pytest.mark.slow
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
    assert result.status == "stopped" and result.epochs == len(result.curve) < 12
    how = result.measurements["error"]
    assert how["method"] == "extrapolated" and how["predicted"] is True
    # the stored error is the optimistic bound the front dominated, not the median
    assert result.objectives["error"] == 1 - max(how["band"][1], max(result.curve))
    assert result.objectives["error"] <= 1 - how["predicted_final_accuracy"]
    assert how["at_epoch"] == result.epochs and how["target_epoch"] == 12
    assert max(result.curve) >= 0.1 + 0.25 * 0.9  # never stopped near chance
    assert result.objectives["introspection"] > 0  # computed on the weights it has


def test_a_donor_curve_lets_a_short_child_be_stopped_and_is_never_less_safe():
    """Inheritance + stop rule: a child trained 2 epochs (< min_epochs 3) could never be
    stopped alone; read as the continuation of its donor's curve it can, after 1 epoch."""
    rule = StopRule(("error",), ((0.01,),), min_epochs=3)  # a front at 99% accuracy
    donor = (0.6, 0.7, 0.72, 0.73)
    child = (0.71,)  # 1 epoch of 2, below its donor's best
    assert check(rule, child, 2, {}, chance=0.1)[0] is False  # alone: before min_epochs
    stop, prediction = check(rule, child, 2, {}, chance=0.1, prior=donor)
    assert stop is True
    assert prediction.at_epoch == 5 and prediction.target_epoch == 6  # counted from the donor
    # the optimistic bound starts from the donor's best: never below what the donor reached
    assert prediction.upper >= max(donor)
    # a front the donor's level could still beat: no stop
    assert check(StopRule(("error",), ((0.3,),), 3), child, 2, {}, 0.1, prior=donor)[0] is False
    # a child at chance is never stopped, whatever its donor reached (its own curve decides)
    assert check(rule, (0.1,), 2, {}, chance=0.1, prior=donor)[0] is False
    # a child rising far above its donor has not said where it ends
    assert check(rule, (0.95,), 2, {}, chance=0.1, prior=donor)[0] is False
    # the last epoch of the child's budget is never a stop decision
    assert check(rule, (0.71, 0.72), 2, {}, chance=0.1, prior=donor)[0] is False


@pytest.mark.slow
def test_the_driver_hands_an_inheriting_child_its_donors_curve(tmp_path):
    from xnas.driver import FunctionCallback, run_search

    seen = []
    run_search(
        cfg(
            "search.generations=2",
            "train.epochs=3",
            "cost.inherit=true",
            "cost.inherit_epochs=1",
            "cost.extrapolate=true",
            "cost.min_epochs=2",
        ),
        tmp_path / "r",
        callbacks=[FunctionCallback(on_launch=seen.append)],
    )
    from xnas.store import RunStore

    with RunStore.open(tmp_path / "r") as store:
        children = [t for t in seen if t.donor_key]
        assert children, "no inheriting child in two generations"
        for t in children:
            assert t.prior_curve == store.get(t.donor_key).curve and len(t.prior_curve) == 3
        assert all(t.prior_curve == () for t in seen if not t.donor_key)
