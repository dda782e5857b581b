"""The tutorial notebook runs, end to end, headless, on the local service."""

from __future__ import annotations

import json
import pathlib

import nbformat
from nbclient import NotebookClient

ROOT = pathlib.Path(__file__).resolve().parent.parent
TUTORIAL = ROOT / "notebooks" / "gladier_tutorial.ipynb"


def _stream_text(cell: nbformat.NotebookNode) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", []) if o.output_type == "stream")


def test_tutorial_notebook_runs_to_a_published_search_record(local_service, tmp_path):
    nb = nbformat.read(TUTORIAL, as_version=4)
    client = NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()  # raises CellExecutionError, naming the cell, on any error

    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    # The run ended SUCCEEDED and the last cell found the record by the experiment's file name.
    wait_cell = next(c for c in code_cells if ".wait(" in c.source)
    assert _stream_text(wait_cell).strip().splitlines()[0] == "SUCCEEDED"
    last = code_cells[-1]
    lines = _stream_text(last).strip().splitlines()
    assert len(lines) == 2, lines
    subject, title = lines
    assert subject.startswith("https:/example.com/my-gladier-experiment/file_")
    assert title == f"My Experiment {subject.rsplit('/', 1)[1]}"
    # Widget state was saved: the preview and the monitor are in the notebook's metadata.
    state = json.dumps(nb.metadata.get("widgets", {}))
    assert "FlowPreview" in state and "RunMonitor" in state


def test_tutorial_metadata_is_what_ipykernel_writes_so_it_opens_clean():
    """JupyterLab copies the kernel's language_info into the notebook when it starts the kernel;
    any missing key marks the freshly opened notebook dirty. The saved metadata has every key
    ipykernel reports, with the same values (the Python version aside, which is per machine)."""
    from ipykernel.ipkernel import IPythonKernel

    meta = nbformat.read(TUTORIAL, as_version=4).metadata
    assert meta.kernelspec == {
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
        "name": "python3",
    }
    info = meta.language_info
    expected = dict(IPythonKernel.language_info)
    assert set(info) == set(expected)
    for key in (
        "name",
        "mimetype",
        "codemirror_mode",
        "pygments_lexer",
        "nbconvert_exporter",
        "file_extension",
    ):
        assert info[key] == expected[key], key
    assert info["version"].startswith("3.") and info["version"].count(".") == 2
