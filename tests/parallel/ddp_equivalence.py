"""One network trained data-parallel by every rank of an MPI job:
``python -m tests.parallel.ddp_equivalence OUT GENOME [BATCHNORM]``. Rank 0 writes the
weights, curve and losses to OUT (BATCHNORM local: every rank also its network to
OUT.rankN). ``test_ddp`` trains the same network in one process with the whole batch and
compares."""

from __future__ import annotations

import sys

import torch
from mpi4py import MPI

from tests.parallel.test_ddp import one_training
from xnas.evaluate.ddp import mpi_store, process_group


def main(out: str, genome: str, batchnorm: str = "sync") -> None:
    comm = MPI.COMM_WORLD
    rank, size = comm.Get_rank(), comm.Get_size()
    torch.set_num_threads(1)
    sync = batchnorm == "sync"
    with process_group(rank, size, mpi_store(comm), torch.device("cpu"), 60, sync) as shard:
        model, outcome = one_training(genome, shard)
    if not sync:  # every rank's network, to show they end equal
        torch.save(model.state_dict(), f"{out}.rank{rank}")
    if rank == 0:
        torch.save(
            {"state": model.state_dict(), "curve": outcome.curve, "losses": outcome.train_loss}, out
        )


if __name__ == "__main__":
    main(*sys.argv[1:4])
