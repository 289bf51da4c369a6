"""Parallel efficiency of the MPI executor, all in one run on this machine.

``python benchmarks/bench_mpi.py`` starts real ``mpiexec`` jobs (driver + 1 or 2
evaluator ranks, one torch thread each) of one small real search and prints JSON lines:

- ``speedup``: wall time of the search on 1 evaluator / on 2 (goal >= 1.8), for
  generational and steady-state mode, evaluations of similar cost (fixed epochs);
- ``driver_idle_cpu``: CPU seconds per wall second of a driver rank waiting on two
  evaluators that sleep (all its threads, mpi4py's polling manager included), and the
  submit->result round trip, for several ``parallel.poll_interval`` values (goal <= 0.05);
- ``driver_cpu``: the same over a whole real search (its own work included);
- ``dispatch``: the gap on a worker between returning one result and starting the
  next evaluation while work is waiting, relative to the mean evaluation (goal <= 1%);
- ``idle``: share of evaluator time not spent evaluating, generational vs steady-state,
  with epochs 1..5 by key so evaluation times vary about 5x (goal <= 10% steady-state).

Times come from the store (every result carries its worker's start/finish stamps)
and from the driver's own clock around ``run_search`` (process start-up excluded).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MPIEXEC = Path(sys.executable).parent / "mpiexec"
SEARCH = [
    "search.population=8",
    "search.generations=2",
    "search.seed=0",
    "space.name=nb201",
    "space.channels=8",
    "data.name=lines",
    "data.train_size=2000",
    "data.val_size=200",
    "train.epochs=2",
    "train.batch_size=32",
    "objectives=[error, params]",
]


@dataclass(frozen=True)
class VariedEpochs:
    """Real training for 1..5 epochs, chosen by the key: evaluation times vary ~5x."""

    def __call__(self, task):
        from xnas.evaluate import evaluate

        epochs = 1 + hashlib.sha256(task.key.encode()).digest()[0] % 5
        return evaluate(dataclasses.replace(task, epochs=epochs))


def child(run_dir: str, varied: str, *overrides: str) -> None:
    """One rank of an mpiexec job: the search, then (driver) its own clock and CPU."""
    from xnas.config import load_config
    from xnas.driver import run_search
    from xnas.evaluate import evaluate

    cfg = load_config(None, [*SEARCH, *overrides])
    fn = VariedEpochs() if varied == "1" else evaluate
    wall, cpu = time.perf_counter(), time.process_time()
    t0 = time.time()
    front = run_search(cfg, run_dir, evaluate_fn=fn)
    if front is not None:
        stats = {
            "wall": time.perf_counter() - wall,
            "cpu": time.process_time() - cpu,
            "t0": t0,
            "t1": time.time(),
        }
        Path(run_dir, "driver.json").write_text(json.dumps(stats))


def nap(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


def idle_child(poll_interval: str) -> None:
    """The executor alone: how much CPU does a driver burn while nothing arrives?"""
    from xnas.config import ParallelConfig
    from xnas.parallel import open_executor

    with open_executor(ParallelConfig(poll_interval=float(poll_interval))) as ex:
        if ex is None:
            return
        for f in [ex.submit(nap, 0.1) for _ in range(4)]:  # warm both workers
            f.result()
        wall, cpu = time.perf_counter(), time.process_time()
        for f in [ex.submit(nap, 3.0) for _ in range(ex.workers)]:
            f.result()
        rate = (time.process_time() - cpu) / (time.perf_counter() - wall)
        start, n = time.perf_counter(), 40
        for _ in range(n):
            ex.submit(nap, 0.0).result()
        trip = (time.perf_counter() - start) / n
        print(json.dumps({"cpu_per_wall": round(rate, 4), "round_trip_ms": round(1e3 * trip, 2)}))


def mpiexec(ranks: int, *args: str) -> str:
    """This script under ``mpiexec -n RANKS`` with ``args``; its standard output."""
    done = subprocess.run(
        [str(MPIEXEC), "-n", str(ranks), sys.executable, __file__, *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    if done.returncode != 0:
        raise SystemExit(f"mpiexec job failed:\n{done.stderr}")
    return done.stdout


def idle_job(poll_interval: float) -> dict:
    return json.loads(mpiexec(3, "--idle", str(poll_interval)).strip().splitlines()[-1])


def job(ranks: int, varied: bool, *overrides: str) -> dict:
    run_dir = tempfile.mkdtemp(prefix="bench-mpi-") + "/run"
    mpiexec(ranks, "--child", run_dir, "1" if varied else "0", *overrides)
    return analyse(run_dir, ranks - 1)


def analyse(run_dir: str, workers: int) -> dict:
    from xnas.store import RunStore

    driver = json.loads(Path(run_dir, "driver.json").read_text())
    with RunStore.open(run_dir) as store:
        results = [r for *_, r in store.results()]
    rows = [(r.rank, r.timings["started_at"], r.timings["finished_at"]) for r in results]
    durations = [f - s for _, s, f in rows]
    busy = sum(durations)
    gaps = []
    for rank in {r for r, _, _ in rows}:
        mine = sorted((s, f) for r, s, f in rows if r == rank)
        gaps += [b[0] - a[1] for a, b in zip(mine, mine[1:], strict=False)]
    return {
        "evaluations": len(rows),
        "wall_s": round(driver["wall"], 3),
        "driver_cpu_per_wall": round(driver["cpu"] / driver["wall"], 4),
        "idle_fraction": round(1 - busy / (workers * (driver["t1"] - driver["t0"])), 4),
        "eval_s_mean": round(statistics.mean(durations), 3),
        "eval_s_max_over_min": round(max(durations) / min(durations), 2),
        "gap_ms_median": round(1000 * statistics.median(gaps), 2) if gaps else None,
        "gaps": gaps,
        "mean_eval": statistics.mean(durations),
    }


def emit(name: str, **values) -> None:
    print(json.dumps({"bench": "mpi", "measure": name, **values}), flush=True)


def main() -> None:
    host = {"cores": os.cpu_count(), "threads_per_rank": 1, "launcher": str(MPIEXEC)}
    for poll in (0.0, 0.001, 0.002, 0.01):
        emit("driver_idle_cpu", poll_interval_s=poll, **idle_job(poll), goal=0.05)
    ss = "search.mode=steady_state"
    runs = {
        "gen_1": job(2, False),
        "gen_2": job(3, False),
        "ss_1": job(2, False, ss),
        "ss_2": job(3, False, ss),
        "gen_2_varied": job(3, True),
        "ss_2_varied": job(3, True, ss),
    }
    for mode, one, two in (("generational", "gen_1", "gen_2"), ("steady_state", "ss_1", "ss_2")):
        emit(
            "speedup",
            mode=mode,
            evaluations=runs[two]["evaluations"],
            wall_s_1_evaluator=runs[one]["wall_s"],
            wall_s_2_evaluators=runs[two]["wall_s"],
            speedup=round(runs[one]["wall_s"] / runs[two]["wall_s"], 3),
            eval_s_mean_1_evaluator=runs[one]["eval_s_mean"],
            eval_s_mean_2_evaluators=runs[two]["eval_s_mean"],
            goal=1.8,
            **host,
        )
    for name in ("gen_2", "ss_2"):
        emit("driver_cpu", run=name, cpu_per_wall=runs[name]["driver_cpu_per_wall"], goal=0.05)
    for name in ("ss_2", "ss_2_varied", "gen_2"):
        r = runs[name]
        gaps = r["gaps"]
        emit(
            "dispatch",
            run=name,
            gap_ms_median=r["gap_ms_median"],
            gap_ms_mean=round(1000 * statistics.mean(gaps), 2),
            eval_s_mean=r["eval_s_mean"],
            overhead_fraction=round(statistics.median(gaps) / r["mean_eval"], 5),
            goal=0.01,
        )
    for name in ("gen_2_varied", "ss_2_varied"):
        r = runs[name]
        emit(
            "idle",
            mode="steady_state" if name.startswith("ss") else "generational",
            idle_fraction=r["idle_fraction"],
            eval_s_max_over_min=r["eval_s_max_over_min"],
            evaluations=r["evaluations"],
            goal=0.10,
        )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(*sys.argv[2:])
    elif sys.argv[1:2] == ["--idle"]:
        idle_child(*sys.argv[2:])
    else:
        main()
