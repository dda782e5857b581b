"""Globus's "Transfer After Approval" example flow runs here unmodified, answered from its emails.

The flow (https://docs.globus.org/api/flows/examples/transfer_after_approval/, as published
in globus/globus-flows-examples) mails each reviewer an approve and a reject link
(``notification/notify``), waits for one (``weboption/wait_for_option``), then, if approved,
gives itself a read rule on the source, transfers the file into the destination's ``/Inbox/``
and removes the rule. Here the emails land in the local outbox; the test follows a link
found in one, as a reviewer would, and checks the outcome the page describes. Only the
collection ids' folders are local (``gladier_jupyter.local.map_collection``).
"""

from __future__ import annotations

import json
import pathlib
import re
import time

import pytest

from tests._fixtures.local import wait_for_run

EXAMPLE = pathlib.Path(__file__).parent.parent / "data" / "flows" / "examples" / "interactive" / \
    "transfer_after_approval.json"


def _lay_out(folder: pathlib.Path, files: dict) -> None:
    for rel, content in files.items():
        target = folder / rel
        if content is None:
            target.mkdir(parents=True, exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content)


@pytest.mark.parametrize(("choice", "reviewer"), [("approve", 0), ("reject", 1)])
def test_transfer_after_approval_reaches_the_documented_outcome(choice, reviewer, run_definition, flows_client,
                                                                local_service, tmp_path):
    from gladier_jupyter import backend, local

    example = json.loads(EXAMPLE.read_text())
    state_dir = local_service.state_dir
    folders = {cid: local.map_collection(cid, tmp_path / cid, state_dir) for cid in example["collections"]}
    for cid, files in example["collections"].items():
        _lay_out(folders[cid], files)

    started = run_definition(example["definition"], example["input"], wait=False, label="Transfer After Approval")
    run_id = started["run_id"]
    deadline = time.monotonic() + 60
    while not local.waiting_options(run_id, state_dir) and time.monotonic() < deadline:
        assert flows_client.get_run(run_id).data["status"] == "ACTIVE"
        time.sleep(0.05)
    [waiting] = local.waiting_options(run_id, state_dir)
    assert [o["name"] for o in waiting["options"]] == example["interaction"]["options"]

    mails = sorted(local.outbox(run_id=run_id, state_dir=state_dir), key=lambda m: m["id"])
    assert [{"destination": m["destination"], "subject": m["subject"]} for m in mails] == example["interaction"]["emails"]
    assert "publication-submission.pdf" in mails[reviewer]["body"] and "email-password" not in json.dumps(mails)
    links = re.findall(r'href="([^"]+)"', mails[reviewer]["body"])
    link = next(u for u in links if u.endswith(f"-{choice}"))
    assert link.startswith(f"https://actions.globus.org/weboption/option/{run_id}-")

    local.select_option(link, state_dir)
    run = wait_for_run(flows_client, run_id, timeout=60)
    expect = example["expect"][choice]
    assert run["status"] == expect["status"], json.dumps(run["details"], indent=1)[:3000]
    log = [e for e in flows_client.paginated.get_run_logs(run_id).items()]
    assert any(e["details"].get("state_name") == expect["last_state"] for e in log)
    for cid, files in expect.get("files", {}).items():
        for rel, content in files.items():
            assert (folders[cid] / rel).read_text() == content, (cid, rel)
    for cid, paths in expect.get("empty", {}).items():
        for rel in paths:
            assert list((folders[cid] / rel).iterdir()) == [], f"{rel} on {cid} is not empty"
    backend.use_local(state_dir)
    for cid, rules in expect.get("acl", {}).items():
        assert list(backend.transfer_client().endpoint_acl_list(cid)) == rules
