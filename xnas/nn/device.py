"""Which torch device a network runs on in this process: ``auto`` and ``cuda`` mean this
rank's own GPU where there are GPUs (one per rank: the only visible one when the launcher
pinned it, else node-local rank modulo GPUs per node), chosen once, when the first network
is built."""

from __future__ import annotations

import torch

from xnas.parallel import launch

_gpu: int | None = None  # the CUDA device this process pinned


def pin_gpu() -> int | None:
    """This rank's CUDA device, selected once; None where there is none."""
    global _gpu
    if not torch.cuda.is_available():
        return None
    if _gpu is None:
        count, local = torch.cuda.device_count(), launch.local_rank()
        _gpu = 0 if count == 1 or local is None else local % count
        torch.cuda.set_device(_gpu)
    return _gpu


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` falls back to the CPU; ``cpu``, ``cuda:N`` and ``mps`` are taken as named.
    The answer is remembered for the process (``launch.device``: a failed evaluation's
    record still says where it ran)."""
    if name in ("auto", "cuda"):
        gpu = pin_gpu()
        if gpu is not None:
            device = torch.device("cuda", gpu)
        else:  # "cuda" with no GPU: torch's own error when it is used
            device = torch.device("cpu" if name == "auto" else name)
    else:
        device = torch.device(name)
    launch.set_device(str(device))
    return device
