"""``parallel.ranks_per_eval``: data-parallel training of one candidate.

The oracle is one process: k ranks each training a strided 1/k of every batch (synced
BatchNorm, ``parallel.ddp_batchnorm: sync``; DDP's averaged gradients) must end with the
weights, validation accuracy and losses of one process training the whole batch.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from tests.conftest import REPO
from xnas.config import load_config
from xnas.data import cached_dataset
from xnas.evaluate.trainer import train
from xnas.space import get_space

MPIEXEC = Path(sys.executable).parent / "mpiexec"
EPOCHS, SEED = 2, 5
# a full cell, and one whose node 1 feeds nothing (a dead branch: parameters without a
# gradient, which DDP must leave untouched as one process does)
GENOMES = [
    "|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|avg_pool_3x3~0|nor_conv_3x3~1|nor_conv_1x1~2|",
    "|nor_conv_3x3~0|+|nor_conv_1x1~0|none~1|+|skip_connect~0|none~1|nor_conv_3x3~2|",
]

pytestmark = [
    pytest.mark.mpi,
    pytest.mark.slow,
    pytest.mark.skipif(not MPIEXEC.exists(), reason="needs the mpich wheel's mpiexec (make test)"),
]


def one_training(genome: str, shard=None):
    """(network, outcome) of the training both sides run: the network seeded, 100 images
    in batches of 32 (an uneven last batch of 4), SGD with Nesterov, weight decay and
    clipping; ``shard``: this rank's part of it."""
    cfg = load_config(
        None,
        [
            "space.name=nb201",
            "space.channels=4",
            "data.name=lines",
            "data.train_size=100",
            "data.val_size=60",
            "train.batch_size=32",
            "train.lr=0.1",
            "train.grad_clip=1.0",
            "train.weight_decay=0.001",
            "train.warmup_epochs=1",
        ],
    )
    bundle = cached_dataset(cfg.data)
    space = get_space(cfg.space)
    torch.manual_seed(SEED)
    model = space.build(space.parse(genome), bundle.input_shape, bundle.num_classes)
    outcome = train(
        model,
        bundle.train,
        bundle.val,
        cfg.train,
        epochs=EPOCHS,
        seed=SEED,
        device=torch.device("cpu"),
        augment=bundle.augment,
        shard=shard,
    )
    return model, outcome


def run(*cmd: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """A command from the repository root, output captured."""
    return subprocess.run(list(cmd), cwd=REPO, capture_output=True, text=True, timeout=timeout)


def search(
    config: str, run_dir, *sets: str, ranks: int | None = None, timeout: float = 600
) -> subprocess.CompletedProcess:
    """``xnas search CONFIG --set ... --run-dir RUN_DIR``, in this process's interpreter or
    under ``mpiexec -n ranks``."""
    launcher = [str(MPIEXEC), "-n", str(ranks)] if ranks else []
    cmd = [sys.executable, "-m", "xnas", "search", config, *sets, "--run-dir", str(run_dir)]
    return run(*launcher, *cmd, timeout=timeout)


@pytest.mark.parametrize("ranks", [2, 3])
@pytest.mark.parametrize("genome", GENOMES, ids=["full", "dead-branch"])
def test_k_ranks_with_a_shard_each_train_what_one_process_trains(tmp_path, genome, ranks):
    out = tmp_path / "ddp.pt"
    done = run(
        str(MPIEXEC),
        "-n",
        str(ranks),
        sys.executable,
        "-m",
        "tests.parallel.ddp_equivalence",
        str(out),
        genome,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    got = torch.load(out, weights_only=True)
    torch.set_num_threads(1)
    model, alone = one_training(genome)
    want = model.state_dict()
    assert got["state"].keys() == want.keys()
    for name, tensor in want.items():
        if tensor.dtype.is_floating_point:
            torch.testing.assert_close(
                got["state"][name], tensor, rtol=1e-4, atol=1e-5, msg=f"{name} differs"
            )
        else:
            assert torch.equal(got["state"][name], tensor), name
    assert got["curve"] == alone.curve  # the same validation accuracy, epoch by epoch
    assert got["losses"] == pytest.approx(alone.train_loss, rel=1e-5)


def test_local_batchnorm_ends_with_one_network_on_every_rank(tmp_path):
    """ddp_batchnorm local: shards normalise by their own statistics, so running moments
    drift apart; they are shared from rank 0 before each validation, so every rank (and
    the leader's saved network) ends with the same parameters and buffers."""
    out = tmp_path / "ddp.pt"
    done = run(
        str(MPIEXEC),
        "-n",
        "2",
        sys.executable,
        "-m",
        "tests.parallel.ddp_equivalence",
        str(out),
        GENOMES[0],
        "local",
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    a, b = (torch.load(f"{out}.rank{r}", weights_only=True) for r in (0, 1))
    for name in a:
        assert torch.equal(a[name], b[name]), name
    assert len(torch.load(out, weights_only=True)["curve"]) == EPOCHS


@pytest.fixture
def config(tmp_path) -> str:
    """The fault module's small search as a YAML file."""
    from tests.parallel.faults import SEARCH
    from xnas.config import to_dict

    path = tmp_path / "search.yaml"
    path.write_text(yaml.safe_dump(to_dict(load_config(None, SEARCH))))
    return str(path)


def test_a_search_with_two_ranks_per_evaluation_stores_what_one_process_stores(tmp_path, config):
    """mpiexec -n 3 with ranks_per_eval 2: one group (the driver sees one worker), every
    training spans both ranks, and the stored errors are one process's."""
    from xnas.store import RunStore

    def stored(run_dir, *extra, ranks=None):
        done = search(config, run_dir, *extra, "--set=parallel.threads_per_rank=1", ranks=ranks)
        assert done.returncode == 0, done.stderr[-3000:]
        with RunStore.open(run_dir) as store:
            return {r.key: r for _, _, r in store.results()}

    alone = stored(tmp_path / "serial")
    grouped = stored(
        tmp_path / "ddp",
        "--set=parallel.ranks_per_eval=2",
        "--set=parallel.ddp_batchnorm=sync",
        ranks=3,
    )
    assert grouped.keys() == alone.keys()
    trained = [r for r in grouped.values() if r.status == "ok" and r.epochs]
    assert trained
    for r in trained:
        assert r.rank == 1  # the group's leader reports; the follower never does
        assert r.timings["train_ranks"] == 2
        assert r.objectives["error"] == pytest.approx(alone[r.key].objectives["error"], abs=1e-9)
        assert r.train_loss == pytest.approx(alone[r.key].train_loss, rel=1e-4)


def test_rungs_resume_their_training_across_the_group_as_in_one_process(tmp_path, config):
    """cost.fidelity with ranks_per_eval 2: a promoted rung's job carries its optimizer
    state (megabytes, not a 32 KiB message) to the follower, and statuses, epochs and
    curves equal a serial run's."""
    from xnas.store import RunStore

    fid = [
        "--set=cost.fidelity=true",
        "--set=cost.rungs=2",
        "--set=train.epochs=3",
        "--set=search.population=6",
        "--set=parallel.threads_per_rank=1",
    ]

    def final(run_dir, *extra, ranks=None):
        done = search(config, run_dir, *fid, *extra, ranks=ranks)
        assert done.returncode == 0, done.stderr[-3000:]
        with RunStore.open(run_dir) as store:
            return {r.key: (r.status, r.epochs, r.curve) for _, _, r in store.results()}

    grouped = final(
        tmp_path / "ddp",
        "--set=parallel.ranks_per_eval=2",
        "--set=parallel.ddp_batchnorm=sync",
        ranks=3,
    )
    alone = final(tmp_path / "serial")
    assert grouped == alone
    assert {s for s, _, _ in grouped.values()} == {"ok", "partial"}


def test_ranks_that_do_not_form_whole_groups_are_one_clear_line(tmp_path, config):
    done = search(config, tmp_path / "run", "--set=parallel.ranks_per_eval=2", ranks=4, timeout=300)
    assert done.returncode == 2
    assert "parallel.ranks_per_eval: 2 ranks per evaluation need 1 + a multiple of 2" in done.stderr
    assert not (tmp_path / "run" / "xnas.sqlite").exists()


def test_a_group_training_that_times_out_frees_the_follower_for_the_next(tmp_path, config):
    """The leader's alarm ends a data-parallel training mid-epoch: it is stored as a
    timeout, the follower leaves the broken collective and trains the next candidate (a
    follower left waiting would hang the job, which the subprocess timeout catches)."""
    from xnas.store import RunStore

    run_dir = tmp_path / "run"
    done = search(
        config,
        run_dir,
        "--set=parallel.ranks_per_eval=2",
        "--set=parallel.task_timeout=2",
        "--set=space.channels=16",
        "--set=data.train_size=2000",
        "--set=train.epochs=3",
        "--set=search.generations=1",
        ranks=3,
        timeout=300,
    )
    assert done.returncode == 1, done.stderr[-3000:]  # every evaluation failed: never exit 0
    with RunStore.open(run_dir) as store:
        kinds = [r.failure for _, _, r in store.results()]
    assert kinds == ["timeout"] * 4
