"""What a run's outcome looks like to its reader: states that failed while the run went on
(gladier's ExceptionOnActionFailure false), cancelled runs, a counter whose total holds,
and a log read once however long it grows."""

from __future__ import annotations

import copy
import json
import pathlib

from gladier_jupyter import monitor
from gladier_jupyter.widgets.run_snapshot import snapshot_html

DATA = pathlib.Path(__file__).parent / "data" / "monitor"

TRACEBACK = ("Traceback (most recent call last):\n  File \"<string>\", line 2, in gather\n"
             "ValueError: detector offline: D7\n")

# A gladier flow: two compute states (ExceptionOnActionFailure false), a Search ingest.
GLADIER_FLOW = {"StartAt": "RunExperiment", "States": {
    "RunExperiment": {"Type": "Action", "ActionUrl": "https://compute.actions.globus.org",
                      "ExceptionOnActionFailure": False, "ResultPath": "$.RunExperiment",
                      "Next": "GatherMetadata"},
    "GatherMetadata": {"Type": "Action", "ActionUrl": "https://compute.actions.globus.org",
                       "ExceptionOnActionFailure": False, "ResultPath": "$.GatherMetadata",
                       "Next": "PublishMetadata"},
    "PublishMetadata": {"Type": "Action", "ActionUrl": "https://actions.globus.org/search/ingest",
                        "End": True}}}


def entry(code: str, state: str | None = None, **details) -> dict:
    d = dict(details)
    if state:
        d["state_name"] = state
    return {"time": "2026-01-01T00:00:00+00:00", "code": code, "description": code, "details": d}


def succeeded_with_a_failed_state() -> monitor.RunModel:
    model = monitor.RunModel("r1", definition=GLADIER_FLOW)
    model.set_run({"run_id": "r1", "status": "SUCCEEDED", "display_status": "SUCCEEDED"})
    model.add_entries([
        entry("FlowStarted"),
        entry("ActionStarted", "RunExperiment"), entry("ActionCompleted", "RunExperiment"),
        entry("ActionStarted", "GatherMetadata"),
        entry("ActionFailed", "GatherMetadata", output={"exception": TRACEBACK}),
        entry("ActionStarted", "PublishMetadata"), entry("ActionCompleted", "PublishMetadata"),
        entry("FlowSucceeded", output={}),
    ])
    return model


def test_run_that_succeeded_with_a_failed_state_is_a_warning_naming_the_exception():
    model = succeeded_with_a_failed_state()
    snap = model.snapshot()
    assert snap["status"] == "SUCCEEDED"  # the run status stays what Globus says
    assert snap["outcome"] == "warning"
    assert snap["headline"] == "SUCCEEDED · 1 state failed"
    assert snap["failed_states"] == {"GatherMetadata": "ValueError: detector offline: D7"}
    assert snap["failure"] == "GatherMetadata: ValueError: detector offline: D7"
    assert snap["states"]["GatherMetadata"]["status"] == "failed"
    assert snap["progress"] == {"done": 3, "total": 3}


def test_two_failed_states_are_counted_in_the_plural():
    model = monitor.RunModel("r", definition=GLADIER_FLOW)
    model.set_run({"status": "SUCCEEDED"})
    model.add_entries([
        entry("ActionStarted", "RunExperiment"), entry("ActionFailed", "RunExperiment", error="A"),
        entry("ActionStarted", "GatherMetadata"), entry("ActionFailed", "GatherMetadata", error="B"),
        entry("ActionStarted", "PublishMetadata"), entry("ActionCompleted", "PublishMetadata")])
    _, headline, failure = model.outcome(model.derive()[0])
    assert headline == "SUCCEEDED · 2 states failed"
    assert failure == "RunExperiment: A"


def test_a_clean_run_and_a_failed_run_keep_their_own_status():
    case = json.loads((DATA / "failed_compute.json").read_text())
    model = monitor.RunModel("r", definition=case["definition"])
    model.set_run(case["run"])
    model.add_entries(case["entries"])
    snap = model.snapshot()
    assert (snap["outcome"], snap["headline"]) == ("failed", "FAILED")
    assert "RunExperiment" in snap["failed_states"]
    clean = monitor.RunModel("c", definition=GLADIER_FLOW)
    clean.set_run({"status": "SUCCEEDED"})
    clean.add_entries([entry("ActionStarted", "RunExperiment"),
                       entry("ActionCompleted", "RunExperiment")])
    snap = clean.snapshot()
    assert (snap["outcome"], snap["headline"], snap["failure"]) == ("succeeded", "SUCCEEDED", "")
    assert snap["failed_states"] == {}


def test_cancelled_run_marks_the_running_state_and_counts_the_states_it_reached():
    model = monitor.RunModel("r", definition=GLADIER_FLOW)
    model.set_run({"status": "ACTIVE"})
    model.add_entries([entry("ActionStarted", "RunExperiment"),
                       entry("ActionCompleted", "RunExperiment"),
                       entry("ActionStarted", "GatherMetadata")])
    assert model.snapshot()["progress"] == {"done": 1, "total": 3}
    # The Flows API's cancel: the run FAILED with details.code FlowCanceled.
    model.set_run({"status": "FAILED", "details": {"code": "FlowCanceled"}})
    model.add_entries([entry("FlowCanceled")])
    snap = model.snapshot()
    assert (snap["outcome"], snap["headline"]) == ("cancelled", "CANCELLED")
    assert snap["states"]["GatherMetadata"]["status"] == "cancelled"
    assert snap["states"]["PublishMetadata"]["status"] == "skipped"
    assert snap["progress"] == {"done": 2, "total": 2}
    assert monitor.document_outcome({"status": "ENDED", "details": {"code": "FlowCanceled"}}
                                    )["outcome"] == "cancelled"
    assert monitor.document_outcome({"status": "FAILED", "details": {"code": "X"}}
                                    )["outcome"] == "failed"


def test_state_counter_keeps_its_total_through_a_loop_and_a_choice():
    case = json.loads((DATA / "choice_loop.json").read_text())
    model = monitor.RunModel("r", definition=case["definition"])
    model.set_run({**case["run"], "status": "ACTIVE", "completion_time": None})
    totals, dones = [], []
    for e in case["entries"]:
        if e["code"].startswith("Flow") and e["code"] != "FlowStarted":
            break
        model.add_entries([e])
        p = model.snapshot()["progress"]
        totals.append(p["total"])
        dones.append(p["done"])
    assert set(totals) == {4}  # Init, Count, Check, Done: the longest path without a loop
    assert dones == sorted(dones)  # a loop state running again does not count down
    model.set_run(case["run"])
    assert model.snapshot()["progress"] == {"done": 4, "total": 4}


def test_longest_path_of_a_500_state_chain_needs_no_recursion():
    states = {f"S{i}": {"Type": "Pass", **({"Next": f"S{i + 1}"} if i < 499 else {"End": True})}
              for i in range(500)}
    states["S250"] = {"Type": "Choice", "Choices": [{"Variable": "$.x", "BooleanEquals": True,
                                                     "Next": "S0"}], "Default": "S251"}
    model = monitor.RunModel("r", definition={"StartAt": "S0", "States": states})
    assert model.longest_path() == 500


def test_reading_the_log_in_pieces_gives_what_reading_it_at_once_gives():
    case = json.loads((DATA / "choice_loop.json").read_text())
    whole = monitor.RunModel("a", definition=case["definition"])
    whole.set_run(case["run"])
    whole.add_entries(case["entries"])
    pieces = monitor.RunModel("a", definition=case["definition"])
    pieces.set_run(case["run"])
    for e in case["entries"]:
        pieces.add_entries([copy.deepcopy(e)])
        pieces.snapshot()
    assert pieces.snapshot() == whole.snapshot()
    # A log replaced as a whole (another reader) is read again from its start.
    pieces.entries = list(case["entries"][:3])
    assert pieces.derive()[0]["Count"].attempts == 0


def test_timeline_of_a_long_loop_sends_only_its_newest_bars():
    definition = {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}
    model = monitor.RunModel("r", definition=definition)
    model.set_run({"status": "ACTIVE"})
    model.add_entries([e for _ in range(1000)
                       for e in (entry("PassStarted", "A"), entry("PassCompleted", "A"))])
    snap = model.snapshot()
    assert len(snap["timeline"]) == monitor.MAX_TIMELINE_BARS
    assert snap["states"]["A"]["attempts"] == 1000


class _Shown:
    """What snapshot_html reads of a monitor."""

    def __init__(self, model: monitor.RunModel) -> None:
        snap = model.snapshot()
        for key in ("status", "label", "run_id", "flow_title", "states", "inactive_reason",
                    "error", "timeline", "outcome", "headline", "failure", "failed_states"):
            setattr(self, key, snap[key])
        self.web_url = ""
        self.events = [monitor.log_row(i, e) for i, e in enumerate(model.entries)]


def test_static_snapshot_shows_the_warning_and_the_exception_line():
    model = succeeded_with_a_failed_state()
    html = snapshot_html(_Shown(model), model.definition)
    assert 'data-outcome="warning"' in html
    assert "SUCCEEDED · 1 state failed" in html
    assert "GatherMetadata: ValueError: detector offline: D7" in html
    assert 'title="ValueError: detector offline: D7"' in html
