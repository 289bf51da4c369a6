"""Every known deviation from a published definition is named in the README (ground rule:
a deviation from XNAS, NB201 or NSGA-Net is stated where users read)."""

from __future__ import annotations

from tests.conftest import REPO

README = (REPO / "README.md").read_text()


def section(title: str) -> str:
    start = README.index(title)
    end = README.find("\n#", start + len(title))
    return README[start : end if end > 0 else None]


def test_the_deviations_section_names_each_known_deviation():
    text = section("### Deviations from published definitions")
    for needle in (
        "−inf",  # introspection without a defined pair
        "zero-norm",  # dropped pairs, as XNAS
        "train.checkpoint",  # XNAS restored best weights for val_acc__max
        "*then ReLU*",  # XNAS's NB201 variant: ReLU after the residual add
        "no final BN + ReLU",
        "2 per multiply-accumulate",  # FLOPs vs NB201's MACs
        "modelled",  # energy without a counter
    ):
        assert needle in text, needle
