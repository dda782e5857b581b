"""RunsPanel: the runs of a flow (or all runs), each opened in a RunMonitor below the list."""

from __future__ import annotations

import typing as t

import ipywidgets
import traitlets

from gladier_jupyter import monitor as _monitor
from gladier_jupyter.widgets._base import GladierWidget
from gladier_jupyter.widgets.monitor import RunMonitor
from gladier_jupyter.widgets.run_inputs import _resolve_client, _short_error

__all__ = ["RunsPanel", "RunsList"]


class RunsList(GladierWidget):
    """The list half of a :class:`RunsPanel`: runs with their status."""

    _entry = "monitor"

    view = traitlets.Unicode("runs").tag(sync=True)
    runs: traitlets.List[dict[str, t.Any]] = traitlets.List().tag(sync=True)
    selected = traitlets.Unicode("").tag(sync=True)
    message = traitlets.Unicode("").tag(sync=True)


class RunsPanel(ipywidgets.VBox):
    """Lists runs (``list_runs``, a flow's or all) and opens any of them in a RunMonitor."""

    def __init__(self, client: t.Any = None, *, flow_id: str | None = None,
                 limit: int = 100, **kwargs: t.Any) -> None:
        self._client = client
        self._flows_client, gladier_client = _resolve_client(client)
        if flow_id is None and gladier_client is not None:
            flow_id = gladier_client.get_flow_id()
        self.flow_id = flow_id
        self.limit = limit
        self.list = RunsList()
        self.monitor: RunMonitor | None = None
        super().__init__(children=[self.list], **kwargs)
        self.list.on_msg(self._on_page_msg)
        self.refresh()

    def refresh(self) -> list[dict[str, t.Any]]:
        """Read the run list again."""
        kwargs: dict[str, t.Any] = {}
        if self.flow_id:
            kwargs["filter_flow_id"] = self.flow_id
        rows: list[dict[str, t.Any]] = []
        try:
            for page in self._flows_client.paginated.list_runs(**kwargs):
                for run in page.get("runs", []):
                    rows.append({
                        "run_id": str(run.get("run_id") or ""),
                        "label": str(run.get("label") or ""),
                        "status": str(run.get("status") or ""),
                        "flow_title": str(run.get("flow_title") or ""),
                        "start_time": str(run.get("start_time") or ""),
                        **_monitor.document_outcome(run),
                    })
                if len(rows) >= self.limit:
                    break
            self.list.message = ""
        except Exception as err:  # noqa: BLE001 - the widget's refresh: the failure is shown in it
            self.list.message = f"Could not list runs: {_short_error(err)}"
        rows.sort(key=lambda r: r["start_time"], reverse=True)
        self.list.runs = rows[: self.limit]
        return self.list.runs

    def open_run(self, run_id: str) -> RunMonitor:
        """Show the RunMonitor of ``run_id`` under the list (stopping the previous one)."""
        if self.monitor is not None:
            self.monitor.close()
        self.monitor = RunMonitor(run_id, client=self._client if self._client is not None
                                  else self._flows_client)
        self.monitor.observe(self._on_monitor_status, ["status", "headline"])
        self._on_monitor_status({"owner": self.monitor, "new": self.monitor.status})
        self.list.selected = run_id
        self.children = [self.list, self.monitor]
        return self.monitor

    def _on_monitor_status(self, change: t.Mapping[str, t.Any]) -> None:
        # The open run's row follows its monitor (the list itself is read on Refresh).
        run_id = change["owner"].run_id
        if change["new"] == "PENDING":
            return
        monitor = change["owner"]
        shown = {"status": monitor.status, "outcome": monitor.outcome,
                 "headline": monitor.headline, "failure": monitor.failure,
                 "failed_states": len(monitor.failed_states)}
        rows = [dict(r, **shown) if r["run_id"] == run_id else r for r in self.list.runs]
        if rows != self.list.runs:
            self.list.runs = rows

    def close(self) -> None:
        # Also runs from __del__ of a panel whose __init__ raised (bad client=).
        monitor = getattr(self, "monitor", None)
        if monitor is not None:
            monitor.close()
        if getattr(self, "list", None) is not None:
            self.list.close()
        super().close()

    def _on_page_msg(self, _widget: t.Any, content: t.Any, _buffers: t.Any) -> None:
        if not isinstance(content, dict):
            return
        if content.get("type") == "open" and content.get("run_id"):
            self.open_run(str(content["run_id"]))
        elif content.get("type") == "refresh":
            self.refresh()

    def _repr_mimebundle_(self, **kwargs: t.Any):
        bundle = super()._repr_mimebundle_(**kwargs)
        data, metadata = bundle if isinstance(bundle, tuple) else (bundle or {}, {})
        data = dict(data or {})
        lines = [f"{r['status']:<10} {r['run_id']} {r['label']}" for r in self.list.runs]
        data["text/plain"] = "Runs:\n" + "\n".join(lines) if lines else "No runs."
        return data, metadata
