"""A RunMonitor where no live view is: display ids that follow the run, and static pictures.

The monitor is shown under display ids of its own; when the run ends, every output it
was shown in gets the final HTML/text fallback (what a saved notebook, nbconvert or
GitHub show), by display id, so no output is added to the cell running at the time.
:meth:`SavedDisplay.snapshot_text` and the monitor's ``snapshot_html`` are those
pictures. The monitor mixes this in; what it needs of the monitor is declared below.
"""

from __future__ import annotations

import typing as t

from gladier_jupyter import monitor as _monitor
from gladier_jupyter.widgets._displays import FollowedDisplays

__all__ = ["SavedDisplay"]


class SavedDisplay(FollowedDisplays):
    """The RunMonitor's displays outside a live view: saved fallbacks and snapshots.

    Shown under display ids of its own (:class:`._displays.FollowedDisplays`): when the run
    ends, every output the monitor was shown in gets the final HTML/text fallback.
    """

    _display_prefix = "gladier-monitor"

    # What the pictures use of the monitor (its traits and its watcher).
    run_id: str
    label: str
    flow_title: str
    headline: str
    status: str
    progress: dict[str, t.Any]
    states: dict[str, t.Any]
    failed_states: dict[str, t.Any]
    clock: str
    choices: list[dict[str, str]]
    inactive_reason: str
    error: str
    changes: dict[str, t.Any]
    outbox: list[str]
    _watcher: _monitor.RunWatcher
    snapshot_html: t.Callable[[], str]

    def snapshot(self) -> t.Any:
        """A static picture of the run as it is now (``display(monitor.snapshot())``)."""
        from IPython.display import HTML

        return HTML(self.snapshot_html())

    def snapshot_text(self) -> str:
        """One paragraph: run, status, progress, states."""
        p = self.progress or {}
        named = f"{self.label} ({self.run_id})" if self.label and self.label != self.run_id else self.run_id
        lines = [f"Run {named} of "
                 f"{self.flow_title or 'flow'}: {self.headline or self.status}"
                 f" - {p.get('done', 0)}/{p.get('total', 0)} states done"]
        for name, info in self.states.items():
            reason = self.failed_states.get(name)
            lines.append(f"  {name}: {info.get('status')}" + (f" - {reason}" if reason else ""))
        if self.clock:
            lines[0] += f" ({self.clock})"
        if self.choices:
            lines.append("  waits for a choice: " + ", ".join(repr(c.get("label")) for c in self.choices)
                         + " (monitor.choose(label) answers it)")
        if self.inactive_reason:
            lines.append(f"  waiting: {self.inactive_reason}")
        if self.error:
            lines.append(f"  error: {self.error}")
        if self.changes.get("line"):
            lines.append(f"  {self.changes['line']} (monitor.flow_changes has the diff)")
        lines.extend(f"  {line}" for line in self.outbox)
        return "\n".join(lines)
