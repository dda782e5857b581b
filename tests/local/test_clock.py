"""The service clock: flows that wait for hours or days are tested in seconds.

Every test drives a PRIVATE service (its own state folder) through the real globus-sdk, so
the session's service keeps real time. Wait semantics follow Globus's Wait States page
(https://docs.globus.org/api/flows/authoring-flows/wait_state: "The Wait state waits either
a fixed number of seconds or until some deadline is reached"; Timestamp: "A deadline, after
which the run should resume"); ``WaitTime`` is the Action state's bound on its action
(https://docs.globus.org/api/flows/authoring-flows/actions), past which the state fails with
``ActionTimeout`` holding "the status of the most recent poll of the Action" (Handling
Exceptions). Here the deadlines are the service clock's.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from gladier_jupyter.errors import GladierJupyterUsageError
from gladier_jupyter.local import _client, clock
from tests._fixtures.runs import run_log, wait_for_log_code
from tests.reliability._service import deploy, flows_client, private_service, start, wait_for_run

HELLO = "https://actions.globus.org/hello_world"


def _wait_flow(**wait: object) -> dict:
    return {"StartAt": "Pause", "States": {"Pause": {"Type": "Wait", **wait, "Next": "Done"},
                                           "Done": {"Type": "Pass", "End": True}}}


def _hello_flow(sleep_time: float, wait_time: float) -> dict:
    return {"StartAt": "Hello", "States": {"Hello": {
        "Type": "Action", "ActionUrl": HELLO, "Parameters": {"echo_string": "hi", "sleep_time": sleep_time},
        "ResultPath": "$.hello", "WaitTime": wait_time, "End": True}}}


def _time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _assert_times_in_order(entries: list[dict]) -> None:
    times = [_time(e["time"]) for e in entries]
    assert times == sorted(times), [e["time"] for e in entries]


@pytest.fixture(scope="module")
def svc(tmp_path_factory):
    state = tmp_path_factory.mktemp("clock") / "svc"
    with private_service(state) as info:
        yield info


def _run(info, definition: dict, body: dict | None = None, waits_for: str = "WaitStarted") -> tuple:
    fc = flows_client(info)
    run_id = start(fc, deploy(fc, definition, "clock"), body)["run_id"]
    wait_for_log_code(fc, run_id, waits_for, timeout=30)
    return fc, run_id


def test_an_hour_long_wait_succeeds_at_once_after_next_timer(svc):
    fc, run_id = _run(svc, _wait_flow(Seconds=3600))
    assert clock.status(svc.state_dir)["next_timer"] is not None
    before = clock.now(svc.state_dir)
    fired = clock.next_timer(svc.state_dir)
    assert fired is not None and (fired - before).total_seconds() > 3500
    run = wait_for_run(fc, run_id, timeout=15)
    assert run["status"] == "SUCCEEDED"
    entries = run_log(fc, run_id)
    _assert_times_in_order(entries)
    by_code = {e["code"]: e for e in entries}
    waited = _time(by_code["WaitCompleted"]["time"]) - _time(by_code["WaitStarted"]["time"])
    assert waited.total_seconds() >= 3600
    assert (_time(run["completion_time"]) - _time(run["start_time"])).total_seconds() >= 3600
    # The monitor's data says time was moved: entries after the jump carry the offset.
    assert "clock_offset" not in by_code["WaitStarted"]["details"] or \
        by_code["WaitStarted"]["details"]["clock_offset"] < by_code["WaitCompleted"]["details"]["clock_offset"]
    assert by_code["WaitCompleted"]["details"]["clock_offset"] >= 3500
    assert by_code["FlowSucceeded"]["details"]["clock_offset"] >= 3500
    assert run["details"]["clock_offset"] >= 3500


def test_a_timestamp_wait_a_day_ahead_succeeds_after_advancing_a_day(svc):
    when = clock.now(svc.state_dir) + dt.timedelta(days=1) - dt.timedelta(minutes=1)
    fc, run_id = _run(svc, _wait_flow(TimestampPath="$.when"), {"when": when.isoformat()})
    assert fc.get_run(run_id).data["status"] == "ACTIVE"
    clock.advance(86400, svc.state_dir)
    run = wait_for_run(fc, run_id, timeout=15)
    assert run["status"] == "SUCCEEDED"
    _assert_times_in_order(run_log(fc, run_id))
    assert _time(run["completion_time"]) >= when


def test_seconds_path_wait_follows_the_clock(svc):
    fc, run_id = _run(svc, _wait_flow(SecondsPath="$.s"), {"s": 7 * 86400})
    clock.advance(7 * 86400, svc.state_dir)
    assert wait_for_run(fc, run_id, timeout=15)["status"] == "SUCCEEDED"


def test_an_action_times_out_after_an_advance_past_its_wait_time(svc):
    fc, run_id = _run(svc, _hello_flow(sleep_time=100_000, wait_time=600), waits_for="ActionStarted")
    clock.advance(700, svc.state_dir)
    run = wait_for_run(fc, run_id, timeout=15)
    assert run["status"] == "FAILED"
    assert run["details"]["details"]["error"] == "ActionTimeout", run["details"]
    _assert_times_in_order(run_log(fc, run_id))


def test_hello_world_sleep_follows_the_clock(svc):
    fc, run_id = _run(svc, _hello_flow(sleep_time=7200, wait_time=86400), waits_for="ActionStarted")
    # The earliest timer is the end of the sleep, not the day-long WaitTime.
    fired = clock.next_timer(svc.state_dir)
    run = wait_for_run(fc, run_id, timeout=15)
    assert run["status"] == "SUCCEEDED", run["details"]
    assert run["details"]["output"]["hello"]["details"]["hello"] == "hi"
    assert fired is not None and _time(run["completion_time"]) >= fired


def test_a_faster_clock_ends_a_two_hour_wait_within_seconds(svc):
    fc, run_id = _run(svc, _wait_flow(Seconds=7200))
    try:
        assert clock.speed(7200, svc.state_dir) == 7200
        run = wait_for_run(fc, run_id, timeout=20)
    finally:
        clock.speed(1, svc.state_dir)
    assert run["status"] == "SUCCEEDED"
    entries = run_log(fc, run_id)
    _assert_times_in_order(entries)
    assert any(e["details"].get("clock_speed") == 7200 for e in entries)


def test_the_one_year_limit_counts_service_time(svc):
    definition = {"StartAt": "A", "States": {
        "A": {"Type": "Wait", "Seconds": 200 * 86400, "Next": "B"},
        "B": {"Type": "Wait", "Seconds": 200 * 86400, "End": True}}}
    fc, run_id = _run(svc, definition)
    clock.next_timer(svc.state_dir)
    run = wait_for_run(fc, run_id, timeout=15)
    assert run["status"] == "FAILED" and run["details"]["details"]["error"] == "States.Runtime"
    assert "1 year" in run["details"]["details"]["cause"]


def test_the_clock_never_goes_back(svc):
    before = clock.now(svc.state_dir)
    with pytest.raises(GladierJupyterUsageError) as err:
        clock.advance(-5, svc.state_dir)
    message = str(err.value)
    assert "\n" not in message and "negative" in message and "-5" in message
    with pytest.raises(GladierJupyterUsageError, match="speed"):
        clock.speed(-1, svc.state_dir)
    status, body = _client.call(svc, "POST", "clock", body={"advance": "soon"})
    assert status == 400 and body["code"] == "BAD_REQUEST" and "'soon'" in body["message"]
    status, body = _client.call(svc, "POST", "clock", body={"rewind": 5})
    assert status == 400 and "rewind" in body["message"]
    assert clock.now(svc.state_dir) >= before
    assert clock.next_timer(svc.state_dir) is None  # nothing waits: no jump


def test_the_clock_route_wants_the_service_secret(svc):
    stranger = dataclasses.replace(svc, secret="not-the-secret")
    before = clock.now(svc.state_dir)
    status, _ = _client.call(stranger, "POST", "clock", body={"advance": 10**6})
    assert status == 401
    status, _ = _client.call(stranger, "GET", "clock")
    assert status == 401
    assert (clock.now(svc.state_dir) - before).total_seconds() < 10**5


def test_reset_is_refused_while_a_run_waits_then_returns_to_real_time(svc):
    fc, run_id = _run(svc, _wait_flow(Seconds=3600))
    with pytest.raises(GladierJupyterUsageError, match=run_id):
        clock.reset(svc.state_dir)
    clock.next_timer(svc.state_dir)
    assert wait_for_run(fc, run_id, timeout=15)["status"] == "SUCCEEDED"
    clock.reset(svc.state_dir)
    state = clock.status(svc.state_dir)
    assert abs(state["offset_seconds"]) < 5 and state["speed"] == 1


def test_a_restart_keeps_the_offset_and_resumes_the_waiting_run(tmp_path):
    state = tmp_path / "svc"
    with private_service(state) as info:
        fc, run_id = _run(info, _wait_flow(Seconds=3600))
        clock.advance(1800, state)
        started = {e["code"]: e for e in run_log(fc, run_id)}["WaitStarted"]
    assert (state / "clock.json").exists()
    with private_service(state) as info:
        fc = flows_client(info)
        assert clock.status(state)["offset_seconds"] >= 1800
        assert fc.get_run(run_id).data["status"] == "ACTIVE"
        fired = clock.next_timer(state)
        assert fired is not None
        run = wait_for_run(fc, run_id, timeout=15)
        assert run["status"] == "SUCCEEDED"
        entries = run_log(fc, run_id)
        _assert_times_in_order(entries)
        completed = {e["code"]: e for e in entries}["WaitCompleted"]
        # The resumed Wait kept its original end time: an hour after it started.
        until = _time(completed["details"]["output"]["until"])
        assert abs((until - _time(started["time"])).total_seconds() - 3600) < 5
