"""The collections registry's routes (runs panel "Collections"), through a real JupyterLab.

The server inherits the tests' ``GLADIER_JUPYTER_STATE_DIR``, so ``local.collections()`` in
this process reads the very registry the routes write.
"""

from __future__ import annotations

import json
import os
import pathlib
import uuid

import pytest

from gladier_jupyter import local
from tests._fixtures.browser import _jupyter_server
from tests.test_server_ext import API, authed, raw_request


@pytest.fixture
def cid():
    """A fresh collection id, unmapped again afterwards."""
    made = str(uuid.uuid4())
    yield made
    local.unmap_collection(made)


@pytest.fixture
def folder(lab):
    """A new folder under the server's root_dir: its path relative to the root, and itself."""
    rel = f"data-{uuid.uuid4().hex[:8]}"
    path = lab.root_dir / rel
    path.mkdir()
    return rel, path


@pytest.mark.parametrize(("method", "path"), [
    ("GET", f"{API}/collections"),
    ("POST", f"{API}/collections"),
    ("DELETE", f"{API}/collections/some-id"),
])
def test_collection_routes_need_the_jupyter_login(lab, method, path):
    status, _ = raw_request(lab, path, method, b"{}" if method == "POST" else None)
    assert status in (401, 403)


def test_a_folder_under_the_root_is_mapped_listed_and_seen_from_python(lab, cid, folder):
    rel, path = folder
    status, doc = authed(lab, f"{API}/collections", "POST", {"id": cid, "folder": rel})
    assert status == 200, doc
    assert doc["mapped"] == {"id": cid, "folder": str(path.resolve())}
    assert doc["warning"] == ""
    assert local.collections()[cid] == path.resolve()
    status, doc = authed(lab, f"{API}/collections")
    assert status == 200
    row = next(r for r in doc["collections"] if r["id"] == cid)
    assert row == {"id": cid, "folder": str(path.resolve()), "shown": rel}


def test_a_home_folder_is_mapped_and_shown_with_a_tilde(lab, cid):
    home = pathlib.Path(os.environ["HOME"])
    name = f"beamline-{uuid.uuid4().hex[:8]}"
    (home / name).mkdir()
    status, doc = authed(lab, f"{API}/collections", "POST", {"id": cid, "folder": f"~/{name}"})
    assert status == 200, doc
    assert next(r for r in doc["collections"] if r["id"] == cid)["shown"] == f"~/{name}"


def test_a_mapping_made_in_python_is_listed_by_the_panel_route(lab, cid, folder):
    local.map_collection(cid, folder[1])
    status, doc = authed(lab, f"{API}/collections")
    assert status == 200
    assert {r["id"]: r["shown"] for r in doc["collections"]}[cid] == folder[0]


def test_remove_forgets_the_mapping_and_a_second_remove_is_404(lab, cid, folder):
    local.map_collection(cid, folder[1])
    status, doc = authed(lab, f"{API}/collections/{cid}", "DELETE")
    assert status == 200, doc
    assert cid not in {r["id"] for r in doc["collections"]}
    assert cid not in local.collections()
    assert folder[1].is_dir()  # the folder and its files stay
    status, doc = authed(lab, f"{API}/collections/{cid}", "DELETE")
    assert status == 404 and "is not mapped" in doc["message"]


def _refusals(lab, tmp_path) -> list[tuple[object, str]]:
    (lab.root_dir / "notes.txt").write_text("x")
    outside = tmp_path / "outside"
    outside.mkdir()
    link = lab.root_dir / f"link-{uuid.uuid4().hex[:6]}"
    link.symlink_to(outside)  # a link under the root that leads out of it
    return [
        ("no-such-folder", "does not exist"),
        ("notes.txt", "is a file"),
        ("/etc", "outside the Jupyter root"),
        ("../", "outside the Jupyter root"),
        (link.name, "outside the Jupyter root"),
        ("~root/x", "another user's home"),
        ("", "Give the folder"),
        (7, "Give the folder"),
        ("a\x00b", "not a usable path"),
        ("x" * 5000, "not a usable path"),
    ]


def test_a_path_that_is_not_a_usable_folder_is_refused_in_one_line(lab, cid, tmp_path):
    before = local.collections()
    for given, reason in _refusals(lab, tmp_path):
        status, doc = authed(lab, f"{API}/collections", "POST", {"id": cid, "folder": given})
        assert status == 400, (given, status, doc)
        message = doc["message"]
        assert reason in message and "\n" not in message and len(message) < 400, (given, message)
    assert local.collections() == before
    assert not (lab.root_dir / "no-such-folder").exists()  # refused, never created


@pytest.mark.parametrize(("body", "reason"), [
    ({"id": "../escape", "folder": "."}, "is not valid"),
    ({"id": "", "folder": "."}, "Give the Globus collection id"),
    ({"folder": "."}, "Give the Globus collection id"),
    ([1, 2], "JSON object"),
])
def test_a_bad_id_or_body_is_refused_in_one_line(lab, body, reason):
    before = local.collections()
    status, doc = authed(lab, f"{API}/collections", "POST", body)
    assert status == 400 and reason in doc["message"] and "\n" not in doc["message"]
    status, text = raw_request(lab, f"{API}/collections", "POST", b"{not json", {
        "Authorization": f"token {lab.token}"})
    assert status == 400 and "not JSON" in json.loads(text)["message"]
    status, text = raw_request(lab, f"{API}/collections", "POST", b" " * 70_000, {
        "Authorization": f"token {lab.token}"})
    assert status == 413
    assert local.collections() == before


def test_a_folder_others_can_write_is_mapped_with_a_warning(lab, cid, folder):
    rel, path = folder
    path.chmod(0o777)
    status, doc = authed(lab, f"{API}/collections", "POST", {"id": cid, "folder": rel})
    assert status == 200, doc
    assert "writable by other users" in doc["warning"] and "\n" not in doc["warning"]


# --------------------------------------------------------------------------- authorization


@pytest.fixture(scope="module")
def readonly_lab():
    with _jupyter_server("jupyterlab", "lab", [
            "--ServerApp.authorizer_class=tests.reliability._authorizers.ReadOnlyAuthorizer"],
            "JupyterLab (read-only authorizer)") as server:
        yield server


def test_a_read_only_user_lists_collections_but_cannot_map_or_remove(readonly_lab, cid):
    theirs = readonly_lab.root_dir / "theirs"
    theirs.mkdir()
    local.map_collection(cid, theirs)
    status, doc = authed(readonly_lab, f"{API}/collections")
    assert status == 200 and cid in {r["id"] for r in doc["collections"]}
    other = str(uuid.uuid4())
    status, doc = authed(readonly_lab, f"{API}/collections", "POST", {"id": other, "folder": "."})
    assert status == 403, doc
    assert "does not let you map collections" in doc["message"]
    status, doc = authed(readonly_lab, f"{API}/collections/{cid}", "DELETE")
    assert status == 403, doc
    assert "does not let you remove collections" in doc["message"]
    assert other not in local.collections()
    assert local.collections()[cid] == theirs.resolve()
