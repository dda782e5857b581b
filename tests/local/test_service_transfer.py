"""The local Transfer API through globus-sdk's TransferClient: collections are folders."""

from __future__ import annotations

import uuid

import globus_sdk
import pytest


@pytest.fixture
def tc(local_service):
    from gladier_jupyter import backend

    backend.use_local(local_service.state_dir)
    return backend.transfer_client()


def test_ls_mkdir_and_transfer_between_local_collections(tc, local_service):
    src, dst = str(uuid.uuid4()), str(uuid.uuid4())
    assert tc.get_endpoint(src)["id"] == src
    tc.operation_mkdir(src, "/raw")
    (local_service.state_dir / "collections" / src / "raw" / "scan.dat").write_bytes(b"0123456789")
    listing = tc.operation_ls(src, path="/raw")
    assert [(e["name"], e["type"], e["size"]) for e in listing] == [("scan.dat", "file", 10)]

    tdata = globus_sdk.TransferData(source_endpoint=src, destination_endpoint=dst, label="copy raw")
    tdata.add_item("/raw", "/incoming", recursive=True)
    task = tc.submit_transfer(tdata)
    doc = tc.get_task(task["task_id"])
    assert (doc["status"], doc["files_transferred"], doc["bytes_transferred"]) == ("SUCCEEDED", 1, 10)
    assert [e["name"] for e in tc.operation_ls(dst, path="/incoming")] == ["scan.dat"]


def test_transfer_of_missing_file_fails_the_task(tc):
    tdata = globus_sdk.TransferData(source_endpoint=str(uuid.uuid4()), destination_endpoint=str(uuid.uuid4()))
    tdata.add_item("/nope.txt", "/x.txt")
    doc = tc.get_task(tc.submit_transfer(tdata)["task_id"])
    assert doc["status"] == "FAILED" and doc["nice_status"] == "FILE_NOT_FOUND"


@pytest.mark.parametrize("path", ["/../../", "/../secret"])
def test_paths_outside_the_collection_are_refused(tc, path):
    with pytest.raises(globus_sdk.TransferAPIError) as info:
        tc.operation_ls(str(uuid.uuid4()), path=path)
    assert info.value.http_status == 403


def test_collection_id_with_dots_is_refused(tc):
    with pytest.raises(globus_sdk.TransferAPIError) as info:
        tc.operation_ls("..", path="/")
    assert info.value.http_status in (400, 404)


def test_mapped_collection_uses_the_given_folder(tc, local_service, tmp_path):
    from gladier_jupyter import local
    from gladier_jupyter.errors import GladierJupyterUsageError

    cid = str(uuid.uuid4())
    folder = local.map_collection(cid, tmp_path / "my-data", local_service.state_dir)
    (folder / "note.txt").write_text("hi")
    assert [e["name"] for e in tc.operation_ls(cid, path="/")] == ["note.txt"]
    with pytest.raises(GladierJupyterUsageError, match="not valid"):
        local.map_collection("../escape", tmp_path, local_service.state_dir)


def test_folder_copied_into_itself_copies_each_file_once(tc, local_service):
    cid = str(uuid.uuid4())
    root = local_service.state_dir / "collections" / cid
    (root / "data" / "sub").mkdir(parents=True)
    (root / "data" / "sub" / "a.txt").write_text("a")
    tdata = globus_sdk.TransferData(source_endpoint=cid, destination_endpoint=cid)
    tdata.add_item("/data", "/data/backup", recursive=True)
    doc = tc.get_task(tc.submit_transfer(tdata)["task_id"])
    assert (doc["status"], doc["files_transferred"]) == ("SUCCEEDED", 1)
    assert (root / "data" / "backup" / "sub" / "a.txt").read_text() == "a"
    assert not (root / "data" / "backup" / "backup").exists()


def test_ls_shows_a_link_without_following_it(tc, local_service):
    cid = str(uuid.uuid4())
    root = local_service.state_dir / "collections" / cid
    root.mkdir(parents=True)
    (root / "elsewhere").symlink_to("/etc")
    [entry] = tc.operation_ls(cid, path="/")
    assert (entry["name"], entry["type"], entry["link_target"]) == ("elsewhere", "file", "/etc")
    with pytest.raises(globus_sdk.TransferAPIError) as info:
        tc.operation_ls(cid, path="/elsewhere")
    assert info.value.http_status == 403 and "symbolic link" in info.value.message
