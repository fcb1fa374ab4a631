"""docs/TEACHING.md matches the UI: every tab, button, chart and label it names in *italics* or
**bold** (capitalised; lesson headings aside) is one the page shows, so a lesson runs from the
browser alone."""

import re
from pathlib import Path

import pytest

pytest.importorskip("solara")

from viz import charts
from viz.app import VIEWS

ROOT = Path(__file__).resolve().parent.parent
GUIDE = (ROOT / "docs" / "TEACHING.md").read_text()
HEADINGS = {"The essay's point.", "Ask before running.", "Look for.", "Try next.", "The essay in one paragraph."}


def on_screen() -> str:
    """Every text the UI's code can show, and every chart title."""
    patterns = ("*.py", "*.vue", "classroom/*.html", "classroom/*.js")  # the app, and class mode's pages
    source = "\n".join(path.read_text() for pattern in patterns for path in (ROOT / "viz").glob(pattern))
    titles = [title for title, _ in (*charts.FIRM_CHARTS.values(), *charts.MARKET_CHARTS.values())]
    return "\n".join([source, *titles, *charts.CHART_GROUPS])


def named_in_guide() -> set[str]:
    bold = set(re.findall(r"\*\*([^*]+)\*\*", GUIDE))
    italic = set(re.findall(r"(?<!\*)\*([^*\s][^*]*[^*\s])\*(?!\*)", GUIDE))
    names = {" ".join(name.split()).strip('"') for name in bold | italic}
    return {name for name in names if name[0].isupper() and not name.endswith(".")} - HEADINGS


def test_every_ui_name_in_the_teaching_guide_is_on_screen():
    names = named_in_guide()
    assert {"Run", "About", "Try it", "So far", "Main chart"} <= names  # the check reads the guide
    missing = sorted(name for name in names if name not in on_screen())
    assert missing == []


def test_the_guide_names_every_view():
    assert [view for view in VIEWS if f"**{view}**" not in GUIDE] == []
