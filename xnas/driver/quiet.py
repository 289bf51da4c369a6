"""The quiet pass: at the end of a search, the front's latencies are measured again on
the driver while every worker is idle (``measure.latency_quiet_pass``).

A latency measured during a search competes with the trainings on the same machine; the
re-measurement (same settings, same kind of device, the load per core recorded) is kept
beside the search-time value in the store's meta (``latency_quiet``: key -> value and how)
and shown by the tables next to it. The front itself is not changed: it was decided on the
search-time values. A resumed run measures only front members not measured before.
"""

from __future__ import annotations

import logging

from xnas.driver.policy import Search

log = logging.getLogger("xnas.driver")


def quiet_latency(search: Search, front: list[str]) -> int:
    """Measure the latency of every front member not measured yet; returns how many."""
    cfg = search.cfg
    recorded = [o.name for o in cfg.objectives]
    if "latency" not in recorded or not cfg.measure.latency_quiet_pass:
        return 0
    if not search.evaluator.trains or not front:
        return 0
    store = search.state.store
    done = dict(store.meta("latency_quiet", {}) or {})
    todo = [k for k in front if k not in done]
    if not todo:
        return 0
    import torch

    from xnas.data import cached_dataset
    from xnas.driver.tasks import derive_seed
    from xnas.nn.device import resolve_device
    from xnas.objectives.latency import measure_latency_as_configured

    bundle = cached_dataset(cfg.data)
    device = resolve_device(cfg.train.device)
    for key in todo:
        genome = search.state.rows[key].result.genome
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(derive_seed(cfg.search.seed, key))
            model = search.space.build(genome, bundle.input_shape, bundle.num_classes).to(device)
        try:
            measured = measure_latency_as_configured(model, bundle.input_shape, device, cfg.measure)
        except Exception as exc:  # one network that cannot be timed again sinks nothing
            log.warning("quiet latency of %s failed: %s", key, exc)
            done[key] = {"failed": f"{type(exc).__name__}: {exc}"[:300]}
        else:
            done[key] = {"value": measured.value, **measured.how, "pass": "quiet, end of search"}
        store.set_meta("latency_quiet", done)  # kept as it goes: a kill loses one at most
    log.info("re-measured the latency of %d front members while the workers were idle", len(todo))
    return len(todo)
