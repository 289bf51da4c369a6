"""Energy: the model counts only materialised tensors; NVML finds the physical GPU."""

from __future__ import annotations

from types import SimpleNamespace

import torch
from torch import nn

from xnas.config import SpaceConfig
from xnas.objectives.energy import bytes_moved, nvml_ids
from xnas.space import resolve_arch

F32 = 4


class ConvReluAdd(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1, bias=False)
        self.act = nn.ReLU()
        self.skip = nn.Identity()

    def forward(self, x):
        y = self.act(self.conv(x))
        return self.skip(y) + y.view(1, 4, 8, 8)  # identity and view: nothing new


def test_bytes_moved_by_hand():
    # params 3*4*9 once; input 3*8*8 once; conv, relu and add outputs (4*8*8 each)
    # written and read once; the identity and the view materialise nothing
    expected = F32 * (108 + 192 + 2 * 3 * 256)
    assert bytes_moved(ConvReluAdd(), (3, 8, 8)) == expected


def test_identities_and_inplace_ops_add_no_traffic():
    conv = nn.Conv2d(3, 4, 3, padding=1, bias=False)
    base = bytes_moved(nn.Sequential(conv), (3, 8, 8))
    assert bytes_moved(nn.Sequential(conv, *[nn.Identity() for _ in range(10)]), (3, 8, 8)) == base
    inplace = bytes_moved(nn.Sequential(conv, nn.ReLU(inplace=True)), (3, 8, 8))
    assert inplace == base  # relu_ writes into the conv's output


def test_all_skip_cell_is_not_charged_for_its_identities():
    """NB201's all-skip network: its cells only add tensors, so the model's traffic must
    be that of the same network with every cell removed plus the cells' sums."""
    cfg = SpaceConfig(name="nb201", channels=4, layers=1)
    space, genome = resolve_arch("nb201-all-skip", cfg)
    net = space.build(genome, (3, 16, 16), 10)
    moved = bytes_moved(net, (3, 16, 16))
    cells = [type(c).__name__ for c in net.cells]
    assert cells == ["NB201Cell", "ResidualReduction"] * 2 + ["NB201Cell"]
    # per cell, node 1 = x (identity), node 2 = x + x, node 3 = x + x + node 2: three new
    # tensors of the stage's shape (4x16x16, 8x8x8, 16x4x4)
    sums = sum(3 * c * side * side * F32 for c, side in ((4, 16), (8, 8), (16, 4)))
    net.cells = nn.Sequential(*[c for c in net.cells if type(c).__name__ != "NB201Cell"])
    assert moved == bytes_moved(net, (3, 16, 16)) + 2 * sums


def test_nvml_ids_use_uuid_then_pci_bus_id_never_the_cuda_index():
    # what torch reports for cuda:0 when CUDA_VISIBLE_DEVICES=2 exposes the node's third GPU
    props = SimpleNamespace(
        uuid="5f0a9c1e-1111-2222-3333-444455556666",
        pci_domain_id=0,
        pci_bus_id=0x3B,
        pci_device_id=0,
    )
    assert nvml_ids(props) == [
        ("uuid", "GPU-5f0a9c1e-1111-2222-3333-444455556666"),
        ("pci", "00000000:3b:00.0"),
    ]
    mig = SimpleNamespace(uuid="MIG-abc")
    assert nvml_ids(mig) == [("uuid", "MIG-abc")]


def test_model_energy_uses_the_materialised_count():
    from xnas.config import DataConfig, MeasureConfig
    from xnas.data import load_dataset
    from xnas.objectives import OBJECTIVES, EvalContext

    bundle = load_dataset(DataConfig(name="lines", train_size=40, val_size=20))
    cfg = SpaceConfig(name="nb201", channels=4, layers=1)
    space, genome = resolve_arch("nb201-all-skip", cfg)
    net = space.build(genome, bundle.input_shape, bundle.num_classes)
    ctx = EvalContext(net, bundle, torch.device("cpu"), MeasureConfig(energy_source="model"))
    m = OBJECTIVES.get("energy").compute(ctx)
    assert m.how["bytes_moved"] == bytes_moved(net, bundle.input_shape)
