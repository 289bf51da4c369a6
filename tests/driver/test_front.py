"""The incremental archive against pymoo's non-dominated sorting (the oracle)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

from xnas.driver.front import Archive

small = st.integers(0, 6).map(float)  # coarse values: ties and duplicates are common


@settings(max_examples=300, deadline=None)
@given(points=st.lists(st.tuples(small, small, small), min_size=1, max_size=40))
def test_the_archive_front_is_the_first_non_dominated_front(points):
    archive = Archive(3)
    for i, p in enumerate(points):
        archive.add(f"k{i:03d}", p)
    F = np.asarray(points)
    expected = sorted(
        f"k{i:03d}" for i in NonDominatedSorting().do(F, only_non_dominated_front=True)
    )
    keys, vectors = archive.front()
    assert keys == expected
    assert np.array_equal(vectors, F[[int(k[1:]) for k in keys]])
    assert np.array_equal(archive.worst, F.max(axis=0)) and archive.count == len(points)
