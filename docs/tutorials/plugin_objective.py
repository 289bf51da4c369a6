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
# # Your own objective as a plugin
#
# An objective is a function of the network (and, for `stage="trained"`, of its trained
# weights) that returns a `Measurement`. Its **provenance** is declared, never assumed: here
# we count something, so it is `counted`. Put it in a module, list the module under
# `plugins:` in the config, and every process that touches the run imports it: the search,
# every MPI rank, and every later `xnas status`, `table` or `plot` (the list is stored with
# the run). An installed package can declare an entry point instead (see
# [Plugins](../plugins.md)).

# %%
import os
import subprocess
import sys
import textwrap
from pathlib import Path

out = Path(os.environ.get("XNAS_TUTORIAL_OUT", "runs/tutorials")).resolve() / "plugin"
out.mkdir(parents=True, exist_ok=True)
(out / "my_objectives.py").write_text(
    textwrap.dedent(
        '''
        """A user's objective: how many convolutions the network has."""
        from torch import nn

        from xnas.objectives import Measurement, register_objective


        @register_objective(
            "convs", sense="min", stage="static", provenance="counted", label="convolutions"
        )
        def convs(ctx):
            n = sum(isinstance(m, nn.Conv2d) for m in ctx.model.modules())
            return Measurement(float(n), {"method": "counted nn.Conv2d modules"})
        '''
    )
)
sys.path.insert(0, str(out))  # the module must be importable (PYTHONPATH, or pip install)

# %% [markdown]
# A small real search on XNAS's synthetic `lines` task: NB201 cells at 4 channels, one
# epoch each, searching error against our new objective.

# %%
import xnas

cfg = xnas.load_config(
    None,
    {
        "plugins": ["my_objectives"],
        "objectives": ["error", "convs"],
        "space.channels": 4,
        "data.name": "lines",
        "data.train_size": 240,
        "data.val_size": 120,
        "train.epochs": 1,
        "search.population": 6,
        "search.generations": 2,
    },
)
run = xnas.search(cfg, out / "run", progress=False)
run.front_frame()

# %% [markdown]
# The provenance travels with every value:

# %%
run.frame()[["convs", "convs_provenance", "error", "error_provenance"]].head()

# %% [markdown]
# A reader in a fresh process finds the objective through the stored config:

# %%
env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(out), os.environ.get("PYTHONPATH", "")])}
done = subprocess.run(
    [sys.executable, "-m", "xnas", "status", str(out / "run")],
    capture_output=True,
    text=True,
    env=env,
    check=True,
)
print(done.stdout)
