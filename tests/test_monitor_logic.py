"""Pure logic of the run monitor: incremental log paging, state derivation, polling policy."""

from __future__ import annotations

import base64
import json
import pathlib

import pytest

from gladier_jupyter import monitor
from tests._fixtures.waiting import wait_until

DATA = pathlib.Path(__file__).parent / "data" / "monitor"


def load(name: str) -> dict:
    return json.loads((DATA / name).read_text())


class _GrowingLog:
    """A run log served the way the Flows API pages it (limit, marker, has_next_page)."""

    def __init__(self) -> None:
        self.entries: list[dict] = []
        self.calls = 0
        self.stale: set[str] = set()

    def add(self, n: int) -> None:
        for _ in range(n):
            i = len(self.entries)
            self.entries.append({"time": f"t{i}", "code": "PassStarted", "description": f"e{i}",
                                 "details": {"state_name": f"S{i}"}})

    def get_run_logs(self, run_id: str, limit: int = 10, marker: str | None = None) -> dict:
        self.calls += 1
        if marker is not None and marker in self.stale:
            self.stale.discard(marker)  # a fresh marker for the same page works again
            err = RuntimeError("bad marker")
            err.http_status = 400  # type: ignore[attr-defined]
            raise err
        start = int(base64.b64decode(marker)) if marker else 0
        page = self.entries[start:start + limit]
        more = start + limit < len(self.entries)
        body = {"limit": limit, "has_next_page": more, "entries": page}
        if more:
            body["marker"] = base64.b64encode(str(start + limit).encode()).decode()
        return body


def test_log_reader_returns_each_entry_once_across_many_pages_while_log_grows():
    log = _GrowingLog()
    reader = monitor.LogReader("r", page_size=100)
    seen: list[dict] = []
    for batch in [0, 7, 93, 1, 150, 0, 99, 2, 300]:
        log.add(batch)
        seen.extend(reader.read_new(log))
    assert [e["description"] for e in seen] == [f"e{i}" for i in range(len(log.entries))]
    assert len(seen) == 652


def test_log_reader_rereads_only_the_last_page_per_poll():
    log = _GrowingLog()
    log.add(450)
    reader = monitor.LogReader("r", page_size=100)
    assert len(reader.read_new(log)) == 450
    log.calls = 0
    log.add(3)
    assert [e["description"] for e in reader.read_new(log)] == ["e450", "e451", "e452"]
    assert log.calls == 1


def test_log_reader_reads_at_most_max_pages_per_poll_and_the_rest_on_later_polls():
    # A log growing faster than it is read (a runaway loop) must not be followed for ever
    # in one poll: each poll returns a bounded piece, and later polls return the rest.
    log = _GrowingLog()
    log.add(450)
    reader = monitor.LogReader("r", page_size=100, max_pages=2)
    sizes, seen = [], []
    while not sizes or not reader.caught_up:
        new = reader.read_new(log)
        sizes.append(len(new))
        seen.extend(new)
        log.add(10)  # it keeps growing meanwhile
    assert sizes == [200, 200, 70]
    assert [e["description"] for e in seen] == [f"e{i}" for i in range(470)]
    assert log.calls == 2 + 2 + 1


def test_log_reader_starts_over_when_the_service_rejects_its_marker():
    log = _GrowingLog()
    log.add(260)
    reader = monitor.LogReader("r", page_size=100)
    assert len(reader.read_new(log)) == 260
    log.add(5)
    log.stale.add(base64.b64encode(b"200").decode())  # the marker the reader holds
    new = reader.read_new(log)
    assert [e["description"] for e in new] == [f"e{i}" for i in range(260, 265)]


def test_choice_loop_gives_one_timeline_bar_per_visit_and_skips_unreached_states():
    case = load("choice_loop.json")
    model = monitor.RunModel(case["run"]["run_id"], definition=case["definition"])
    model.set_run(case["run"])
    model.add_entries(case["entries"])
    infos, timeline = model.derive()
    assert {n: i.status for n, i in infos.items()} == {
        "Init": "succeeded", "Count": "succeeded", "Check": "succeeded", "Done": "succeeded",
        "Never": "skipped"}
    assert infos["Count"].attempts == 3
    assert [b["state"] for b in timeline].count("Count") == 3
    assert all(b["end"] for b in timeline)
    assert json.loads(model.snapshot()["output"]) == {"counter": {"n": 3}}


def test_active_run_marks_the_running_state_and_counts_states_ahead():
    case = load("choice_loop.json")
    model = monitor.RunModel("r", definition=case["definition"])
    model.set_run({**case["run"], "status": "ACTIVE", "completion_time": None})
    model.add_entries(case["entries"][:4])  # Init done, Count started
    infos, _ = model.derive()
    assert infos["Count"].status == "active"
    assert infos["Done"].status == "pending"
    # Init done; Count, Check, Done ahead on the default path.
    assert model.progress(infos) == {"done": 1, "total": 4}


def test_failed_compute_state_carries_the_remote_traceback():
    case = load("failed_compute.json")
    model = monitor.RunModel("r", definition=case["definition"])
    model.set_run(case["run"])
    model.add_entries(case["entries"])
    snap = model.snapshot()
    state = snap["states"]["RunExperiment"]
    assert state["status"] == "failed"
    assert "ValueError: detector offline" in state["traceback"]
    assert state["error"].startswith("ActionFailedException")
    assert snap["states"]["Publish"]["status"] == "skipped"
    assert "failed" in snap["error"]


def test_state_that_failed_but_run_went_on_is_caught():
    model = monitor.RunModel("r", definition={"StartAt": "A", "States": {
        "A": {"Type": "Action", "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "B"}],
              "End": True},
        "B": {"Type": "Pass", "End": True}}})
    model.set_run({"status": "SUCCEEDED"})
    model.add_entries([
        {"time": "1", "code": "ActionStarted", "details": {"state_name": "A"}},
        {"time": "2", "code": "ActionFailed", "details": {"state_name": "A", "error": "boom"}},
        {"time": "3", "code": "PassStarted", "details": {"state_name": "B"}},
        {"time": "4", "code": "PassCompleted", "details": {"state_name": "B"}},
    ])
    infos, _ = model.derive()
    assert infos["A"].status == "caught"
    assert infos["B"].status == "succeeded"


def test_inactive_run_gives_the_reason_and_the_scope_to_consent_to():
    model = monitor.RunModel("r")
    model.set_run(load("inactive_run.json"))
    assert "needs consent" in model.inactive_reason()
    assert model.required_scopes() == [
        "https://auth.globus.org/scopes/actions.globus.org/transfer/transfer"]


def test_globus_polling_backs_off_to_ten_seconds_and_is_fast_after_a_change():
    policy = monitor.GLOBUS_POLICY
    delays, d = [], None
    for _ in range(10):
        d = policy.next_delay(d, changed=False) if delays else policy.next_delay(None, True)
        delays.append(d)
    assert delays[0] == 0.5
    assert delays[-1] == 10.0
    assert delays == sorted(delays)
    assert policy.next_delay(10.0, changed=True) == 0.5


def test_globus_polling_stays_under_thirty_requests_a_minute_when_idle():
    policy = monitor.GLOBUS_POLICY
    now, d, requests, polls = 0.0, None, 0, 0
    while now < 60.0:
        polls += 1
        requests += 1 + (1 if polls % policy.run_every == 1 else 0)
        d = policy.next_delay(d, changed=polls == 1)
        now += d
    assert requests <= 30


def test_retry_after_is_respected_and_errors_are_classified():
    class Err(Exception):
        def __init__(self, status, headers=None):
            self.http_status = status
            self.headers = headers or {}

    assert monitor.classify_error(Err(429, {"Retry-After": "7"}))[0::2] == ("transient", 7.0)
    assert monitor.classify_error(Err(503))[0] == "transient"
    assert monitor.classify_error(Err(401))[0] == "auth"
    assert monitor.classify_error(ConnectionRefusedError())[0] == "transient"
    assert monitor.GLOBUS_POLICY.retry_delay(1, retry_after=7.0) == 7.0
    assert monitor.GLOBUS_POLICY.retry_delay(10) == 30.0


@pytest.mark.parametrize("url,local", [
    ("http://127.0.0.1:5555/flows/", True), ("https://flows.automate.globus.org/", False)])
def test_local_service_is_recognised_by_its_address(url, local):
    class C:
        base_url = url

    assert monitor.is_local_client(C()) is local


def test_watcher_keeps_reading_until_the_log_catches_up_with_an_ended_run():
    class LaggingFlows:
        """The run document says SUCCEEDED one read before the log has its last entry."""

        base_url = "https://flows.example.org/"

        def __init__(self) -> None:
            self.log = _GrowingLog()
            self.log.entries = [{"time": "1", "code": "FlowStarted", "details": {}}]
            self.log_reads = 0

        def get_run(self, run_id):
            return {"run_id": run_id, "status": "SUCCEEDED"}

        def get_run_logs(self, run_id, **kwargs):
            self.log_reads += 1
            if self.log_reads == 4:
                self.log.entries.append({"time": "2", "code": "FlowSucceeded", "details": {}})
            return self.log.get_run_logs(run_id, **kwargs)

        def get_run_definition(self, run_id):
            return {"definition": {"StartAt": "A", "States": {"A": {"Type": "Pass",
                                                                  "End": True}}}}

    flows = LaggingFlows()
    watcher = monitor.RunWatcher(flows, "r")
    wait_until(lambda: (watcher.poll_once(), watcher._ended)[1], 10,
               "the watcher ends once the log has the run's last entry",
               interval=0, max_interval=0)
    assert [e["code"] for e in watcher.model.entries] == ["FlowStarted", "FlowSucceeded"]
