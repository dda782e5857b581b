"""The collections registry from Python: a Globus collection id mapped to a folder once,
reused by later kernels and by the local Transfer (through globus-sdk's TransferClient)."""

from __future__ import annotations

import concurrent.futures
import json
import os
import pathlib
import subprocess
import sys
import uuid

import pytest

from gladier_jupyter import local
from gladier_jupyter.errors import GladierJupyterUsageError

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture
def state(tmp_path):
    return tmp_path / "state"


def test_a_mapping_is_listed_and_seen_by_a_later_python_process(state, tmp_path):
    cid = str(uuid.uuid4())
    folder = local.map_collection(cid, tmp_path / "beamline", state)
    assert local.collections(state) == {cid: folder}
    # "Once": a new kernel reads it back without mapping again.
    code = ("import json, sys\nfrom gladier_jupyter import local\n"
            "print(json.dumps({k: str(v) for k, v in local.collections(sys.argv[1]).items()}))")
    out = subprocess.run([sys.executable, "-c", code, str(state)], capture_output=True, text=True,
                         timeout=60, env=dict(os.environ, PYTHONPATH=str(ROOT)), check=True)
    assert json.loads(out.stdout) == {cid: str(folder)}


def test_collections_are_sorted_by_id_and_empty_without_a_registry(state, tmp_path):
    assert local.collections(state) == {}
    for cid in ("b-second", "a-first", "c-third"):
        local.map_collection(cid, tmp_path / cid, state)
    assert list(local.collections(state)) == ["a-first", "b-second", "c-third"]


def test_mapping_again_moves_the_collection_to_the_new_folder(state, tmp_path):
    local.map_collection("cid-1", tmp_path / "old", state)
    new = local.map_collection("cid-1", tmp_path / "new", state)
    assert local.collections(state) == {"cid-1": new}


def test_unmap_forgets_the_folder_but_keeps_its_files(state, tmp_path):
    folder = local.map_collection("cid-1", tmp_path / "data", state)
    (folder / "keep.txt").write_text("mine")
    local.map_collection("cid-2", tmp_path / "other", state)
    assert local.unmap_collection("cid-1", state) is True
    assert list(local.collections(state)) == ["cid-2"]
    assert (folder / "keep.txt").read_text() == "mine"
    assert local.unmap_collection("cid-1", state) is False


@pytest.mark.parametrize("bad", ["../escape", "a/b", "", "x" * 200])
def test_a_bad_collection_id_is_refused_in_one_line(state, tmp_path, bad):
    for call in (lambda: local.map_collection(bad, tmp_path, state),
                 lambda: local.unmap_collection(bad, state)):
        with pytest.raises(GladierJupyterUsageError, match="is not valid") as info:
            call()
        assert "\n" not in str(info.value) and len(str(info.value)) < 200


def test_concurrent_writers_lose_no_mapping(state, tmp_path):
    """A kernel and the Jupyter server may map collections at the same moment: without the
    lock, read-modify-write kept only some of them."""
    local.map_collection("seed", tmp_path / "seed", state)
    ids = [f"cid-{i:02d}" for i in range(24)]
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda cid: local.map_collection(cid, tmp_path / cid, state), ids))
    assert sorted(local.collections(state)) == sorted([*ids, "seed"])


def test_a_corrupt_registry_reads_as_empty_and_is_rewritten(state, tmp_path):
    local.map_collection("cid-1", tmp_path / "one", state)
    (state / "collections.json").write_text("[not a mapping")
    assert local.collections(state) == {}
    local.map_collection("cid-2", tmp_path / "two", state)
    assert list(local.collections(state)) == ["cid-2"]


def test_transfer_uses_the_mapping_and_falls_back_once_unmapped(local_service, tmp_path):
    from gladier_jupyter import backend

    backend.use_local(local_service.state_dir)
    tc = backend.transfer_client()
    cid = str(uuid.uuid4())
    folder = local.map_collection(cid, tmp_path / "mapped", local_service.state_dir)
    (folder / "scan.dat").write_bytes(b"0123")
    assert [e["name"] for e in tc.operation_ls(cid, path="/")] == ["scan.dat"]
    assert local.unmap_collection(cid, local_service.state_dir)
    assert [e["name"] for e in tc.operation_ls(cid, path="/")] == []
    assert (local_service.state_dir / "collections" / cid).is_dir()
