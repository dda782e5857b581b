"""Load and soak, at bounded sizes (``bench/bench_reliability.py`` runs the full 100 runs /
20 monitors and 1,000-run soak, and reports the figures): every run completes, nothing is
lost, and the service does not grow in open files, threads or memory."""

from __future__ import annotations

import pytest

from tests.reliability import _load
from tests.reliability import _service as svc

# Bounds of growth between the end of the warm-up and the end of the soak (see RELIABILITY.md).
MAX_FD_GROWTH = 4
MAX_THREAD_GROWTH = 4
MAX_RSS_GROWTH_MB = 40


@pytest.fixture
def load_service(tmp_path):
    with svc.private_service(tmp_path / "svc") as info:
        yield info


def test_concurrent_tutorial_runs_with_live_monitors_all_complete_and_nothing_is_lost(load_service, tmp_path):
    n_runs, n_monitors = (100, 20) if svc.full_size() else (16, 6)
    before = svc.stored_counts(load_service.state_dir)
    figures = _load.tutorial_load(load_service, tmp_path, n_runs, n_monitors)
    print(figures)
    assert figures["succeeded"] == n_runs, figures["statuses"]
    assert figures["monitor_statuses"] == ["SUCCEEDED"]
    assert figures["monitor_logs_match"]
    assert figures["search_documents"] == n_runs
    after = svc.stored_counts(load_service.state_dir)
    assert after["runs"] - before["runs"] == n_runs + 1  # and the first, gladier-started run
    assert after["search_docs"] - before["search_docs"] == n_runs + 1


def test_soak_of_sequential_short_runs_does_not_grow_files_threads_or_memory(load_service):
    n_runs = 1000 if svc.full_size() else 150
    figures = _load.soak(load_service, n_runs, warmup=max(20, n_runs // 10))
    print(figures)
    assert figures["statuses"] == {"SUCCEEDED": n_runs}
    assert figures["fd_growth"] <= MAX_FD_GROWTH, figures
    assert figures["thread_growth"] <= MAX_THREAD_GROWTH, figures
    assert figures["rss_growth_mb"] <= MAX_RSS_GROWTH_MB, figures
