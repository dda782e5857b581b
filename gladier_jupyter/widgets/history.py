"""Runs compared and runs over time, as notebook output: ``compare_runs(a, b)`` and
``flow_history(client_or_flow_id, last=20)``.

Plain HTML (tables and an SVG Gantt, every value escaped), so a saved notebook, nbconvert and
GitHub show the same thing; a comparison of runs of different definitions also shows the
definition diff on the flow graph (a :class:`FlowPreview`).
"""

from __future__ import annotations

import html
import json
import typing as t

from gladier_jupyter.errors import GladierJupyterUsageError
from gladier_jupyter.monitor import format_duration
from gladier_jupyter.monitor.history import (
    FlowDurations,
    RunComparison,
    compare_models,
    flow_durations,
    load_run,
)

__all__ = ["compare_runs", "flow_history", "RunComparisonView", "FlowHistoryView"]

_STATUS_COLOURS = {"succeeded": "#2e7d32", "failed": "#c62828", "caught": "#ef8f00",
                   "active": "#1565c0", "inactive": "#6a1b9a", "skipped": "#9e9e9e",
                   "pending": "#9e9e9e", "absent": "#bdbdbd"}
_CSS = """<style>
.gj-history{font-family:var(--jp-ui-font-family,system-ui,sans-serif);font-size:13px;
  color:var(--jp-ui-font-color1,#212121)}
.gj-history table{border-collapse:collapse;margin:.3em 0}
.gj-history th,.gj-history td{border-bottom:1px solid var(--jp-border-color2,#e0e0e0);
  padding:.2em .8em .2em 0;text-align:left;vertical-align:top}
.gj-history td.gj-num{text-align:right;font-variant-numeric:tabular-nums}
.gj-history code{font-family:var(--jp-code-font-family,monospace);font-size:12px}
.gj-history .gj-muted{color:var(--jp-ui-font-color2,#616161)}
.gj-history .gj-differs{background:rgba(239,143,0,.12)}
.gj-history ul{margin:0;padding-left:1.1em}
</style>"""

_esc = html.escape


def _run_id(x: t.Any) -> str:
    """A run id from an id, a run document, a RunMonitor or a globus-sdk response."""
    data = getattr(x, "data", x)
    if isinstance(data, dict) and data.get("run_id"):
        return str(data["run_id"])
    if isinstance(getattr(x, "run_id", None), str) and x.run_id:
        return str(x.run_id)
    if isinstance(x, str) and x.strip():
        return x.strip()
    raise GladierJupyterUsageError(
        f"{str(x)[:60]!r} is not a run; pass a run id, a run document (what %gladier_run "
        "returns) or a RunMonitor."
    )


def _flows_client(flows_client: t.Any) -> t.Any:
    if flows_client is not None:
        return flows_client
    from gladier_jupyter import backend

    return backend.flows_client()


def _dur(value: t.Any) -> str:
    return format_duration(value) if isinstance(value, (int, float)) else "—"


def _status(status: str) -> str:
    colour = _STATUS_COLOURS.get(status, "#616161")
    return f'<span style="color:{colour};font-weight:600">{_esc(status)}</span>'


def _short(value: t.Any, limit: int = 60) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


class RunComparisonView:
    """Two runs side by side: per state status, duration and output differences."""

    def __init__(self, comparison: RunComparison) -> None:
        self.comparison = comparison

    @property
    def definition_diff(self) -> t.Any:
        return self.comparison.definition_diff

    def to_dict(self) -> dict[str, t.Any]:
        return self.comparison.to_dict()

    def diff_preview(self) -> t.Any:
        """The second run's flow graph with the diff against the first run's definition."""
        from gladier_jupyter.widgets.preview import FlowPreview

        a, b = self.comparison.a, self.comparison.b
        preview = FlowPreview(b.definition or {})
        preview.diff(a.definition or {}, label=f"run {a.label or a.run_id}")
        return preview

    def _repr_html_(self) -> str:
        data = self.comparison.to_dict()
        runs = data["runs"]
        head = "".join(
            f"<th>{'AB'[i]}: {_esc(r['label'] or r['run_id'])}<br>"
            f"<span class='gj-muted'><code>{_esc(r['run_id'])}</code> · {_esc(r['status'])} · "
            f"{_dur(r['duration'])}</span></th>" for i, r in enumerate(runs))
        rows = []
        for row in self.comparison.rows:
            differs = row.status[0] != row.status[1] or bool(row.output_changes)
            changes = "".join(f"<li><code>{_esc(c.path)}</code>: {_esc(_short(c.old))} → "
                              f"{_esc(_short(c.new))}</li>" if c.op == "changed" else
                              f"<li><code>{_esc(c.path)}</code> {_esc(c.op)}</li>"
                              for c in row.output_changes[:6])
            more = len(row.output_changes) - 6
            changes += f"<li class='gj-muted'>{more} more</li>" if more > 0 else ""
            rows.append(
                f"<tr data-state='{_esc(row.name)}' class='{'gj-differs' if differs else ''}'>"
                f"<td><strong>{_esc(row.name)}</strong></td>"
                f"<td>{_status(row.status[0])} <span class='gj-muted'>{_dur(row.duration[0])}</span></td>"
                f"<td>{_status(row.status[1])} <span class='gj-muted'>{_dur(row.duration[1])}</span></td>"
                f"<td>{'<ul>' + changes + '</ul>' if changes else '<span class=gj-muted>same output</span>'}</td></tr>")
        diff = self.comparison.definition_diff
        version = (f"<p class='gj-def-diff'><strong>The runs ran different definitions:</strong> "
                   f"{_esc(diff.summary())}</p>" if diff else
                   "<p class='gj-muted gj-def-same'>Both runs ran the same definition.</p>")
        return (f"{_CSS}<div class='gj-history gj-compare'><h4 style='margin:.2em 0'>Run comparison</h4>"
                f"{version}<table><thead><tr><th>state</th>{head}<th>output differences (A → B)</th>"
                f"</tr></thead><tbody>{''.join(rows)}</tbody></table></div>")

    def _ipython_display_(self) -> None:
        from IPython.display import HTML, display

        display(HTML(self._repr_html_()))
        if self.comparison.definition_diff:
            display(self.diff_preview())


class FlowHistoryView:
    """A flow's per-state durations over its last runs, and a Gantt of the latest against the
    median."""

    def __init__(self, history: FlowDurations) -> None:
        self.history = history

    def stats(self) -> dict[str, dict[str, t.Any]]:
        return self.history.stats()

    def to_dict(self) -> dict[str, t.Any]:
        return self.history.to_dict()

    def _gantt_svg(self, run_index: int = -1) -> str:
        bars = self.history.gantt(run_index) if self.history.runs else []
        if not bars:
            return ""
        total = max([(b["offset"] or 0) + max(b["duration"] or 0, b["median"] or 0) for b in bars]
                    + [1e-3])
        left, width, row_h = 150, 420, 22
        scale = width / total
        parts = [f"<svg xmlns='http://www.w3.org/2000/svg' class='gj-gantt' width='{left + width + 90}' "
                 f"height='{row_h * len(bars) + 24}' role='img' aria-label='Gantt of the latest run'>"]
        for i, bar in enumerate(bars):
            y = 4 + i * row_h
            offset = bar["offset"] or 0
            colour = _STATUS_COLOURS.get(bar["status"], "#616161")
            parts.append(f"<text x='{left - 6}' y='{y + 14}' text-anchor='end' font-size='12'>"
                         f"{_esc(bar['state'])}</text>")
            if bar["median"] is not None:
                parts.append(f"<rect class='gj-gantt-median' x='{left + offset * scale:.1f}' y='{y + 1}' "
                             f"width='{max(1.0, bar['median'] * scale):.1f}' height='{row_h - 4}' "
                             f"fill='none' stroke='#616161' stroke-dasharray='4 3'/>")
            if bar["duration"] is not None:
                parts.append(f"<rect class='gj-gantt-bar' data-state='{_esc(bar['state'])}' "
                             f"x='{left + offset * scale:.1f}' y='{y + 4}' "
                             f"width='{max(1.0, bar['duration'] * scale):.1f}' height='{row_h - 10}' "
                             f"fill='{colour}'><title>{_esc(bar['state'])}: {_dur(bar['duration'])} "
                             f"(median {_dur(bar['median'])})</title></rect>")
                parts.append(f"<text x='{left + (offset + max(bar['duration'], bar['median'] or 0)) * scale + 4:.1f}' "
                             f"y='{y + 14}' font-size='11' fill='#616161'>{_dur(bar['duration'])}</text>")
        y = 8 + len(bars) * row_h
        parts.append(f"<text x='{left}' y='{y + 8}' font-size='11' fill='#616161'>0</text>"
                     f"<text x='{left + width}' y='{y + 8}' font-size='11' fill='#616161' "
                     f"text-anchor='end'>{_dur(total)}</text></svg>")
        return "".join(parts)

    def _repr_html_(self) -> str:
        history = self.history
        stats = history.stats()
        rows = "".join(
            f"<tr data-state='{_esc(name)}'><td><strong>{_esc(name)}</strong></td>"
            f"<td class='gj-num'>{s['runs']}</td><td class='gj-num'>{_dur(s['min'])}</td>"
            f"<td class='gj-num'>{_dur(s['median'])}</td><td class='gj-num'>{_dur(s['max'])}</td></tr>"
            for name, s in stats.items())
        latest = history.runs[-1] if history.runs else None
        gantt = (f"<h4 style='margin:.6em 0 .2em'>Latest run {_esc(latest.label or latest.run_id)} "
                 "against the median (dashed)</h4>" + self._gantt_svg()) if latest else ""
        return (f"{_CSS}<div class='gj-history gj-flow-history'><h4 style='margin:.2em 0'>"
                f"Flow <code>{_esc(history.flow_id)}</code>: {len(history.runs)} ended run"
                f"{'' if len(history.runs) == 1 else 's'}</h4><table><thead><tr><th>state</th>"
                "<th>runs</th><th>min</th><th>median</th><th>max</th></tr></thead>"
                f"<tbody>{rows}</tbody></table>{gantt}</div>")


def compare_runs(a: t.Any, b: t.Any, *, flows_client: t.Any = None) -> RunComparisonView:
    """Compare two runs (ids, run documents or monitors) state by state.

    In [1]: gladier_jupyter.compare_runs(first_run, second_run)
    """
    client = _flows_client(flows_client)
    return RunComparisonView(compare_models(load_run(client, _run_id(a)), load_run(client, _run_id(b))))


def flow_history(client_or_flow_id: t.Any, last: int = 20, *,
                 flows_client: t.Any = None) -> FlowHistoryView:
    """Per-state durations (min / median / max) over a flow's last ``last`` ended runs.

    In [1]: gladier_jupyter.flow_history(MyGladierClient, last=20)
    """
    if isinstance(last, bool) or not isinstance(last, int) or not 1 <= last <= 1000:
        raise GladierJupyterUsageError(f"last={last!r} is not a number of runs; use 1 to 1000, e.g. last=20.")
    flow_id = client_or_flow_id
    if not isinstance(client_or_flow_id, str):
        from gladier_jupyter.inline import is_client
        from gladier_jupyter.inline.redeploy import client_instance

        if not is_client(client_or_flow_id):
            raise GladierJupyterUsageError(
                f"{str(client_or_flow_id)[:60]!r} is neither a flow id nor a gladier client; "
                "pass one of them, e.g. flow_history(MyGladierClient)."
            )
        flow_id = client_instance(client_or_flow_id).get_flow_id()
        if not flow_id:
            raise GladierJupyterUsageError(
                "This client has not deployed its flow yet, so it has no runs; run it first "
                "(%gladier_run)."
            )
    return FlowHistoryView(flow_durations(_flows_client(flows_client), str(flow_id), last))
