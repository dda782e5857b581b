"""Runs side by side and over time: two runs compared state by state (status, duration,
output, and the definition each ran), and a flow's per-state durations over its last runs.

Reads through anything shaped like ``globus_sdk.FlowsClient`` (Globus or the local service):
``get_run``, ``get_run_definition`` (the definition pinned to the run when it started),
``get_run_logs`` and ``list_runs``.
"""

from __future__ import annotations

import dataclasses
import statistics
import typing as t

from gladier_jupyter import flowdef
from gladier_jupyter.monitor.log import LogReader, http_status, response_data
from gladier_jupyter.monitor.model import TERMINAL_STATUSES, RunModel, parse_time

__all__ = ["load_run", "compare_models", "RunComparison", "StateRow", "flow_durations",
           "FlowDurations", "recent_run_ids", "FlowChanges", "flow_changes"]

#: Log pages read for one run at most (a runaway loop's log is not read for ever).
MAX_LOG_PAGES = 50


def load_run(flows_client: t.Any, run_id: str) -> RunModel:
    """A run read whole: its document, its pinned definition and its log."""
    model = RunModel(str(run_id))
    model.set_run(response_data(flows_client.get_run(run_id)))
    try:
        pinned = response_data(flows_client.get_run_definition(run_id))
        if isinstance(pinned.get("definition"), dict):
            model.definition = pinned["definition"]
    except Exception:  # noqa: BLE001 - a service without the route: compare by the log only
        model.definition = None
    reader = LogReader(run_id, max_pages=MAX_LOG_PAGES)
    model.add_entries(reader.read_new(flows_client))
    return model


@dataclasses.dataclass
class FlowChanges:
    """A run's pinned definition against its flow's deployed definition now.

    ``known`` is False when either side could not be read (no pinned definition, the flow
    deleted or not shared: ``message`` says which); ``diff`` is None then.
    """

    run_id: str
    flow_id: str
    known: bool
    pinned: dict[str, t.Any] | None = None
    current: dict[str, t.Any] | None = None
    diff: flowdef.DefinitionDiff | None = None
    message: str = ""

    @property
    def changed(self) -> bool:
        return self.diff is not None and self.diff.changed

    def line(self) -> str:
        """"The flow changed since this run: 1 added, 0 removed, 2 changed" ("" when not)."""
        if self.diff is None or not self.diff.changed:
            return ""
        counts = ", ".join(f"{len(self.diff.names(s))} {s}" for s in ("added", "removed", "changed"))
        extra = []
        if self.diff.top:
            extra.append("top-level fields " + ", ".join(c.path for c in self.diff.top))
        if self.diff.functions:
            extra.append("functions changed: " + ", ".join(sorted(self.diff.functions)))
        return "The flow changed since this run: " + counts + "".join(f"; {e}" for e in extra)


def flow_changes(flows_client: t.Any, run_id: str, *, flow_id: str | None = None,
                 pinned: t.Any = None) -> FlowChanges:
    """Compare the definition run ``run_id`` is pinned to (``get_run_definition``, unless
    ``pinned`` is given) with its flow's now (``get_flow``). Two requests at most; a flow
    that is gone (403/404) or a service without the route gives ``known=False``, any other
    failure is raised."""
    run_id = str(run_id)
    if not flow_id:
        flow_id = str(response_data(flows_client.get_run(run_id)).get("flow_id") or "")
    if not isinstance(pinned, dict):
        try:
            pinned = response_data(flows_client.get_run_definition(run_id)).get("definition")
        except Exception as err:
            if http_status(err) in {403, 404}:
                return FlowChanges(run_id, flow_id, False,
                                   message=f"Run {run_id} has no pinned definition to compare.")
            raise
    if not isinstance(pinned, dict) or not flow_id:
        return FlowChanges(run_id, flow_id, False)
    try:
        current = response_data(flows_client.get_flow(flow_id)).get("definition")
    except Exception as err:
        if http_status(err) in {403, 404}:
            return FlowChanges(run_id, flow_id, False, pinned=pinned,
                               message=f"The flow {flow_id} is gone (deleted or not shared).")
        raise
    if not isinstance(current, dict):
        return FlowChanges(run_id, flow_id, False, pinned=pinned)
    return FlowChanges(run_id, flow_id, True, pinned, current,
                       flowdef.diff_definitions(pinned, current))


def _duration(started: str, ended: str) -> float | None:
    a, b = parse_time(started), parse_time(ended)
    return None if a is None or b is None else max(0.0, b - a)


@dataclasses.dataclass
class StateRow:
    """One state in two runs: status and duration on each side, and how the outputs differ."""

    name: str
    status: tuple[str, str]
    duration: tuple[float | None, float | None]
    output_changes: list[flowdef.FieldChange]

    def to_dict(self) -> dict[str, t.Any]:
        return {"name": self.name, "status": list(self.status), "duration": list(self.duration),
                "output_changes": [c.to_dict() for c in self.output_changes]}


@dataclasses.dataclass
class RunComparison:
    """Two runs state by state, and the diff of their definitions (None if the same)."""

    a: RunModel
    b: RunModel
    rows: list[StateRow]
    definition_diff: flowdef.DefinitionDiff | None

    def to_dict(self) -> dict[str, t.Any]:
        return {"runs": [_run_summary(self.a), _run_summary(self.b)],
                "states": [r.to_dict() for r in self.rows],
                "definition_diff": self.definition_diff.to_dict() if self.definition_diff else None}


def _run_summary(model: RunModel) -> dict[str, t.Any]:
    run = model.run
    return {"run_id": model.run_id, "label": model.label, "status": model.status,
            "flow_id": run.get("flow_id"), "start_time": run.get("start_time"),
            "duration": _duration(str(run.get("start_time") or ""),
                                  str(run.get("completion_time") or ""))}


def _output_diff(a: t.Any, b: t.Any) -> list[flowdef.FieldChange]:
    # the same comparison the definition diff makes, over {"output": ...}
    diff = flowdef.diff_definitions({"States": {"output": {"v": a}}}, {"States": {"output": {"v": b}}})
    entry = diff.states["output"]
    return [dataclasses.replace(c, path="$" + c.path[len("$.States.output.v"):])
            for c in entry.changes]


def compare_models(a: RunModel, b: RunModel) -> RunComparison:
    """Compare two loaded runs; states in ``b``'s definition order, then ``a``'s others."""
    infos_a, _ = a.derive()
    infos_b, _ = b.derive()
    names = list(infos_b) + [n for n in infos_a if n not in infos_b]
    rows = []
    for name in names:
        sa, sb = infos_a.get(name), infos_b.get(name)
        rows.append(StateRow(
            name,
            (sa.status if sa else "absent", sb.status if sb else "absent"),
            (_duration(sa.started, sa.ended) if sa else None,
             _duration(sb.started, sb.ended) if sb else None),
            _output_diff(sa.output if sa else None, sb.output if sb else None),
        ))
    diff = None
    if a.definition is not None and b.definition is not None:
        found = flowdef.diff_definitions(a.definition, b.definition,
                                         old_functions=_function_ids(a),
                                         new_functions=_function_ids(b))
        diff = found if found.changed else None
    return RunComparison(a, b, rows, diff)


def _function_ids(model: RunModel) -> dict[str, t.Any]:
    """The compute function ids a run was started with (its input's ``*_function_id``)."""
    for entry in model.entries:
        if entry.get("code") == "FlowStarted":
            details = entry.get("details") or {}
            flow_input = details.get("input") if isinstance(details, dict) else None
            inner = flow_input.get("input") if isinstance(flow_input, dict) else None
            if isinstance(inner, dict):
                return {k: v for k, v in inner.items()
                        if isinstance(k, str) and k.endswith(("_function_id", "_funcx_id"))}
    return {}


@dataclasses.dataclass
class FlowDurations:
    """Per-state durations (seconds) over a flow's runs, oldest run first."""

    flow_id: str
    runs: list[RunModel]
    #: state → one duration per run (None where the run did not finish that state)
    durations: dict[str, list[float | None]]

    def stats(self) -> dict[str, dict[str, float | int | None]]:
        """Per state: how many runs finished it, and the min / median / max duration."""
        out: dict[str, dict[str, float | int | None]] = {}
        for name, values in self.durations.items():
            known = [v for v in values if v is not None]
            out[name] = {"runs": len(known),
                         "min": min(known) if known else None,
                         "median": statistics.median(known) if known else None,
                         "max": max(known) if known else None}
        return out

    def gantt(self, run_index: int = -1) -> list[dict[str, t.Any]]:
        """One run's states as bars (offset from its start, duration) beside the median."""
        model = self.runs[run_index]
        infos, timeline = model.derive()
        # from the first state's start: the run's own start precedes it by the engine's
        # set-up, which would dwarf the states of a quick run
        starts = [s for s in (parse_time(b["start"]) for b in timeline) if s is not None]
        start = min(starts, default=0.0)
        stats = self.stats()
        bars = []
        for bar in timeline:
            begin = parse_time(bar["start"])
            bars.append({"state": bar["state"], "status": bar["status"],
                         "offset": None if begin is None else max(0.0, begin - start),
                         "duration": _duration(bar["start"], bar["end"]),
                         "median": stats.get(bar["state"], {}).get("median")})
        return bars

    def to_dict(self) -> dict[str, t.Any]:
        return {"flow_id": self.flow_id,
                "runs": [_run_summary(m) for m in self.runs],
                "durations": self.durations, "stats": self.stats(),
                "gantt": self.gantt() if self.runs else []}


def recent_run_ids(flows_client: t.Any, flow_id: str, last: int = 20) -> list[str]:
    """The ids of a flow's last ``last`` ended runs, newest first."""
    ids: list[str] = []
    marker = None
    for _ in range(100):  # pages at most
        kwargs: dict[str, t.Any] = {"filter_flow_id": flow_id,
                                    "query_params": {"orderby": "start_time DESC"}}
        if marker:
            kwargs["marker"] = marker
        data = response_data(flows_client.list_runs(**kwargs))
        for run in data.get("runs") or []:
            if run.get("status") in TERMINAL_STATUSES:
                ids.append(str(run["run_id"]))
            if len(ids) >= last:
                return ids
        marker = data.get("marker")
        if not (data.get("has_next_page") and marker):
            break
    return ids


def flow_durations(flows_client: t.Any, flow_id: str, last: int = 20) -> FlowDurations:
    """Per-state durations of a flow's last ``last`` ended runs (read whole, oldest first)."""
    models = [load_run(flows_client, rid) for rid in reversed(recent_run_ids(flows_client, flow_id, last))]
    durations: dict[str, list[float | None]] = {}
    for i, model in enumerate(models):
        infos, _ = model.derive()
        for name, info in infos.items():
            durations.setdefault(name, [None] * len(models))[i] = (
                _duration(info.started, info.ended) if info.status in ("succeeded", "failed", "caught")
                else None)
    return FlowDurations(flow_id, models, durations)
