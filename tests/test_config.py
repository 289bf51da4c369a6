from __future__ import annotations

import dataclasses

import pytest

from xnas.config import Config, ObjectiveConfig, apply_overrides, load_config, to_dict
from xnas.errors import ConfigError


def test_defaults_build_and_are_frozen():
    cfg = load_config()
    assert isinstance(cfg, Config) and cfg.data.name == "lines"
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.data.name = "digits"  # type: ignore[misc]


def test_yaml_file_and_overrides(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("data:\n  name: digits\n  train_size: 100\nobjectives: [error, latency]\n")
    cfg = load_config(
        path, ["data.train_size=50", "data.lines.noise=0.3", "objectives.1.constraint=<= 5"]
    )
    assert cfg.data.name == "digits" and cfg.data.train_size == 50
    assert cfg.data.lines.noise == 0.3
    assert cfg.objectives == (ObjectiveConfig("error"), ObjectiveConfig("latency", "<= 5"))


def test_round_trip_through_plain_data():
    cfg = load_config(None, ["space.ops=[a, b]"])
    assert load_config(None, []) != cfg
    from xnas.config import build

    assert build(Config, to_dict(cfg)) == cfg


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["data.nmae=x"], "unknown config key 'data.nmae'; valid keys here: name, root"),
        (["bogus=1"], "unknown config key 'bogus'; valid keys here: search, space, data"),
        (["data.train_size=ten"], "data.train_size: expected an integer, got 'ten'"),
        (["data.normalize=3"], "data.normalize: expected true or false"),
        (["data.val_source=dev"], "data.val_source: expected one of 'split', 'test'"),
        (["search.seed"], "expected the form key.subkey=value"),
        (["objectives.5.name=x"], "objectives has no item 5"),
        (["data=3"], "data: expected a mapping"),
    ],
)
def test_bad_input_is_one_line_naming_the_key(overrides, message):
    with pytest.raises(ConfigError) as info:
        load_config(None, overrides)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("data: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML at line"):
        load_config(bad)


def test_overrides_do_not_mutate_the_input():
    raw = {"data": {"name": "lines"}}
    apply_overrides(raw, ["data.name=digits"])
    assert raw == {"data": {"name": "lines"}}
