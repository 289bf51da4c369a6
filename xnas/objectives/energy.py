"""`energy`: millijoules per inference — measured where a counter exists, else modelled.

Sources, in the order `energy_source: auto` tries them:
- ``nvml``: the GPU's total-energy counter (nvidia-ml-py), read around repeated
  inferences on a CUDA device.
- ``rapl``: Intel/AMD RAPL package counter under /sys/class/powercap, where readable.
  It covers the whole package (idle and other processes included): a measured upper
  bound, labelled so.
- ``model``: an analytical estimate, never presented as measured:
  MACs x E_MAC + bytes moved x E_DRAM_BYTE, with 45 nm figures from M. Horowitz,
  "Computing's energy problem (and what we can do about it)", ISSCC 2014:
  FP32 multiply 3.7 pJ + FP32 add 0.9 pJ per MAC, and a 32-bit DRAM access of
  640 pJ (as tabulated from Horowitz by Han et al., EIE, ISCA 2016) = 160 pJ/byte.
  Bytes moved = FP32 weights read once + every tensor the forward pass materialises
  (new storage: no views, in-place results or identities) written and read once + input.
"""

from __future__ import annotations

import time
from pathlib import Path

import torch
from torch import nn

from xnas.objectives.base import EvalContext, Measurement
from xnas.objectives.complexity import flops_of

PJ_PER_MAC = 3.7 + 0.9
PJ_PER_DRAM_BYTE = 640.0 / 4
RAPL_ROOT = Path("/sys/class/powercap")
CITATION = "Horowitz, ISSCC 2014 (45 nm): 4.6 pJ/FP32 MAC, 640 pJ/32-bit DRAM access"


def bytes_moved(model: nn.Module, input_shape: tuple[int, int, int]) -> int:
    """Bytes one batch-1 forward pass moves: parameters read once, the input, and every
    tensor the pass really materialises written once and read once.

    Every aten op's outputs are seen through a dispatch mode (the mechanism of torch's
    own FlopCounterMode); an output is counted only if its storage is new, so views,
    in-place ops and ``nn.Identity`` (which returns its input) move nothing, while the
    sums and concatenations inside cells, done outside any module, are counted.
    Outputs are kept alive until the pass ends so that no storage address is reused.
    """
    from torch.utils._python_dispatch import TorchDispatchMode

    seen: dict[int, torch.Tensor] = {}
    produced = 0

    class Materialised(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            nonlocal produced
            out = func(*args, **(kwargs or {}))
            for t in out if isinstance(out, tuple | list) else (out,):
                if isinstance(t, torch.Tensor) and t.numel():
                    ptr = t.untyped_storage().data_ptr()
                    if ptr not in seen:
                        seen[ptr] = t
                        produced += t.untyped_storage().nbytes()
            return out

    was = model.training
    model.eval()
    try:
        device = next(model.parameters()).device
        x = torch.zeros((1, *input_shape), device=device)
        for t in (x, *model.parameters(), *model.buffers()):
            seen[t.untyped_storage().data_ptr()] = t
        with torch.no_grad(), Materialised():
            model(x)
    finally:
        model.train(was)
        seen.clear()
    params = sum(p.numel() * p.element_size() for p in model.parameters())
    return params + 2 * produced + x.numel() * x.element_size()


def modelled_energy(ctx: EvalContext) -> Measurement:
    macs = flops_of(ctx) / 2
    moved = bytes_moved(ctx.model, ctx.input_shape)
    mj = (macs * PJ_PER_MAC + moved * PJ_PER_DRAM_BYTE) * 1e-9
    return Measurement(
        mj,
        {
            "energy_source": "model",
            "method": "modelled (not measured)",
            "macs": macs,
            "bytes_moved": moved,
            "pj_per_mac": PJ_PER_MAC,
            "pj_per_dram_byte": PJ_PER_DRAM_BYTE,
            "reference": CITATION,
        },
    )


def _run_inferences(ctx: EvalContext, min_seconds: float) -> int:
    """Run batch-1 inferences for at least ``min_seconds`` (counters tick coarsely)."""
    x = torch.randn((1, *ctx.input_shape), device=ctx.device)
    sync = torch.cuda.synchronize if ctx.device.type == "cuda" else (lambda: None)
    was = ctx.model.training
    ctx.model.eval()
    n = 0
    start = time.perf_counter()
    with torch.inference_mode():
        while n < ctx.measure.energy_repeats or time.perf_counter() - start < min_seconds:
            ctx.model(x)
            n += 1
        sync()
    ctx.model.train(was)
    return n


def rapl_domains() -> list[Path]:
    if not RAPL_ROOT.is_dir():
        return []
    found = []
    for d in sorted(RAPL_ROOT.glob("intel-rapl:*")):
        if d.name.count(":") == 1 and (d / "energy_uj").is_file():
            try:
                int((d / "energy_uj").read_text())
                found.append(d)
            except (OSError, ValueError):
                continue
    return found


def rapl_energy(ctx: EvalContext) -> Measurement | None:
    domains = rapl_domains()
    if not domains or ctx.device.type != "cpu":
        return None

    def read() -> list[int]:
        return [int((d / "energy_uj").read_text()) for d in domains]

    ranges = [int((d / "max_energy_range_uj").read_text()) for d in domains]
    before = read()
    n = _run_inferences(ctx, min_seconds=0.5)
    after = read()
    uj = sum((a - b) % r for a, b, r in zip(after, before, ranges, strict=True))
    return Measurement(
        uj / 1e3 / n,
        {
            "energy_source": "rapl",
            "method": "measured (CPU package counter; includes idle and other processes)",
            "domains": [d.name for d in domains],
            "inferences": n,
            "threads": torch.get_num_threads(),
        },
    )


def nvml_ids(props) -> list[tuple[str, str]]:
    """NVML identifiers of a CUDA device from its torch properties, most specific first.

    CUDA's index counts only the devices ``CUDA_VISIBLE_DEVICES`` leaves visible, while
    NVML's index counts every GPU on the node, so the two agree only by chance; the UUID
    and the PCI bus id name the same physical GPU in both.
    """
    ids = []
    uuid = str(getattr(props, "uuid", "") or "")
    if uuid:
        ids.append(("uuid", uuid if uuid.startswith(("GPU-", "MIG-")) else f"GPU-{uuid}"))
    if hasattr(props, "pci_bus_id"):
        domain = getattr(props, "pci_domain_id", 0)
        ids.append(("pci", f"{domain:08x}:{props.pci_bus_id:02x}:{props.pci_device_id:02x}.0"))
    return ids


def nvml_handle(pynvml, device: torch.device):
    """The NVML handle of ``device``'s physical GPU (by UUID, else PCI bus id), or None."""
    props = torch.cuda.get_device_properties(device)
    for kind, ident in nvml_ids(props):
        try:
            if kind == "uuid":
                return pynvml.nvmlDeviceGetHandleByUUID(ident), kind, ident
            return pynvml.nvmlDeviceGetHandleByPciBusId(ident), kind, ident
        except pynvml.NVMLError:
            continue
    return None


def nvml_energy(ctx: EvalContext) -> Measurement | None:
    if ctx.device.type != "cuda":
        return None
    try:
        import pynvml
    except ImportError:
        return None
    try:
        pynvml.nvmlInit()
        found = nvml_handle(pynvml, ctx.device)
        if found is None:
            return None
        handle, kind, ident = found
        before = pynvml.nvmlDeviceGetTotalEnergyConsumption(handle)  # mJ since driver load
        n = _run_inferences(ctx, min_seconds=1.0)
        after = pynvml.nvmlDeviceGetTotalEnergyConsumption(handle)
        name = pynvml.nvmlDeviceGetName(handle)
    except pynvml.NVMLError:
        return None
    return Measurement(
        (after - before) / n,
        {
            "energy_source": "nvml",
            "method": "measured (GPU total energy counter; includes the GPU's idle power)",
            "device": str(ctx.device),
            "device_name": name if isinstance(name, str) else name.decode(),
            "nvml_device": f"{kind} {ident}",
            "inferences": n,
        },
    )


def energy_objective(ctx: EvalContext) -> Measurement:
    source = ctx.measure.energy_source
    tried: list[str] = []
    for name, fn in (("nvml", nvml_energy), ("rapl", rapl_energy)):
        if source in ("auto", name):
            result = fn(ctx)
            if result is not None:
                return result
            tried.append(name)
    if source not in ("auto", "model"):
        raise RuntimeError(f"energy_source {source!r} is not available on {ctx.device}")
    result = modelled_energy(ctx)
    result.how["counters_tried"] = tried
    return result
