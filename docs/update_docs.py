"""Regenerate the parts of the docs that come from the code: `make docs`.

- docs/PARAMETERS.md from the parameter models (`aisim params --markdown`)
- the calibration table in docs/MODEL.md, between its calibration markers
- the worked examples in docs/EXPLAIN.md (outputs of `aisim explain` and `aisim sensitivity`)
- docs/VALIDATION.md (`aisim validate`)
- the worked tournament in docs/STRATEGIES.md (`aisim tournament strategies`)

Tests fail when these parts and the code disagree.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

from sim.calibration import calibration_markdown, calibration_table
from sim.cli import main as aisim
from sim.cli import parameters_markdown
from sim.validation import FIGURES_DIR, validation_report

DOCS = Path(__file__).resolve().parent
START, END = "<!-- calibration table: start -->", "<!-- calibration table: end -->"
EXAMPLES = {
    "explain baseline": ["explain", "baseline"],
    "sensitivity": ["sensitivity", "scenarios/sweeps/sensitivity.toml", "--quiet", "--workers", "1"],
}
"""Marker name in docs/EXPLAIN.md -> the aisim command whose output stands there."""
TOURNAMENT = {"tournament strategies": ["tournament", "strategies", "--workers", "1", "--quiet"]}
"""Marker name in docs/STRATEGIES.md -> the aisim command whose output stands there."""


def replace_block(text: str, start: str, end: str, block: str) -> str:
    """``text`` with what stands between the markers ``start`` and ``end`` replaced by ``block``."""
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{start}\n{block}\n{end}{tail}"


def model_doc_with_table(text: str, table: str) -> str:
    """MODEL.md text with the block between the calibration markers replaced by ``table``."""
    return replace_block(text, START, END, table)


def markers(name: str) -> tuple[str, str]:
    return f"<!-- {name}: start -->", f"<!-- {name}: end -->"


def command_output(arguments: list[str]) -> str:
    """What `aisim ARGUMENTS` prints, as a fenced block."""
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        aisim(arguments)
    return "```\n$ aisim " + " ".join(arguments) + "\n" + buffer.getvalue().strip("\n") + "\n```"


def main() -> None:
    (DOCS / "PARAMETERS.md").write_text(parameters_markdown() + "\n")
    model = DOCS / "MODEL.md"
    model.write_text(model_doc_with_table(model.read_text(), calibration_markdown(calibration_table())))
    explain = DOCS / "EXPLAIN.md"
    text = explain.read_text()
    for name, arguments in EXAMPLES.items():
        text = replace_block(text, *markers(name), command_output(arguments))
    explain.write_text(text)
    strategies = DOCS / "STRATEGIES.md"
    text = strategies.read_text()
    for name, arguments in TOURNAMENT.items():
        text = replace_block(text, *markers(name), command_output(arguments))
    strategies.write_text(text)
    report = validation_report()
    (DOCS / "VALIDATION.md").write_text(report.text)
    (DOCS / FIGURES_DIR).mkdir(exist_ok=True)
    for name, svg in report.figures.items():
        (DOCS / FIGURES_DIR / name).write_text(svg)
    print(
        "updated docs/PARAMETERS.md, the calibration table in docs/MODEL.md, the examples in docs/EXPLAIN.md "
        "and docs/STRATEGIES.md, and docs/VALIDATION.md"
    )


if __name__ == "__main__":
    main()
