"""`toolsynth report OUTDIR`: one self-contained HTML page that shows a run's dataset before anyone trains on it.

The page (`OUTDIR/report.html`) opens offline: plotly.js and the styles are inline, nothing is fetched. Its
charts are plotly figures (`plotly.graph_objects`); every text taken from the data is HTML-escaped here, and
plotly escapes what it embeds in its figures' JSON. Each chart sits in a `<figure data-chart="NAME">`, so a
browser test can check that every chart the page declares has rendered.
"""

from __future__ import annotations

import html
import itertools
import json
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, overload

import plotly.graph_objects as go
from plotly.offline import get_plotlyjs
from plotly.subplots import make_subplots

from toolsynth.dataset_stats import (
    diversity_figures,
    function_names,
    funnel,
    meta_mix,
    row_tokens,
    shapes,
)
from toolsynth.records import InputError, read_records

REPORT_FILE = "report.html"
CONVERSATIONS_SHOWN = 3

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 0 auto; max-width: 1100px; padding: 1rem 2rem; color: #1d2330; }
h1 { margin-bottom: 0.2rem; } h2 { border-bottom: 1px solid #d5dbe5; padding-bottom: 0.2rem; margin-top: 2rem; }
table { border-collapse: collapse; margin: 0.5rem 0; } td, th { border: 1px solid #d5dbe5; padding: 0.2rem 0.6rem; }
th { background: #f1f4f9; text-align: left; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
figure.chart { margin: 0.5rem 0; } .note { color: #5b6473; font-size: 0.9rem; }
.demo { background: #fff4d6; border: 1px solid #e6c35c; padding: 0.4rem 0.8rem; border-radius: 4px; }
.conversation { border: 1px solid #d5dbe5; border-radius: 8px; padding: 0.8rem; margin: 1rem 0; background: #fafbfd; }
.bubble { max-width: 75%; margin: 0.4rem 0; padding: 0.5rem 0.8rem; border-radius: 12px; white-space: pre-wrap; }
.system { background: #eceff4; color: #5b6473; font-size: 0.85rem; max-width: 100%; }
.user { background: #d7e8ff; margin-left: auto; } .assistant { background: #ffffff; border: 1px solid #d5dbe5; }
.tool { background: #eaf7ec; font-family: ui-monospace, monospace; font-size: 0.85rem; }
.call { font-family: ui-monospace, monospace; font-size: 0.85rem; background: #f3eefc; border-radius: 6px;
        padding: 0.3rem 0.5rem; margin-top: 0.3rem; }
.role { font-size: 0.75rem; font-weight: 600; color: #5b6473; display: block; }
"""


@dataclass
class RunData:
    samples: Sequence[dict[str, Any]]
    rejections: Sequence[dict[str, Any]]
    manifest: dict[str, Any]
    unreadable: list[str] = field(default_factory=list)


class JsonlRows(Sequence[dict[str, Any]]):
    """The object rows of a JSON-lines file, read from the file again at every pass and never all held at once, so a
    report's memory does not grow with the run (10,000 seeds make about 90 MB of samples, 400 MB as Python objects).
    Lines that cannot be read are counted out once, into `unreadable`, when the rows are first counted."""

    def __init__(self, path: Path, unreadable: list[str]) -> None:
        self.path = path
        self._count = sum(1 for _ in self._rows(unreadable))

    def _rows(self, unreadable: list[str] | None = None) -> Iterator[dict[str, Any]]:
        if not self.path.is_file() or self.path.stat().st_size == 0:
            return
        try:
            for record in read_records(self.path):
                if isinstance(record, InputError):
                    if unreadable is not None:
                        unreadable.append(str(record))
                elif isinstance(record.value, dict):
                    yield record.value
        except InputError as exc:  # a file of blank lines only
            if unreadable is not None:
                unreadable.append(str(exc))

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return self._rows()

    def __len__(self) -> int:
        return self._count

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...

    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...

    def __getitem__(self, index: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(index, slice):
            start, stop, step = index.indices(self._count)
            if step < 0:
                return list(self)[index]
            return list(itertools.islice(self, start, stop, step))
        position = index + self._count if index < 0 else index
        if not 0 <= position < self._count:
            raise IndexError(f"row {index} of {self._count} in {self.path}")
        return next(itertools.islice(self, position, None))


def load_run(outdir: Path) -> RunData:
    """A run's `samples.jsonl`, `rejected.jsonl` (read lazily, see `JsonlRows`) and `manifest.json` (missing files
    read as empty)."""
    unreadable: list[str] = []
    samples = JsonlRows(outdir / "samples.jsonl", unreadable)
    rejections = JsonlRows(outdir / "rejected.jsonl", unreadable)
    data = RunData(samples, rejections, {}, unreadable)
    manifest = outdir / "manifest.json"
    if manifest.is_file():
        data.manifest = json.loads(manifest.read_text(encoding="utf-8"))
    return data


def write_report(outdir: Path) -> Path:
    """Write `OUTDIR/report.html` from the run's files; returns its path."""
    page = render_report(load_run(outdir), title=f"toolsynth report: {outdir.name or outdir}")
    path = outdir / REPORT_FILE
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(path)
    return path


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _chart(name: str, figure: go.Figure, height: int = 360) -> str:
    figure.update_layout(height=height, margin={"l": 50, "r": 20, "t": 50, "b": 40}, template="plotly_white")
    div = figure.to_html(full_html=False, include_plotlyjs=False, div_id=f"chart-{name}", config={"displaylogo": False})
    return f'<figure class="chart" data-chart="{_e(name)}">{div}</figure>'


def _table(header: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join(
        "<tr>"
        + "".join(f'<td class="n">{_e(c)}</td>' if isinstance(c, int | float) else f"<td>{_e(c)}</td>" for c in r)
        + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _bar(counts: dict[str, int], title: str, horizontal: bool = False) -> go.Figure:
    labels, values = list(counts), list(counts.values())
    bar = go.Bar(y=labels, x=values, orientation="h") if horizontal else go.Bar(x=labels, y=values)
    return go.Figure(bar, layout={"title": title})


def _section(anchor: str, title: str, body: str) -> str:
    return f'<section id="{_e(anchor)}"><h2>{_e(title)}</h2>{body}</section>'


def render_report(data: RunData, title: str = "toolsynth report") -> str:
    sections = [
        _funnel_section(data),
        _mix_section(data),
        _shape_section(data),
        _tokens_section(data),
        _language_section(data),
        _diversity_section(data),
        _usage_section(data),
        _conversations_section(data),
    ]
    manifest = data.manifest
    summary = (
        f"{len(data.samples)} samples, {len(data.rejections)} rejections from "
        f"{manifest.get('counts', {}).get('inputs', 'unknown')} seeds; run status {manifest.get('status', 'unknown')}"
    )
    demo = (
        '<p class="demo">Made by the offline demo model: demo data, not a real model\'s output.</p>'
        if manifest.get("demo")
        else ""
    )
    unreadable = (
        f'<p class="note">{len(data.unreadable)} unreadable line(s) left out: {_e("; ".join(data.unreadable[:3]))}</p>'
        if data.unreadable
        else ""
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{_e(title)}</title><style>{_STYLE}</style>"
        f'<script type="text/javascript">{get_plotlyjs()}</script></head><body>'
        f"<h1>{_e(title)}</h1><p>{_e(summary)}</p>{demo}{unreadable}{''.join(sections)}</body></html>"
    )


def _funnel_section(data: RunData) -> str:
    result = funnel(data.samples, data.rejections, data.manifest)
    steps = go.Figure(
        go.Funnel(y=list(result.steps), x=list(result.steps.values()), textinfo="value"),
        layout={"title": "seeds → accepted samples"},
    )
    empty = "" if data.rejections else " (none)"
    by_stage = go.Figure(
        layout={"title": f"rejections per stage, by the funnel step they leave{empty}", "barmode": "stack"}
    )
    stages = sorted({stage for losses in result.losses.values() for stage in losses})
    for stage in stages:
        steps_with = [step for step, losses in result.losses.items() if stage in losses]
        by_stage.add_trace(go.Bar(name=stage, x=steps_with, y=[result.losses[s][stage] for s in steps_with]))
    codes = Counter(code for r in data.rejections for code in r.get("codes") or [])
    rows: list[list[Any]] = [[step, count] for step, count in result.steps.items()]
    dedup = data.manifest.get("dedup")
    dedup_text = ""
    if dedup:
        removed = dedup.get("removed", [])
        dedup_text = f"<h3>Duplicates removed (threshold {_e(dedup.get('threshold'))})</h3>" + _table(
            ["removed", "duplicates", "similarity", "exact"],
            [[d["id"], d["duplicates"], d["similarity"], str(d["exact"])] for d in removed],
        )
    scenario_duplicates = data.manifest.get("counts", {}).get("scenario_duplicates_removed")
    note = (
        f'<p class="note">Expanded scenarios removed as duplicates in this run: {_e(scenario_duplicates)}.</p>'
        if scenario_duplicates
        else ""
    )
    return _section(
        "funnel",
        "Funnel",
        _table(["step", "count"], rows)
        + note
        + _chart("funnel", steps, 420)
        + _chart("rejections-by-stage", by_stage)
        + _chart("rejections-by-code", _bar(dict(codes.most_common()), f"rejections per code{empty}", horizontal=True))
        + dedup_text,
    )


def _mix_section(data: RunData) -> str:
    strategies = meta_mix(data.samples, "strategy")
    body = _chart("strategy-mix", go.Figure(go.Pie(labels=list(strategies), values=list(strategies.values()))))
    behaviours = meta_mix(data.samples, "behaviour")
    if behaviours:
        figure = go.Figure(go.Pie(labels=list(behaviours), values=list(behaviours.values())))
        body += _chart("behaviour-mix", figure)
    else:
        body += '<p class="note">No sample has a <code>meta.behaviour</code>.</p>'
    return _section("mix", "Strategy and behaviour mix", body)


def _shape_section(data: RunData) -> str:
    stats = shapes(data.samples)
    figure = make_subplots(rows=1, cols=3, subplot_titles=("tools per sample", "calls per sample", "turns per sample"))
    for col, values in enumerate((stats.tools, stats.calls, stats.turns), start=1):
        figure.add_trace(go.Histogram(x=values, showlegend=False), row=1, col=col)
    text = (
        f"<p>{stats.all_calls} calls, {stats.parallel_calls} of them parallel (two or more in one assistant "
        f"message): {stats.parallel_share:.1%}.</p>"
    )
    return _section("shape", "Tools, calls and turns", text + _chart("shape", figure))


def _tokens_section(data: RunData) -> str:
    lengths = [row_tokens(row) for row in data.samples]
    figure = go.Figure(go.Histogram(x=lengths), layout={"title": "tokens per sample (cl100k_base)"})
    text = (
        f"<p>min {min(lengths)}, median {sorted(lengths)[len(lengths) // 2]}, max {max(lengths)} tokens.</p>"
        if lengths
        else ""
    )
    note = (
        '<p class="note">Counted with cl100k_base, the tiktoken encoding bundled with litellm (offline): exact for '
        "OpenAI's GPT-4-era models, an approximation for other tokenizers.</p>"
    )
    return _section("tokens", "Token lengths", text + note + _chart("token-lengths", figure))


def _language_section(data: RunData) -> str:
    languages = meta_mix(data.samples, "language")
    return _section(
        "languages",
        "Languages",
        _chart("languages", go.Figure(go.Pie(labels=list(languages), values=list(languages.values())))),
    )


def _diversity_section(data: RunData) -> str:
    figures = diversity_figures(data.samples)
    rows: list[list[Any]] = [[name, value] for name, value in figures.distinct.items()]
    rows += [
        ["distinct function names", figures.distinct_functions],
        ["function declarations", figures.function_declarations],
        ["near-duplicate clusters (first user request)", len(figures.near_duplicate_clusters)],
    ]
    clusters = "".join(f"<li>{_e(', '.join(cluster))}</li>" for cluster in figures.near_duplicate_clusters[:20])
    top = dict(function_names(data.samples).most_common(20))
    return _section(
        "diversity",
        "Diversity",
        _table(["figure", "value"], rows)
        + (f"<p>Near-duplicate clusters (kept first):</p><ul>{clusters}</ul>" if clusters else "")
        + _chart("functions", _bar(top, "most frequent function names (top 20)", horizontal=True), 480),
    )


def _usage_rows(usage: dict[str, Any]) -> list[list[Any]]:
    return [
        [
            name,
            u.get("calls", 0),
            u.get("prompt_tokens", 0),
            u.get("completion_tokens", 0),
            "n/a" if u.get("cost_usd") is None else f"${u['cost_usd']:.6f}",
        ]
        for name, u in usage.items()
    ]


def _usage_section(data: RunData) -> str:
    usage = data.manifest.get("usage", {})
    header = ["", "calls", "prompt tokens", "completion tokens", "cost"]
    by_stage, by_role = usage.get("by_stage", {}), usage.get("by_role", {})
    figure = go.Figure(layout={"title": "tokens per stage", "barmode": "stack"})
    figure.add_trace(go.Bar(name="prompt", x=list(by_stage), y=[u.get("prompt_tokens", 0) for u in by_stage.values()]))
    figure.add_trace(
        go.Bar(name="completion", x=list(by_stage), y=[u.get("completion_tokens", 0) for u in by_stage.values()])
    )
    body = (
        "<h3>Per stage</h3>"
        + _table(header, _usage_rows({**by_stage, "total": usage.get("total", {})}))
        + "<h3>Per role</h3>"
        + _table(header, _usage_rows(by_role))
        + _chart("usage", figure)
    )
    estimate = data.manifest.get("estimate")
    if estimate:
        total = usage.get("total", {})
        est = estimate.get("total", {})
        body += "<h3>Estimate before the run, and the run</h3>" + _table(
            ["", "calls", "prompt tokens", "completion tokens", "cost"],
            _usage_rows({"estimate": est, "actual": total}),
        )
    if data.manifest.get("demo"):
        body += '<p class="note">The demo model has no price: cost is n/a.</p>'
    return _section("usage", "Usage and cost", body)


def _bubble(message: dict[str, Any]) -> str:
    role = str(message.get("role", "?"))
    css = role if role in ("system", "user", "assistant", "tool") else "system"
    label = f"{role} · {message.get('name')}" if role == "tool" and message.get("name") else role
    content = message.get("content")
    text = _e(content) if content else ""
    calls = "".join(
        f'<div class="call">→ {_e(c.get("function", {}).get("name"))}({_e(c.get("function", {}).get("arguments"))})'
        f' <span class="note">{_e(c.get("id", ""))}</span></div>'
        for c in message.get("tool_calls") or []
        if isinstance(c, dict)
    )
    return f'<div class="bubble {css}"><span class="role">{_e(label)}</span>{text}{calls}</div>'


def _conversations_section(data: RunData) -> str:
    if not data.samples:
        return _section("conversations", "Conversations", "<p>No samples.</p>")
    step = max(1, len(data.samples) // CONVERSATIONS_SHOWN)
    shown = data.samples[::step][:CONVERSATIONS_SHOWN]
    blocks = []
    for row in shown:
        meta = row["meta"] if isinstance(row.get("meta"), dict) else {}
        heading = f"{row.get('id')} · {meta.get('strategy', '')} · {meta.get('language', '')}"
        bubbles = "".join(_bubble(m) for m in row.get("messages") or [] if isinstance(m, dict))
        tools = ", ".join(str(t.get("function", {}).get("name")) for t in row.get("tools") or [] if isinstance(t, dict))
        blocks.append(
            f'<div class="conversation"><strong>{_e(heading)}</strong>'
            f'<p class="note">tools: {_e(tools)}</p>{bubbles}</div>'
        )
    return _section("conversations", "Conversations", "".join(blocks))
