"""Calibration: the baseline's 2025-2027 path against published figures (docs/MODEL.md)."""

from pathlib import Path

import pytest

from docs.update_docs import END, START
from sim.calibration import TARGETS, calibration_markdown, calibration_table

MET = [
    "Frontier training cost growth (frontier lab)",
    "GPU FLOP per dollar doubling time",
    "Compute for fixed capability halves",
    "Big Tech capital spending 2025",
    "OpenAI annualised revenue, end of 2025",
    "OpenAI revenue growth through 2025",
    "Meta keeps a long-term side bet",
    "Reducible LLM loss per 10x compute",
]
"""The rows docs/MODEL.md reports as met; each must stay within its published range."""


@pytest.fixture(scope="module")
def table():
    return calibration_table("baseline", range(100)).set_index("figure")


@pytest.mark.parametrize("figure", MET)
def test_met_figure_within_its_range(table, figure):
    target = next(t for t in TARGETS if t.figure == figure)
    value = table.loc[figure, "model"]
    assert target.low <= value <= target.high, f"{figure}: model {value:.3g}, range {target.low}-{target.high}"


def test_docs_table_matches_the_model(table):
    text = (Path(__file__).resolve().parent.parent / "docs" / "MODEL.md").read_text()
    documented = text.split(START, 1)[1].split(END, 1)[0].strip()
    assert documented == calibration_markdown(table.reset_index()), "run `make docs` and review the change"


def test_every_target_is_either_met_or_explained(table):
    not_met = set(table.index[~table.met])
    assert not_met == {t.figure for t in TARGETS} - set(MET)
