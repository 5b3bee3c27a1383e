"""The report of `toolsynth synth examples/seeds.jsonl` opened in headless Chromium: every section and chart renders,
no console error, nothing fetched. Skipped (saying why) only when no Chromium is installed."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.report.browser import chromium, render
from toolsynth.cli import main

ROOT = Path(__file__).resolve().parents[2]
SECTIONS = ("funnel", "mix", "shape", "tokens", "languages", "diversity", "usage", "conversations")

pytestmark = pytest.mark.skipif(
    chromium() is None, reason="no Chromium installed (apt-get install -y chromium, as README's install step says)"
)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report") / "out"
    assert main(["synth", str(ROOT / "examples" / "seeds.jsonl"), "-o", str(out), "--quiet"]) == 0
    return out / "report.html"


def test_the_console_check_sees_errors(tmp_path: Path) -> None:
    page = tmp_path / "broken.html"
    page.write_text("<html><body><script>console.error('boom'); undefined_function();</script></body></html>")
    console = render(page).console
    assert any("boom" in line for line in console) and any("Uncaught" in line for line in console)


def test_every_section_and_chart_renders_without_console_errors(report: Path) -> None:
    source = report.read_text(encoding="utf-8")
    charts = re.findall(r'<figure class="chart" data-chart="([^"]+)">', source)
    assert len(charts) >= 9
    screenshot = ROOT / "docs" / "report.png" if os.environ.get("TOOLSYNTH_SAVE_SCREENSHOT") else None
    rendered = render(report, screenshot=screenshot)
    assert rendered.console == []
    for section in SECTIONS:
        assert f'<section id="{section}">' in rendered.dom, section
    for name in charts:
        opening = re.search(rf'<div[^>]*id="chart-{re.escape(name)}"[^>]*>', rendered.dom)
        assert opening is not None and "js-plotly-plot" in opening.group(0), name  # plotly drew it
    assert len(re.findall(r'class="main-svg"', rendered.dom)) >= len(charts)
    assert rendered.dom.count('class="bubble user"') >= 3


def test_the_page_fetches_nothing(report: Path) -> None:
    source = report.read_text(encoding="utf-8")
    assert not re.search(r"""<(script|link|img|iframe)[^>]*(src|href)\s*=\s*["']?(https?:)?//""", source)
    assert "<script src" not in source and "<link" not in source
