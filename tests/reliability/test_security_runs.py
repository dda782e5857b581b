"""A run that never ends is bounded: a Choice loop whose exit is never taken, over a 100 KB
input, ends FAILED at the run's log limit with the reason; the database stays small; other
runs go on; a restart does not resume it for ever; the service idles out after it; and a
RunMonitor on it shows its events a bounded piece per poll.

Limits: https://docs.globus.org/api/flows/limits/ (run duration 1 year); the log-entry cap
follows AWS Step Functions (25,000 history events) where Globus documents none, see
``gladier_jupyter/local/flows/limits.py``.

Measured with ``bench/bench_runaway_loop.py 15`` (same attack) on the code before the
limits: the database grew 338 MB in 15 s (4,335 log entries, still ACTIVE, no end), one
``LogReader.read_new`` had not returned after 15 s with 213 MB traced in the kernel, and a
normal run took 1.07 s. With them: FAILED after 4.6 s, 27.6 MB, one poll 0.76 s with
16 MB traced, the normal run 0.25 s.
"""

from __future__ import annotations

import json
import os
import pathlib
import threading
import time

import pytest

from gladier_jupyter.local.flows import limits
from tests._fixtures.data import load_json
from tests._fixtures.waiting import wait_until
from tests.reliability import _service as svc
from tests.reliability.test_kills import _kill9

BLOB = "x" * 100_000
ATTACK_INPUT = {"input": {"go": True, "blob": BLOB}}
DEFINITIONS = load_json("flows/reliability.json")
# Pass <-> Choice with an exit (Done) the input never lets it take: the service refuses a
# definition with no end state at all, so this is the shape a runaway loop takes.
LOOP = DEFINITIONS["runaway_loop"]
NORMAL = DEFINITIONS["normal_beside_runaway"]
# Nothing to wait for: how long a restarted service is watched not resuming an ended run.
QUIET = 1.0
# What one run's log may take at most (limits.py), and room for the database's own pages.
LOG_BOUND = limits.LOG_FULL_BYTES + limits.MAX_LOG_ENTRIES * limits.MAX_SHRUNK_ENTRY
DB_BOUND = LOG_BOUND + 8 * 1024 * 1024


def _db_bytes(state_dir: pathlib.Path) -> int:
    return sum(p.stat().st_size for p in state_dir.glob("flows.sqlite3*"))


def _last_entries(fc, run_id: str, n: int) -> list[dict]:
    """The run log's last ``n`` entries, newest first."""
    return list(fc.get_run_logs(run_id, limit=n, reverse_order=True)["entries"])


def _assert_limit_failure(fc, run: dict) -> None:
    assert run["status"] == "FAILED", run["details"]
    description = run["details"]["description"]
    assert "States.Runtime" in description and f"{limits.MAX_LOG_ENTRIES:,} log entries" in description
    assert "\n" not in description
    assert run["details"]["details"]["error"] == "States.Runtime"
    last = _last_entries(fc, run["run_id"], 1)[0]
    assert last["code"] == "FlowFailed"
    assert f"{limits.MAX_LOG_ENTRIES:,} log entries" in last["description"]


class _PeakRss:
    """The most this process's resident memory grew over its start, sampled every 20 ms
    (tracemalloc would slow the watching of 25,000 entries threefold)."""

    def __init__(self) -> None:
        self.base = self.peak = self._rss()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    @staticmethod
    def _rss() -> int:
        return int(pathlib.Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    def _sample(self) -> None:
        while not self._done.wait(0.02):
            self.peak = max(self.peak, self._rss())

    def stop(self) -> int:
        self._done.set()
        self._thread.join()
        return self.peak - self.base


def _service_gone(state_dir: pathlib.Path, pid: int) -> bool:
    from gladier_jupyter.local import process

    try:  # reap it if it is a child of this process
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return process.find_running(state_dir) is None
    return False


def test_runaway_loop_ends_failed_at_the_log_limit_with_a_bounded_database(tmp_path):
    state_dir = tmp_path / "svc"
    with svc.private_service(state_dir, GLADIER_JUPYTER_IDLE_TIMEOUT="3") as info:
        fc = svc.flows_client(info)
        loop_id, normal_id = svc.deploy(fc, LOOP), svc.deploy(fc, NORMAL)
        before = _db_bytes(state_dir)
        attack = svc.start(fc, loop_id, ATTACK_INPUT)
        # another run, started while the loop spins, is not starved
        assert fc.get_run(attack["run_id"])["status"] == "ACTIVE"
        normal = svc.start(fc, normal_id, {"input": {"n": 1}})
        assert svc.wait_for_run(fc, normal["run_id"], timeout=60)["status"] == "SUCCEEDED"

        end = svc.wait_for_run(fc, attack["run_id"], timeout=180)
        _assert_limit_failure(fc, end)
        grown = _db_bytes(state_dir) - before
        assert grown < DB_BOUND, f"the database grew {grown / 1e6:.1f} MB"
        entries = svc.stored_counts(state_dir)["log_entries"]
        assert limits.MAX_LOG_ENTRIES <= entries <= limits.MAX_LOG_ENTRIES + 10
        # entries past the run's full-size budget keep their names and a marker, not the 100 KB
        late = _last_entries(fc, attack["run_id"], 20)
        assert all(len(json.dumps(e)) <= limits.MAX_SHRUNK_ENTRY for e in late)
        spin = next(e for e in late if e["code"] == "PassStarted")
        assert spin["details"]["state_name"] == "Spin"
        assert spin["details"]["input"]["input"]["blob"].endswith("left out: the run's log is over 8 MiB]")
        # the first entries, under the budget, are whole
        first = list(fc.get_run_logs(attack["run_id"], limit=2)["entries"])
        assert first[1]["code"] == "PassStarted" and first[1]["details"]["input"]["input"]["blob"] == BLOB

        # with no run left to move, the idle timer ends the service by itself
        pid = info.pid
        wait_until(lambda: _service_gone(state_dir, pid), 60, f"the idle service {pid} exits")

    # a restart leaves the failed run as it is: not resumed, nothing more written
    with svc.private_service(state_dir) as info:
        fc = svc.flows_client(info)
        time.sleep(QUIET)
        assert fc.get_run(attack["run_id"])["status"] == "FAILED"
        assert svc.stored_counts(state_dir)["log_entries"] == entries


def test_runaway_loop_killed_mid_run_resumes_only_up_to_the_limit(tmp_path):
    state_dir = tmp_path / "svc"
    with svc.private_service(state_dir) as info:
        fc = svc.flows_client(info)
        attack = svc.start(fc, svc.deploy(fc, LOOP), ATTACK_INPUT)
        wait_until(lambda: svc.stored_counts(state_dir)["log_entries"], 120,
                   "the loop writes 2,000 entries", until=lambda entries: entries >= 2_000)
        assert fc.get_run(attack["run_id"])["status"] == "ACTIVE"
        _kill9(info.pid)
        killed_at = svc.stored_counts(state_dir)["log_entries"]
        assert killed_at < limits.MAX_LOG_ENTRIES

        from gladier_jupyter import local

        restarted = local.ensure_running(state_dir)
        fc = svc.flows_client(restarted)
        # resumed at its last commit, the count of its log kept: it ends at the same limit
        _assert_limit_failure(fc, svc.wait_for_run(fc, attack["run_id"], timeout=180))
        entries = svc.stored_counts(state_dir)["log_entries"]
        assert limits.MAX_LOG_ENTRIES <= entries <= limits.MAX_LOG_ENTRIES + 10
        local.stop(state_dir)
        again = local.ensure_running(state_dir)
        time.sleep(QUIET)
        assert svc.flows_client(again).get_run(attack["run_id"])["status"] == "FAILED"
        assert svc.stored_counts(state_dir)["log_entries"] == entries


@pytest.mark.skipif(not pathlib.Path("/proc/self/statm").exists(), reason="reads memory from /proc")
def test_run_monitor_on_a_runaway_loop_shows_its_events_with_bounded_memory(tmp_path):
    from gladier_jupyter.monitor import LOG_PAGE_SIZE, LOG_PAGES_PER_POLL, LogReader
    from gladier_jupyter.widgets.monitor import RunMonitor

    with svc.private_service(tmp_path / "svc") as info:
        fc = svc.flows_client(info)
        attack = svc.start(fc, svc.deploy(fc, LOOP), ATTACK_INPUT)
        rss = _PeakRss()
        try:
            monitor = RunMonitor(attack["run_id"], client=fc)
            # events show while the loop still spins
            wait_until(lambda: monitor.events, 60, "the monitor shows its first events")
            assert monitor.events[0]["code"] == "FlowStarted"
            assert monitor.wait(240) == "FAILED"
        finally:
            grown = rss.stop()
        # every event of the run's log, in order, and the reason of its end
        total = svc.stored_counts(tmp_path / "svc")["log_entries"]
        assert len(monitor.entries) == len(monitor.events) == total
        assert monitor.entries[-1]["code"] == "FlowFailed"
        assert f"{limits.MAX_LOG_ENTRIES:,} log entries" in monitor.error
        monitor.close()
        # The kernel holds the run's (bounded) log, not what a runaway loop can write.
        # Measured: 68 MB of RSS (55 MB traced by tracemalloc); before the limits, 180 MB after 15 s
        # with no event shown (and growing with the loop).
        assert grown < 2 * LOG_BOUND, f"the monitor grew the process by {grown / 1e6:.0f} MB"

        # one poll reads a bounded piece of a long log; polls go on until all of it is read
        reader = LogReader(attack["run_id"])
        sizes: list[int] = []
        # each read makes progress: no pause between them, only a deadline
        wait_until(lambda: sizes.append(len(reader.read_new(fc))) or reader.caught_up, 120,
                   "the reader catches up with the log", interval=0, max_interval=0)
        assert max(sizes) == LOG_PAGE_SIZE * LOG_PAGES_PER_POLL
        assert sum(sizes) == reader.total == total


def test_wait_past_the_one_year_run_duration_fails_the_run_at_once(local_service):
    # https://docs.globus.org/api/flows/limits/: "Runs may continue executing for up to one
    # year before being terminated." A Wait that would end later fails the run now.
    fc = svc.flows_client(local_service)
    flow_id = svc.deploy(fc, DEFINITIONS["wait_400_days"])  # 400 days, read from the input:
    # the flow check refuses a literal Seconds over a year
    run = svc.wait_for_run(fc, svc.start(fc, flow_id, {"seconds": 400 * 86400})["run_id"], timeout=30)
    assert run["status"] == "FAILED", run["details"]
    description = run["details"]["description"]
    assert "Wait state Sleep would end at" in description and "maximum run duration" in description
    assert limits.LIMITS_URL in description and "\n" not in description
    assert [e["code"] for e in svc.run_log(fc, run["run_id"])] == ["FlowStarted", "FlowFailed"]
