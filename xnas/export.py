"""A trained front member as a deployable file: a ``torch.export`` ExportedProgram
(``.pt2``), or ONNX through torch's dynamo-based exporter where ``onnx`` and
``onnxscript`` are installed. Both keep a dynamic batch axis. The network is rebuilt
from its key and the run's config, its stored weights are loaded with
``weights_only=True``, and the file is checked (reloaded and run, or ONNX-checked)
before it is reported. TorchScript, deprecated in torch 2.14, is no longer written."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import torch

from xnas.config import Config, build
from xnas.data import cached_dataset
from xnas.errors import ConfigError, StoreError
from xnas.evaluate.inherit import load_weights
from xnas.space import get_space
from xnas.store import RunDir, RunStore

FORMATS = {"pt2": ".pt2", "onnx": ".onnx"}


@dataclass(frozen=True)
class Exported:
    """An exported network: the file, and whose trained weights it holds (a reused key
    has none of its own: its class representative's, which compute the same function)."""

    path: Path
    weights_of: str


def export_network(
    run_dir: str | Path, key: str, fmt: str = "pt2", output: str | Path | None = None
) -> Exported:
    if fmt not in FORMATS:
        raise ConfigError(f"export format {fmt!r}: expected one of {', '.join(FORMATS)}")
    if output is not None and Path(output).suffix.lower() != FORMATS[fmt]:
        raise ConfigError(
            f"-o {str(output)!r}: a {fmt} export is written to a file ending in {FORMATS[fmt]}"
        )
    with RunStore.open(run_dir) as store:
        cfg = build(Config, store.meta("config"))
        result = store.get(key)
        source = result
        if result is not None and result.reused_from is not None:
            source = store.get(result.reused_from)  # the trained member of its class
        weights = store.weights_file(source) if source is not None else None
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
    try:
        model.load_state_dict(load_weights(weights))
    except Exception as exc:  # not a state dict of this network: damaged, foreign, unsafe
        raise StoreError(
            f"the weights file '{weights}' of {source.key} cannot be loaded "
            f"({type(exc).__name__}); expected the state dict xnas saved for it"
        ) from None
    model.eval()
    # batch 2: torch.export specialises a dimension of size 1, the batch stays dynamic
    example = torch.zeros(2, *bundle.input_shape)
    batch = {0: torch.export.Dim("batch", min=1, max=65536)}
    out = Path(output) if output else RunDir(run_dir).export_file(key, FORMATS[fmt])
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "pt2":
        program = torch.export.export(model, (example,), dynamic_shapes=(batch,))
        torch.export.save(program, str(out))
        check = torch.randn(3, *bundle.input_shape)
        with torch.no_grad():
            same = torch.allclose(
                torch.export.load(str(out)).module()(check), model(check), atol=1e-5
            )
        if not same:
            raise StoreError(f"{out}: the exported program's outputs differ from the network's")
        return Exported(out, source.key)
    try:
        import onnx
        import onnxscript  # noqa: F401  (the dynamo exporter needs it)
    except ImportError:
        raise ConfigError(
            "ONNX export needs onnx and onnxscript: pip install 'xnas[onnx]' (or use pt2)"
        ) from None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's progress notes
        torch.onnx.export(
            model,
            (example,),
            str(out),
            dynamo=True,
            input_names=["input"],
            output_names=["logits"],
            dynamic_shapes=(batch,),
            verbose=False,
            external_data=False,  # one file: the weights inside it, no .onnx.data beside
        )
    onnx.checker.check_model(onnx.load(str(out)))
    return Exported(out, source.key)
