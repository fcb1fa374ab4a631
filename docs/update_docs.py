"""Regenerate the parts of the docs that come from the code: `make docs`.

- docs/PARAMETERS.md from the parameter models (`aisim params --markdown`)
- the calibration table in docs/MODEL.md, between its calibration markers

Tests fail when these parts and the code disagree.
"""

from __future__ import annotations

from pathlib import Path

from sim.calibration import calibration_markdown, calibration_table
from sim.cli import parameters_markdown

DOCS = Path(__file__).resolve().parent
START, END = "<!-- calibration table: start -->", "<!-- calibration table: end -->"


def model_doc_with_table(text: str, table: str) -> str:
    """MODEL.md text with the block between the calibration markers replaced by ``table``."""
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{table}\n{END}{tail}"


def main() -> None:
    (DOCS / "PARAMETERS.md").write_text(parameters_markdown() + "\n")
    model = DOCS / "MODEL.md"
    model.write_text(model_doc_with_table(model.read_text(), calibration_markdown(calibration_table())))
    print("updated docs/PARAMETERS.md and the calibration table in docs/MODEL.md")


if __name__ == "__main__":
    main()
