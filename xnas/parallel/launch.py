"""What the launcher told this process (rank, world size, its node-local rank), read
without initialising MPI, and the torch threads that follow from it, applied without
importing torch before a network needs it (the rank's GPU: ``nn.device``).

Importing mpi4py initialises MPI, so a plain ``xnas search`` never does: the world
size comes from the variables mpiexec/srun set (MPICH/Hydra and Slurm's PMI:
``PMI_SIZE``; Open MPI: ``OMPI_COMM_WORLD_SIZE``; MVAPICH; srun steps).
"""

from __future__ import annotations

import os
import sys

SIZE_VARS = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE", "SLURM_STEP_NUM_TASKS")
RANK_VARS = ("PMI_RANK", "OMPI_COMM_WORLD_RANK", "MV2_COMM_WORLD_RANK", "PMIX_RANK")

_local_rank: int | None = None  # set by the MPI executor: this rank's index on its node
_device = ""  # the torch device this process evaluates on, once resolved (nn.device)


def world_size() -> int:
    """Ranks in this job (1 when not launched by an MPI launcher)."""
    for var in SIZE_VARS:
        if os.environ.get(var, "").isdigit():
            return int(os.environ[var])
    if "PMIX_RANK" in os.environ:  # PMIx without a size variable: ask MPI itself
        from mpi4py import MPI

        return MPI.COMM_WORLD.Get_size()
    return 1


def world_rank() -> int:
    for var in RANK_VARS:
        if os.environ.get(var, "").isdigit():
            return int(os.environ[var])
    if "SLURM_STEP_NUM_TASKS" in os.environ and os.environ.get("SLURM_PROCID", "").isdigit():
        return int(os.environ["SLURM_PROCID"])
    return 0


def launcher_threads() -> int:
    """Cores the launcher gave each rank (Slurm's --cpus-per-task), else 1."""
    value = os.environ.get("SLURM_CPUS_PER_TASK", "")
    return int(value) if value.isdigit() and int(value) > 0 else 1


def set_threads(n: int) -> None:
    """``n`` torch threads in this process: at once if torch is loaded, else when it is
    (torch reads ``OMP_NUM_THREADS`` at import), so a process that never builds a
    network never imports torch for it."""
    os.environ["OMP_NUM_THREADS"] = str(n)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(n)


def set_local_rank(rank: int) -> None:
    global _local_rank
    _local_rank = rank


def local_rank() -> int | None:
    """This rank's index on its node (set by the MPI executor; None in a serial run)."""
    return _local_rank


def set_device(name: str) -> None:
    global _device
    _device = name


def device() -> str:
    """The torch device this process evaluates on ("" before a network was built)."""
    return _device
