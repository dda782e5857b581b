"""Globus's "Tar and Transfer with Globus Compute" example flow runs here to its documented outcome.

The flow (https://docs.globus.org/api/flows/examples/compute_tar_and_transfer/, Example Flow 1
as published in globus/globus-flows-examples) makes a working folder named after the run on
a GCS collection, runs a ``do_tar`` Compute function there to archive the input paths, moves
the tarball to a destination collection and deletes the working folder. The page asks to
replace three placeholders (collection, Compute endpoint, function id) and, for a collection
with a base path, ``gcs_base_path``; nothing else of the definition changes. The function is
registered on the local Compute API through globus-compute-sdk; its body is written here to
the page's description (same signature and result: the archive's collection path).
"""

from __future__ import annotations

import io
import json
import pathlib
import tarfile
import uuid

import pytest
from globus_compute_sdk.serialize import DillCodeSource

from tests._fixtures.local import run_log

EXAMPLE = pathlib.Path(__file__).parent.parent / "data" / "flows" / "examples" / "compute" / "tar_and_transfer.json"


def do_tar(src_paths, dest_path, gcs_base_path="/"):
    """Archive ``src_paths`` (collection paths) as a .tar.gz under ``dest_path`` (a folder: a
    new ``<uuid>.tar.gz`` in it; else that file name); the archive's collection path."""
    import pathlib
    import tarfile
    import uuid

    base = gcs_base_path if gcs_base_path.endswith("/") else gcs_base_path + "/"

    def on_disk(path):
        if not path.startswith("/"):
            raise ValueError(f"Path {path!r} is not absolute on the collection (it must start with '/').")
        return pathlib.Path(base + path[1:])

    if not src_paths or dest_path is None:
        raise ValueError("src_paths must not be empty and dest_path must be set.")
    sources = [on_disk(p) for p in src_paths]
    for given, found in zip(src_paths, sources, strict=True):
        if not found.exists():
            raise ValueError(f"Source path {given!r} does not exist.")
    target = on_disk(dest_path)
    if target.is_dir():
        target = target / f"{uuid.uuid4()}.tar.gz"
    elif not target.parent.is_dir():
        raise ValueError(f"The folder of {dest_path!r} does not exist.")
    elif not target.name.endswith(".gz"):
        target = target.with_name(target.name + (".gz" if target.name.endswith(".tar") else ".tar.gz"))
    with tarfile.open(target, "w:gz") as archive:
        for source in sources:
            archive.add(source, arcname=source.name)
    return "/" + str(target)[len(base):]


def _lay_out(folder: pathlib.Path, files: dict) -> None:
    for rel, content in files.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(content)


@pytest.fixture
def tar_flow(local_service, tmp_path):
    """The example with its placeholders filled: (definition, input_schema, folders, example)."""
    from gladier_jupyter import backend, local

    example = json.loads(EXAMPLE.read_text())
    folders = {}
    for cid, files in example["collections"].items():
        folders[cid] = local.map_collection(cid, tmp_path / cid, local_service.state_dir)
        _lay_out(folders[cid], files)
    backend.use_local(local_service.state_dir)
    function_id = backend.compute_client(code_serialization_strategy=DillCodeSource()).register_function(do_tar)
    gcs_id = example["placeholders"]["<INSERT YOUR GCS ENDPOINT ID HERE>"]
    text = json.dumps(example["definition"])
    for marker, value in (("<INSERT YOUR GCS ENDPOINT ID HERE>", gcs_id),
                          ("<INSERT YOUR COMPUTE ENDPOINT ID HERE>",
                           example["placeholders"]["<INSERT YOUR COMPUTE ENDPOINT ID HERE>"]),
                          ("<INSERT YOUR COMPUTE FUNCTION ID HERE>", function_id)):
        assert text.count(json.dumps(marker)) == 1
        text = text.replace(json.dumps(marker), json.dumps(value))
    definition = json.loads(text)
    definition["States"]["SetRunVariables"]["Parameters"]["gcs_base_path"] = str(folders[gcs_id]) + "/"
    return definition, example["input_schema"], folders, example


def test_tar_and_transfer_archives_the_sources_and_transfers_the_tarball(tar_flow, run_definition):
    definition, schema, folders, example = tar_flow
    run = run_definition(definition, example["input"], input_schema=schema, label="Tar and Transfer")
    expect = example["expect"]
    assert run["status"] == expect["status"], json.dumps(run["details"], indent=1)[:3000]

    tarball = folders[expect["tarball"]["collection"]] / expect["tarball"]["path"]
    with tarfile.open(tarball, "r:gz") as archive:
        members = {m.name: archive.extractfile(m).read().decode() for m in archive.getmembers() if m.isfile()}
    assert members == expect["tarball"]["members"]
    for cid, files in expect["files"].items():
        for rel, content in files.items():
            assert (folders[cid] / rel).read_text() == content
    gcs = folders[example["placeholders"]["<INSERT YOUR GCS ENDPOINT ID HERE>"]]
    assert sorted(p.name for p in gcs.iterdir()) == expect["source_top_level"]  # /<run id>/ is gone
    output = run["details"]["output"]
    made = output["compute_func_result"]["details"]["result"][0]
    assert made.startswith(f"/{run['run_id']}/") and made.endswith(".tar.gz")
    assert output["destination"]["path"] == example["input"]["destination_path"]


def test_tar_and_transfer_without_destination_path_names_the_tarball_after_the_function(tar_flow, run_definition):
    definition, schema, folders, example = tar_flow
    flow_input = {k: v for k, v in example["input"].items() if k != "destination_path"}
    run = run_definition(definition, flow_input, input_schema=schema, label="Tar and Transfer")
    assert run["status"] == "SUCCEEDED", json.dumps(run["details"], indent=1)[:3000]
    name = run["details"]["output"]["destination"]["path"]
    assert name.startswith("/~/") and name.endswith(".tar.gz")  # the page: "/~/<random UUID>.tar.gz"
    uuid.UUID(name[3:-len(".tar.gz")])
    with tarfile.open(fileobj=io.BytesIO((folders[flow_input["destination_endpoint_id"]] / name[3:]).read_bytes())) as a:
        assert sorted(a.getnames()) == ["dir1", "dir1/file2.txt", "file1.txt"]


def test_tar_and_transfer_refuses_a_source_path_with_a_tilde(tar_flow, run_definition, flows_client):
    definition, schema, folders, example = tar_flow
    bad = example["invalid_input"]
    run = run_definition(definition, bad["input"], input_schema=schema, label="Tar and Transfer")
    assert run["status"] == bad["expect"]["status"]
    assert any(e["code"] == "FlowFailed" and bad["expect"]["error"] in json.dumps(e)
               for e in run_log(flows_client, run["run_id"]))
    assert not any(p.name != "data" for p in folders[example["placeholders"]["<INSERT YOUR GCS ENDPOINT ID HERE>"]].iterdir())
