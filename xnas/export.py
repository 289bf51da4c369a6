"""A trained front member as a deployable file: TorchScript, or ONNX where ``onnx`` is
installed. The network is rebuilt from its key and the run's config, its stored weights
are loaded with ``weights_only=True``, and the file is checked before it is reported."""

from __future__ import annotations

import warnings
from pathlib import Path

import torch

from xnas.config import Config, build
from xnas.errors import ConfigError, StoreError
from xnas.evaluate.evaluator import cached_dataset, weights_filename
from xnas.evaluate.inherit import load_weights
from xnas.space import get_space
from xnas.store import RunStore

FORMATS = {"torchscript": ".pt", "onnx": ".onnx"}


def export_network(
    run_dir: str | Path, key: str, fmt: str = "torchscript", output: str | Path | None = None
) -> Path:
    if fmt not in FORMATS:
        raise ConfigError(f"export format {fmt!r}: expected one of {', '.join(FORMATS)}")
    with RunStore.open(run_dir) as store:
        cfg = build(Config, store.meta("config"))
        result = store.get(key)
        weights = store.weights_file(result) if result is not None else None
    if result is None:
        raise StoreError(f"{key!r} is not in {run_dir}; expected a key from `xnas table`")
    if weights is None or not weights.is_file():
        raise StoreError(
            f"no trained weights for {key} in {run_dir} (failed, tabular, pruned by "
            "cost.keep_weights, or train.save_weights false)"
        )
    space = get_space(cfg.space)
    bundle = cached_dataset(cfg.data)
    model = space.build(result.genome, bundle.input_shape, bundle.num_classes)
    model.load_state_dict(load_weights(weights))
    model.eval()
    example = torch.zeros(1, *bundle.input_shape)
    out = (
        Path(output)
        if output
        else Path(run_dir) / "export" / (Path(weights_filename(key)).stem + FORMATS[fmt])
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "torchscript":
        with torch.no_grad():
            scripted = torch.jit.trace(model, example)
        scripted.save(str(out))
        return out
    try:
        import onnx
    except ImportError:
        raise ConfigError(
            "ONNX export needs the onnx package: pip install 'xnas[onnx]' (or use torchscript)"
        ) from None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the TorchScript-based exporter
        torch.onnx.export(
            model,
            (example,),
            str(out),
            dynamo=False,
            input_names=["input"],
            output_names=["logits"],
            dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
        )
    onnx.checker.check_model(onnx.load(str(out)))
    return out
