# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # A multi-objective search on MNIST under `mpiexec`
#
# Under `mpiexec -n N`, rank 0 drives the search and ranks 1..N-1 evaluate, one genome each
# at a time (one GPU per rank where GPUs exist; here, one CPU thread each). Every result is
# committed by the driver as it arrives, with the rank and host that ran it. This runs XNAS's
# error-vs-introspectability search on real MNIST (`../shared/data`), tiny: a 600-image subset,
# one epoch, two generations.
#
# A notebook cannot itself be an MPI job, so it launches one; in a terminal the same command
# is `mpiexec -n 3 xnas search ...` (or `experiments/xnas-mnist-mo/run.sh 3 RUN_DIR`, or the
# Slurm script `experiments/slurm.sbatch`).

# %%
import os
import shutil
import subprocess
import sys
from pathlib import Path

import xnas

REPO = Path(xnas.__file__).resolve().parents[1]
SHARED = Path(os.environ.get("XNAS_SHARED_DATA", REPO.parent / "shared" / "data"))
out = Path(os.environ.get("XNAS_TUTORIAL_OUT", "runs/tutorials")).resolve() / "mnist"
shutil.rmtree(out, ignore_errors=True)
mpiexec = Path(sys.executable).parent / "mpiexec"  # the mpich wheel's launcher (xnas[mpi])
out.mkdir(parents=True)
config = out / "config.yaml"  # what experiments/*/config.yaml look like, tiny
config.write_text(
    f"""\
data: {{name: mnist, root: {SHARED}, train_size: 600, val_size: 300}}
space: {{name: nb201, channels: 4}}
train: {{epochs: 1}}
search: {{population: 4, generations: 2}}
objectives: [error, introspection]
"""
)
cmd = [str(mpiexec), "-n", "3", sys.executable, "-m", "xnas", "search", str(config)]
cmd += ["--run-dir", str(out / "run")]
done = subprocess.run(cmd, capture_output=True, text=True)
print(done.stdout[-2000:])
assert done.returncode == 0, done.stderr[-2000:]

# %% [markdown]
# Which rank evaluated what, and the front (the store is read, not the job's output):

# %%
run = xnas.open_run(out / "run")
run.frame()[["rank", "status", "error", "introspection", "total_s"]]

# %%
from IPython.display import Image

print(run.table("front"))
Image(filename=str(run.plot_front()))
