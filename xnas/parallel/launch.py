"""What the launcher told this process (rank, world size), read without initialising MPI.

Importing mpi4py initialises MPI, so a plain ``xnas search`` never does: the world
size comes from the variables mpiexec/srun set (MPICH/Hydra and Slurm's PMI:
``PMI_SIZE``; Open MPI: ``OMPI_COMM_WORLD_SIZE``; MVAPICH; srun steps).
"""

from __future__ import annotations

import os

_SIZE_VARS = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE", "SLURM_STEP_NUM_TASKS")
_RANK_VARS = ("PMI_RANK", "OMPI_COMM_WORLD_RANK", "MV2_COMM_WORLD_RANK", "PMIX_RANK")


def world_size() -> int:
    """Ranks in this job (1 when not launched by an MPI launcher)."""
    for var in _SIZE_VARS:
        if os.environ.get(var, "").isdigit():
            return int(os.environ[var])
    if "PMIX_RANK" in os.environ:  # PMIx without a size variable: ask MPI itself
        from mpi4py import MPI

        return MPI.COMM_WORLD.Get_size()
    return 1


def world_rank() -> int:
    for var in _RANK_VARS:
        if os.environ.get(var, "").isdigit():
            return int(os.environ[var])
    if "SLURM_STEP_NUM_TASKS" in os.environ and os.environ.get("SLURM_PROCID", "").isdigit():
        return int(os.environ["SLURM_PROCID"])
    return 0
