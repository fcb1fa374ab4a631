"""Calibration and validation targets: the baseline against published figures (docs/MODEL.md 3.5)."""

from pathlib import Path

import pytest

from docs.update_docs import END, START
from sim.calibration import KINDS, TARGETS, Target, calibration_markdown, calibration_table

CALIBRATION = [t.figure for t in TARGETS if t.kind == "calibration"]
VALIDATION_MET = ["Market concentration, end of 2025", "How fast AI market shares move"]
"""The validation rows docs/VALIDATION.md reports as met; each must stay within its range."""


@pytest.fixture(scope="module")
def table():
    return calibration_table("baseline", range(100)).set_index("figure")


def test_there_are_targets_of_every_kind_and_inputs_are_never_met(table):
    assert {t.kind for t in TARGETS} == set(KINDS)
    assert table[table.kind == "input"].met.isna().all()


@pytest.mark.parametrize("figure", CALIBRATION + VALIDATION_MET)
def test_met_figure_within_its_range(table, figure):
    target = next(t for t in TARGETS if t.figure == figure)
    value = table.loc[figure, "model"]
    assert target.low <= value <= target.high, f"{figure}: model {value:.3g}, range {target.low}-{target.high}"


def test_unmet_targets_are_the_documented_ones(table):
    counted = table[table.kind != "input"]
    not_met = set(counted.index[~counted.met.astype(bool)])
    assert not_met == {t.figure for t in TARGETS if t.kind == "validation"} - set(VALIDATION_MET)


def test_every_target_says_why_its_range(table):
    assert all(t.why.strip() and t.source.strip() and 1990 <= t.year <= 2026 for t in TARGETS)


def test_a_target_of_an_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="kind 'emergent'; allowed: input, calibration, validation"):
        Target("x", "s", 2025, "t", 0.0, 1.0, lambda h, s: h, "how", "emergent", "why")


def test_docs_table_matches_the_model(table):
    text = (Path(__file__).resolve().parent.parent / "docs" / "MODEL.md").read_text()
    documented = text.split(START, 1)[1].split(END, 1)[0].strip()
    assert documented == calibration_markdown(table.reset_index()), "run `make docs` and review the change"
