"""A run drawn with no front end (saved notebooks, nbconvert HTML): a header, status chips,
the status-coloured flow graph, a timeline and the log's tail."""

from __future__ import annotations

import html
import logging
import re
import typing as t

from gladier_jupyter import monitor as _monitor
from gladier_jupyter.flowgraph.theme import THEME

__all__ = ["ShownRun", "snapshot_html"]


class ShownRun(t.Protocol):
    """What the snapshot reads of a RunMonitor (its synced traits)."""

    status: str
    label: str
    run_id: str
    flow_title: str
    web_url: str
    states: dict[str, t.Any]
    inactive_reason: str
    error: str
    events: list[dict[str, t.Any]]
    timeline: list[dict[str, t.Any]]
    outcome: str
    headline: str
    failure: str
    failed_states: dict[str, str]

# Fills and the text drawn on them, 4.5:1 apart (WCAG AA): the one table the live views use.
_STATUS = {name: v for name, v in THEME["status"].items() if not name.startswith("_")}
_STATUS_HEX = {name: v["fill"] for name, v in _STATUS.items()}
_STATUS_ON = {name: v["on"] for name, v in _STATUS.items()}
#: By ``outcome`` (a run status, "warning": SUCCEEDED while states failed, or "cancelled"):
#: the pill's fill and its text; "warning" is dark text on amber (11.7:1).
_RUN_COLOURS = {**{name: (v["fill"], v["on"]) for name, v in _STATUS.items()},
                "warning": ("#ffb300", "#000000")}
_ERROR_TEXT = _STATUS["failed"]["text_light"]


#: The theme text colours of a node's name and caption (flowgraph.svg), as drawn.
_TEXT_FILL = re.compile(r'style="fill:var\(--jp-ui-font-color[12], #[0-9a-f]{6}\);')


def _status_svg(definition: dict[str, t.Any] | None, states: t.Mapping[str, t.Any]) -> str:
    """The preview's static SVG of the flow, each state filled with its status colour."""
    if not definition:
        return ""
    from gladier_jupyter.flowgraph import FlowGraph

    try:
        svg = FlowGraph.build(definition).to_svg()
    except Exception:  # the drawing is an extra: the snapshot's text still shows
        logging.getLogger(__name__).warning("the run's flow could not be drawn", exc_info=True)
        return ""
    # Fill each state's shape (the first styled element after its <g>) with its colour.
    for name, info in states.items():
        colour = _STATUS_HEX.get(str(info.get("status")), "")
        anchor = f'data-name="{html.escape(name, quote=True)}"'
        at = svg.find(anchor)
        fill = svg.find('style="fill:', at) if at >= 0 else -1
        if not colour or fill < 0:
            continue
        start = fill + len('style="fill:')
        end = min(i for i in (svg.find(";", start), svg.find('"', start)) if i >= 0)
        svg = svg[:start] + colour + svg[end:]
        # the state's name and caption, drawn on that fill, take its text colour
        close = svg.find("</g>", start)
        group = svg[start:close]
        group = _TEXT_FILL.sub(f'style="fill:{_STATUS_ON[str(info["status"])]};', group)
        svg = svg[:start] + group + svg[close:]
        svg = svg.replace(anchor, f'{anchor} data-status="{html.escape(str(info["status"]))}"', 1)
    return svg


def snapshot_html(monitor: ShownRun, definition: dict[str, t.Any] | None) -> str:
    """A static picture of the monitor's last state (header, states, timeline, log tail)."""
    e = html.escape
    outcome = getattr(monitor, "outcome", "") or monitor.status.lower()
    colour, ink = _RUN_COLOURS.get(outcome, _RUN_COLOURS["ended"])
    headline = getattr(monitor, "headline", "") or monitor.status
    failure = getattr(monitor, "failure", "")
    head = (
        f'<div class="gj-monitor-static" data-status="{e(monitor.status)}" '
        f'data-outcome="{e(outcome)}" '
        'style="font-family:system-ui,sans-serif;border:1px solid #e0e0e0;'
        'border-radius:6px;padding:8px;max-width:900px">'
        f'<div><strong>{e(monitor.label or "Flow run")}</strong> '
        f'<span class="gj-headline" style="background:{colour};color:{ink};'
        f'border-radius:1em;padding:0 .6em">{e(headline)}</span> '
        f'<code>{e(monitor.run_id)}</code> {e(monitor.flow_title)}'
        + (f' <a href="{e(monitor.web_url)}" target="_blank">Globus web app</a>'
           if monitor.web_url else "")
        + "</div>"
        + (f'<div class="gj-failure" style="color:#b71c1c;font-family:monospace">'
           f'{e(failure)}</div>' if failure else "")
    )
    chips = "".join(
        f'<span data-state="{e(n)}" data-status="{e(str(i.get("status")))}" '
        f'style="display:inline-block;margin:2px;padding:2px 8px;border-radius:4px;'
        f'background:{_STATUS_HEX.get(str(i.get("status")), _STATUS_HEX["pending"])};'
        f'color:{_STATUS_ON.get(str(i.get("status")), _STATUS_ON["pending"])}"'
        + (f' title="{e(str(getattr(monitor, "failed_states", {}).get(n, "")))}"'
           if n in getattr(monitor, "failed_states", {}) else "")
        + f'>{e(n)}</span>'
        for n, i in monitor.states.items()
    )
    notes = ""
    if monitor.inactive_reason:
        notes += f"<div>Waiting: {e(monitor.inactive_reason)}</div>"
    if monitor.error:
        notes += f'<div style="color:{_ERROR_TEXT}">{e(monitor.error)}</div>'
    rows = "".join(
        f"<tr><td>{e(r['time'])}</td><td>{e(r['code'])}</td><td>{e(r['state'])}</td>"
        f"<td>{e(r['description'])}</td></tr>" for r in monitor.events[-20:]
    )
    table = ('<table style="font-size:12px;border-collapse:collapse">'
             "<tr><th>time</th><th>code</th><th>state</th><th>description</th></tr>"
             f"{rows}</table>") if rows else ""
    graph = _status_svg(definition, monitor.states)
    return (head + f"<div>{chips}</div>" + notes + (f"<div>{graph}</div>" if graph else "")
            + _timeline_svg(monitor.timeline) + table + "</div>")


def _timeline_svg(timeline: list[dict[str, t.Any]]) -> str:
    # (bar, start, end): a bar without a start is not drawn; a running one (no end) runs to t1
    bars: list[tuple[dict[str, t.Any], float, float | None]] = []
    for b in timeline:
        start = _monitor.parse_time(b.get("start", ""))
        if start is not None:
            bars.append((b, start, _monitor.parse_time(b.get("end", ""))))
    if not bars:
        return ""
    t0 = min(s for _, s, _ in bars)
    t1 = max([en or s for _, s, en in bars] + [t0 + 0.001])
    span = max(t1 - t0, 0.001)
    width, label_w, row_h = 600, 160, 18
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="gj-timeline" width="{width}" '
             f'height="{row_h * len(bars) + 4}" style="font:11px sans-serif">']
    for i, (b, s, en) in enumerate(bars):
        x = label_w + (s - t0) / span * (width - label_w - 4)
        w = max(2.0, ((en or t1) - s) / span * (width - label_w - 4))
        colour = _STATUS_HEX.get(str(b.get("status")), _STATUS_HEX["pending"])
        y = i * row_h + 2
        parts.append(f'<text x="0" y="{y + 12}">{html.escape(str(b.get("state")))}</text>'
                     f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{row_h - 4}" '
                     f'fill="{colour}"><title>{_monitor.format_duration((en or t1) - s)}</title></rect>')
    parts.append("</svg>")
    return "".join(parts)
