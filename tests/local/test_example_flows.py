"""Globus's documented example flows that need only Transfer run here unmodified.

Each file of ``tests/data/flows/examples/`` holds one flow of
https://docs.globus.org/api/flows/examples/ as published (globus/globus-flows-examples), an
input in the sample's shape, the files its collections start with, and the outcome its page
describes. The only change is where the collection ids lead: each is mapped to a folder of the
test with ``gladier_jupyter.local.map_collection``. Runs go through globus-sdk's FlowsClient
and SpecificFlowClient against the local service.
"""

from __future__ import annotations

import json
import pathlib

import pytest

EXAMPLES = pathlib.Path(__file__).parent.parent / "data" / "flows" / "examples"
#: Examples that need an expression function the engine lacks: name -> the missing function.
MISSING_EXPRESSIONS: dict[str, str] = {}


def _load(name: str) -> dict:
    return json.loads((EXAMPLES / f"{name}.json").read_text())


def _cases() -> list:
    cases = []
    for path in sorted(EXAMPLES.glob("*.json")):
        marks = []
        if path.stem in MISSING_EXPRESSIONS:
            marks.append(pytest.mark.xfail(strict=True, reason=MISSING_EXPRESSIONS[path.stem]))
        cases.append(pytest.param(path.stem, marks=marks, id=path.stem))
    return cases


def _lay_out(folder: pathlib.Path, files: dict) -> None:
    for rel, content in files.items():
        target = folder / rel
        if content is None:  # a folder
            target.mkdir(parents=True, exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content)


def _strip_home(rel: str) -> str:
    return rel[2:] if rel.startswith("~/") else rel


@pytest.mark.parametrize("name", _cases())
def test_documented_example_flow_reaches_the_outcome_its_page_describes(name, run_definition, local_service,
                                                                        tmp_path, flows_client):
    from gladier_jupyter import backend, local

    example = _load(name)
    folders = {}
    for cid, files in example["collections"].items():
        folders[cid] = local.map_collection(cid, tmp_path / cid, local_service.state_dir)
        _lay_out(folders[cid], files)

    run = run_definition(example["definition"], example["input"], label=example["title"][:60])
    expect = example["expect"]
    assert run["status"] == expect["status"], json.dumps(run["details"], indent=1)[:3000]
    output = run["details"]["output"]
    for key, value in expect.get("output", {}).items():
        assert output[key] == value
    for cid, files in expect.get("files", {}).items():
        for rel, content in files.items():
            assert (folders[cid] / _strip_home(rel)).read_text() == content, (cid, rel)
    for cid, paths in expect.get("absent", {}).items():
        for rel in paths:
            assert not (folders[cid] / rel).exists(), f"{rel} is still on {cid}"
    for cid, paths in expect.get("empty", {}).items():
        for rel in paths:
            assert list((folders[cid] / rel).iterdir()) == [], f"{rel} on {cid} is not empty"
    for cid, rules in expect.get("acl", {}).items():
        backend.use_local(local_service.state_dir)
        listed = [{k: r[k] for k in ("path", "permissions", "principal_type", "principal")}
                  for r in backend.transfer_client().endpoint_acl_list(cid)]
        for rule in rules:
            assert rule in listed, listed


def test_every_example_names_its_page_and_outcome():
    for path in EXAMPLES.glob("*.json"):
        doc = json.loads(path.read_text())
        assert doc["page"].startswith("https://docs.globus.org/api/flows/examples/") and doc["outcome"], path
