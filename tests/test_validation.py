"""The validation report: docs/VALIDATION.md matches the code, hides nothing, and `aisim validate` works."""

from pathlib import Path
from xml.etree import ElementTree

import pytest

from sim.calibration import calibration_table
from sim.cli import main
from sim.validation import FIGURES_DIR, validation_report

DOCS = Path(__file__).resolve().parent.parent / "docs"


@pytest.fixture(scope="module")
def report():
    return validation_report()


def test_the_library_passes_every_claim_and_fact(report):
    assert report.ok


def test_docs_validation_report_and_figures_match_the_model(report):
    assert (DOCS / "VALIDATION.md").read_text() == report.text, "run `make docs` and review the change"
    for name, svg in report.figures.items():
        assert (DOCS / FIGURES_DIR / name).read_text() == svg, f"{name}: run `make docs` and review the change"
        assert f"]({FIGURES_DIR}/{name})" in report.text
        ElementTree.fromstring(svg)  # well-formed SVG


def test_every_unmet_target_is_named_in_the_summary(report):
    summary = report.text.split("## 1.", 1)[0]
    targets = calibration_table()
    unmet = targets[(targets.kind != "input") & ~targets.met.astype(bool)]
    assert len(unmet) > 0
    for figure in unmet.figure:
        assert (
            f"Target not met (validation): {figure}" in summary or f"Target not met (calibration): {figure}" in summary
        )


def test_validate_command_writes_the_report_and_exits_0(tmp_path, capsys):
    out = tmp_path / "report.md"
    assert main(["validate", "baseline", "--out", str(out)]) == 0
    text = out.read_text()
    assert (tmp_path / FIGURES_DIR / "claims.svg").is_file()
    assert text.startswith("# Validation report") and "| baseline |" in text and "| lecun_is_right |" not in text
    assert "every claim passed" in capsys.readouterr().out


def test_validate_refuses_a_wrong_output_suffix(tmp_path, capsys):
    assert main(["validate", "baseline", "--out", str(tmp_path / "report.txt")]) == 2
    assert "must end in .md" in capsys.readouterr().err
