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
    text = section("## Deviations from published definitions")
    for needle in (
        "−inf",  # introspection without a defined pair
        "zero-norm",  # dropped pairs, as XNAS
        "train.checkpoint",  # XNAS restored best weights for val_acc__max
        "*then ReLU*",  # XNAS's NB201 variant: ReLU after the residual add
        "no final BN + ReLU",
        "2 per multiply-accumulate",  # FLOPs vs NB201's MACs
        "modelled",  # energy without a counter
        "singular NASWOT",  # zero-cost proxies' undefined values
        "channels-last",
        "CIFAR-10 (JPEG) inputs",  # proxies benchmarked on other images than the columns'
    ):
        assert needle in text, needle


def test_the_docs_page_is_the_readme_section():
    """docs/deviations.md is generated from the README (docs/hooks.py): one source."""
    import sys

    sys.path.insert(0, str(REPO / "docs"))
    try:
        from hooks import deviations_page
    finally:
        sys.path.pop(0)
    assert section("## Deviations from published definitions").split("\n", 1)[1].strip() in (
        deviations_page()
    )
