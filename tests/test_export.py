"""`xnas export --arch`: a trained front member as a torch.export program or ONNX."""

from __future__ import annotations

import pytest
import torch

from tests.conftest import cfg
from xnas.cli import main
from xnas.config import Config, build
from xnas.data import cached_dataset
from xnas.evaluate.inherit import load_weights
from xnas.space import get_space
from xnas.store import RunStore


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    from xnas.driver import run_search

    run_dir = tmp_path_factory.mktemp("export") / "r"
    front = run_search(cfg("search.generations=1"), run_dir).front
    return run_dir, front[0]


def rebuilt(run_dir, key):
    with RunStore.open(run_dir) as store:
        c = build(Config, store.meta("config"))
        result = store.get(key)
        weights = store.weights_file(result)
    bundle = cached_dataset(c.data)
    model = get_space(c.space).build(result.genome, bundle.input_shape, bundle.num_classes)
    model.load_state_dict(load_weights(weights))
    return model.eval(), bundle


@pytest.mark.slow
def test_pt2_gives_the_trained_networks_outputs_at_any_batch(run, tmp_path, capsys):
    run_dir, key = run
    out = tmp_path / "net.pt2"
    assert main(["export", str(run_dir), "--arch", key, "-o", str(out)]) == 0
    assert str(out) in capsys.readouterr().out
    model, bundle = rebuilt(run_dir, key)
    program = torch.export.load(str(out)).module()
    with torch.no_grad():
        for n in (1, 7):  # the batch axis stays dynamic
            x = bundle.val.x[:n]
            assert torch.allclose(program(x), model(x), atol=1e-6)


@pytest.mark.slow
def test_onnx_export_is_the_dynamo_exporters_valid_model_with_a_batch_axis(run, tmp_path):
    import onnx  # in the dev extras: make test installs it

    run_dir, key = run
    assert main(["export", str(run_dir), "--arch", key, "--format", "onnx"]) == 0
    (path,) = (run_dir / "export").glob("*.onnx")
    model = onnx.load(str(path))
    graph = model.graph
    assert [i.name for i in graph.input] == ["input"]
    assert graph.input[0].type.tensor_type.shape.dim[0].dim_param  # symbolic: the batch
    assert model.opset_import[0].version >= 18  # the dynamo exporter (TorchScript's: 17)


@pytest.mark.slow
def test_unknown_or_weightless_architectures_are_one_line_errors(run, capsys):
    run_dir, key = run
    assert main(["export", str(run_dir), "--arch", "|none~0|+|none~0|none~1|+|x|"]) == 2
    assert "no key of" in capsys.readouterr().err
    with RunStore.open(run_dir) as store:
        path = str(store.weights_file(store.get(key)))
    moved = path + ".away"
    import os

    os.replace(path, moved)
    try:
        assert main(["export", str(run_dir), "--arch", key]) == 2
        assert "no trained weights" in capsys.readouterr().err
    finally:
        os.replace(moved, path)
