"""kill -9 of the service in the middle of runs, and compute functions that crash their worker:
runs resume or end FAILED with a reason, nothing stored is lost, the service carries on."""

from __future__ import annotations

import os
import signal
import uuid

import pytest

from tests._fixtures.data import load_json
from tests._fixtures.processes import gone
from tests._fixtures.waiting import wait_until
from tests.reliability import _service as svc


def slow_double(**data):
    import time

    time.sleep(data.get("sleep", 2.0))
    return data["n"] * 2


def segfault(**data):
    import ctypes

    ctypes.string_at(0)


def hard_exit(**data):
    import os

    os._exit(7)


def exhaust_memory(**data):
    # Bounded: the function caps its own address space, then allocates past the cap.
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (512 * 1024 * 1024, hard))
    try:
        hog = [bytearray(64 * 1024 * 1024) for _ in range(64)]
        return len(hog)
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def oom_killed(**data):
    # What the kernel's OOM killer does to a worker that ate all memory.
    import os
    import signal

    os.kill(os.getpid(), signal.SIGKILL)


def hang(**data):
    import time

    time.sleep(600)


def _kill9(pid: int) -> None:
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: gone(pid), 10, f"the killed service {pid} is gone")


DEFINITIONS = load_json("flows/reliability.json")
CHOICE_LOOP = DEFINITIONS["kill_choice_loop_150"]
WAIT = DEFINITIONS["kill_wait_3s"]


def _ingest_state(index_id: str, subject: str) -> dict:
    return {
        "Type": "Action",
        "ActionUrl": "https://actions.globus.org/search/ingest",
        "Parameters": {"search_index": index_id, "subject": subject, "visible_to": ["public"],
                       "content": {"title": subject}},
        "ResultPath": "$.Ingest",
        "End": True,
    }


def test_kill_9_mid_runs_then_restart_resumes_every_run_and_loses_nothing(tmp_path):
    state_dir = tmp_path / "svc"
    with svc.private_service(state_dir) as info:
        fc = svc.flows_client(info)
        cc = svc.compute_client(info)
        fid = cc.register_function(slow_double)
        index_id = svc.search_client(info).post(
            "/beta/index", data={"display_name": "kill test", "description": "kill test"}).data["id"]
        compute_flow = {
            "StartAt": "Compute",
            "States": {
                "Compute": svc.compute_state(fid, next_state="Publish"),
                "Publish": _ingest_state(index_id, "kill-test-subject"),
            },
        }
        runs = {
            "compute": svc.start(fc, svc.deploy(fc, compute_flow), {"input": {"n": 21, "sleep": 3}}),
            "wait": svc.start(fc, svc.deploy(fc, WAIT)),
            "choice_loop": svc.start(fc, svc.deploy(fc, CHOICE_LOOP)),
        }
        # a finished run with a search document, before the kill
        done = svc.start(fc, svc.deploy(fc, {"StartAt": "P", "States": {
            "P": _ingest_state(index_id, "before-kill")}}))
        assert svc.wait_for_run(fc, done["run_id"])["status"] == "SUCCEEDED"

        def codes(run_id: str) -> list[str]:
            return [e["code"] for e in svc.run_log(fc, run_id)]

        wait_until(lambda: codes(runs["compute"]["run_id"]), 60, "the compute action is in flight",
                   until=lambda seen: "ActionStarted" in seen)
        wait_until(lambda: codes(runs["wait"]["run_id"]), 60, "the Wait state starts",
                   until=lambda seen: "WaitStarted" in seen)
        wait_until(lambda: codes(runs["choice_loop"]["run_id"]), 60, "five Choice loop iterations",
                   until=lambda seen: seen.count("ChoiceCompleted") >= 5)
        before_logs = {k: svc.run_log(fc, r["run_id"]) for k, r in runs.items()}
        for k, r in runs.items():
            assert fc.get_run(r["run_id"])["status"] == "ACTIVE", k
        old_pid = info.pid
        before = svc.stored_counts(state_dir)
        _kill9(old_pid)
        after_kill = svc.stored_counts(state_dir)

        from gladier_jupyter import local

        restarted = local.ensure_running(state_dir)
        assert restarted.pid != old_pid
        fc = svc.flows_client(restarted)
        ends = {k: svc.wait_for_run(fc, r["run_id"], timeout=120) for k, r in runs.items()}
        for k, run in ends.items():
            assert run["status"] in ("SUCCEEDED", "FAILED"), (k, run["status"])
            if run["status"] == "FAILED":
                assert run["details"].get("description"), (k, run["details"])
        # these three have nothing to fail on: they resume where they were and succeed
        assert {k: r["status"] for k, r in ends.items()} == dict.fromkeys(runs, "SUCCEEDED"), repr(ends["compute"]["details"])[:3000]
        assert ends["compute"]["details"]["output"]["Result"]["details"]["result"] == [42]
        assert ends["choice_loop"]["details"]["output"]["loop"]["n"] == 150
        for k, r in runs.items():
            log_after = svc.run_log(fc, r["run_id"])
            # every entry written before the kill is still there, in order, and the run's
            # log ends with exactly one FlowSucceeded
            assert log_after[: len(before_logs[k])] == before_logs[k], k
            assert [e["code"] for e in log_after].count("FlowSucceeded") == 1, k
        # side-effect-free states are neither lost nor repeated: the killed runs' logs read
        # like those of the same flows run without a kill
        for k in ("wait", "choice_loop"):
            reference = svc.start(fc, runs[k]["flow_id"])
            assert svc.wait_for_run(fc, reference["run_id"], timeout=120)["status"] == "SUCCEEDED"
            assert [(e["code"], e["details"].get("state_name")) for e in svc.run_log(fc, runs[k]["run_id"])] == \
                [(e["code"], e["details"].get("state_name")) for e in svc.run_log(fc, reference["run_id"])], k
        after = svc.stored_counts(state_dir)
        # the killed service was still writing between the two counts: nothing went away
        assert {k: after_kill[k] for k in before if k != "log_entries"} == \
            {k: v for k, v in before.items() if k != "log_entries"}
        assert after_kill["log_entries"] >= before["log_entries"]
        assert after["flows"] == before["flows"]
        assert after["runs"] == before["runs"] + 2  # and the two reference runs
        assert after["functions"] == before["functions"] == 1
        assert after["log_entries"] > after_kill["log_entries"]
        assert after["search_docs"] == after_kill["search_docs"] + 1
        found = svc.search_client(restarted).search(index_id, "kill").data
        assert {g["subject"] for g in found["gmeta"]} >= {"before-kill", "kill-test-subject"}
        # the function registered before the kill still runs after it
        again = svc.start(fc, svc.deploy(fc, {"StartAt": "C", "States": {"C": svc.compute_state(fid)}}),
                          {"input": {"n": 1, "sleep": 0}})
        assert svc.wait_for_run(fc, again["run_id"])["status"] == "SUCCEEDED"


def test_two_kills_in_a_row_still_end_every_run(tmp_path):
    """A service killed again while it is resuming runs."""
    state_dir = tmp_path / "svc"
    from gladier_jupyter import local

    with svc.private_service(state_dir) as info:
        fc = svc.flows_client(info)
        flow_id = svc.deploy(fc, CHOICE_LOOP)
        run_ids = [svc.start(fc, flow_id)["run_id"] for _ in range(3)]
        def sizes() -> list[int]:
            return [len(svc.run_log(fc, r)) for r in run_ids]

        wait_until(sizes, 60, "every run is under way", until=lambda seen: min(seen) > 10)
        _kill9(info.pid)
        second = local.ensure_running(state_dir)
        fc = svc.flows_client(second)
        wait_until(sizes, 60, "a run resumes", until=lambda seen: max(seen) > 40)
        _kill9(second.pid)
        third = local.ensure_running(state_dir)
        fc = svc.flows_client(third)
        ends = [svc.wait_for_run(fc, r, timeout=120) for r in run_ids]
        assert [e["status"] for e in ends] == ["SUCCEEDED"] * 3
        assert [e["details"]["output"]["loop"]["n"] for e in ends] == [150] * 3


@pytest.mark.parametrize(
    ("func", "reason"),
    [
        (segfault, "SIGSEGV"),
        (hard_exit, "exit"),
        (exhaust_memory, "MemoryError"),
        (oom_killed, "SIGKILL"),
        (hang, "WaitTime"),
    ],
    ids=["segfault", "os_exit", "memory_exhausted", "oom_killed", "hang_past_waittime"],
)
def test_crashing_compute_function_fails_its_action_with_a_reason_and_others_carry_on(
    tmp_path_factory, crash_service, func, reason
):
    info, fc, cc = crash_service
    bad_fid = cc.register_function(func)
    good_fid = cc.register_function(slow_double)
    bad = svc.start(fc, svc.deploy(fc, {"StartAt": "C", "States": {
        "C": svc.compute_state(bad_fid, wait_time=3 if func is hang else 60)}}), {"input": {"n": 1}})
    good = svc.start(fc, svc.deploy(fc, {"StartAt": "C", "States": {
        "C": svc.compute_state(good_fid)}}), {"input": {"n": 4, "sleep": 0.5}})
    bad_end = svc.wait_for_run(fc, bad["run_id"], timeout=90)
    good_end = svc.wait_for_run(fc, good["run_id"], timeout=90)
    assert bad_end["status"] == "FAILED"
    description = bad_end["details"]["description"]
    assert reason in description, description
    assert "\n" not in description.strip()
    assert good_end["status"] == "SUCCEEDED"
    assert good_end["details"]["output"]["Result"]["details"]["result"] == [8]
    # same service process, still answering
    from gladier_jupyter import local

    assert local.status(info.state_dir).pid == info.pid


@pytest.fixture(scope="module")
def crash_service(tmp_path_factory):
    state_dir = tmp_path_factory.mktemp("crash") / f"svc-{uuid.uuid4().hex[:6]}"
    with svc.private_service(state_dir) as info:
        yield info, svc.flows_client(info), svc.compute_client(info)


def _kernel_run(kc, code: str) -> str:
    out: list[str] = []

    def hook(msg):
        if msg["msg_type"] == "stream":
            out.append(msg["content"]["text"])
        elif msg["msg_type"] == "error":
            out.append("ERROR " + msg["content"]["ename"] + ": " + msg["content"]["evalue"])

    reply = kc.execute_interactive(code, output_hook=hook, timeout=180)
    assert reply["content"]["status"] == "ok", "".join(out)
    return "".join(out)


def test_kernel_restart_while_a_run_is_watched_the_run_goes_on_and_attach_picks_it_up(local_service):
    from jupyter_client.manager import start_new_kernel

    km, kc = start_new_kernel(kernel_name="python3")
    try:
        started = _kernel_run(kc, (
            "import gladier_jupyter, globus_sdk\n"
            "from gladier_jupyter import backend\n"
            "backend.use_local()\n"
            "fc = backend.flows_client()\n"
            "flow = fc.create_flow('restart', {'StartAt': 'A', 'States': {\n"
            "    'A': {'Type': 'Pass', 'Next': 'Hold'},\n"
            "    'Hold': {'Type': 'Wait', 'Seconds': 3, 'Next': 'B'},\n"
            "    'B': {'Type': 'Pass', 'End': True}}}, {}).data\n"
            "run = fc.post(f\"/flows/{flow['id']}/run\", data={'body': {'k': 1}}).data\n"
            "monitor = gladier_jupyter.RunMonitor(run['run_id'], client=fc)\n"
            "print(run['run_id'])\n"))
        run_id = started.strip().splitlines()[-1]
        km.restart_kernel(now=True)
        kc.wait_for_ready(timeout=60)
        fc = svc.flows_client(local_service)
        assert fc.get_run(run_id)["status"] == "ACTIVE", "the run goes on without its kernel"
        after = _kernel_run(kc, (
            "import gladier_jupyter\n"
            f"m = gladier_jupyter.RunMonitor.attach({run_id!r})\n"
            "print(m.wait(timeout=120)); print(len(m.entries)); print(m.entries[-1]['code'])\n"))
        status, count, last = after.strip().splitlines()[-3:]
        assert status == "SUCCEEDED"
        assert int(count) == len(svc.run_log(fc, run_id))
        assert last == "FlowSucceeded"
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def allocate_gigabytes(**data):
    # no cap of its own: the worker's cap ($GLADIER_JUPYTER_COMPUTE_MEMORY_MB) must stop it
    hog = [bytearray(256 * 1024 * 1024) for _ in range(data["gb"] * 4)]
    return len(hog)


def test_worker_memory_cap_turns_a_runaway_allocation_into_a_failed_action(tmp_path):
    with svc.private_service(tmp_path / "svc", GLADIER_JUPYTER_COMPUTE_MEMORY_MB="768") as info:
        fc, cc = svc.flows_client(info), svc.compute_client(info)
        hog, good = cc.register_function(allocate_gigabytes), cc.register_function(slow_double)
        bad = svc.start(fc, svc.deploy(fc, {"StartAt": "C", "States": {"C": svc.compute_state(hog)}}),
                        {"input": {"gb": 8}})
        ok = svc.start(fc, svc.deploy(fc, {"StartAt": "C", "States": {"C": svc.compute_state(good)}}),
                       {"input": {"n": 5, "sleep": 0}})
        bad_end, ok_end = svc.wait_for_run(fc, bad["run_id"]), svc.wait_for_run(fc, ok["run_id"])
        assert bad_end["status"] == "FAILED"
        assert "MemoryError" in bad_end["details"]["description"]
        assert ok_end["status"] == "SUCCEEDED"
        assert ok_end["details"]["output"]["Result"]["details"]["result"] == [10]
        # the capped worker still serves the next task
        again = svc.start(fc, svc.deploy(fc, {"StartAt": "C", "States": {"C": svc.compute_state(good)}}),
                          {"input": {"n": 6, "sleep": 0}})
        assert svc.wait_for_run(fc, again["run_id"])["status"] == "SUCCEEDED"
