"""A saved notebook shows the flow with no kernel: the SVG is in the output and in nbconvert HTML."""

from __future__ import annotations

import base64
import pathlib
import re
import xml.etree.ElementTree as ET

import nbformat
from nbconvert import HTMLExporter

from tests._notebook_cells import execute_notebook

DATA = pathlib.Path(__file__).resolve().parents[1] / "data" / "definitions"


def _executed(store_widget_state: bool) -> nbformat.NotebookNode:
    return execute_notebook([
        "from gladier_jupyter.widgets import FlowPreview\n"
        f"FlowPreview({str(DATA / 'valid' / 'catch_fail.json')!r})"
    ], store_widget_state=store_widget_state)


def test_saved_output_carries_svg_mermaid_and_text():
    nb = _executed(store_widget_state=True)
    (output,) = nb.cells[0].outputs
    data = output["data"]
    assert "application/vnd.jupyter.widget-view+json" in data
    root = ET.fromstring(data["image/svg+xml"])
    names = {g.get("data-name") for g in root.iter("{http://www.w3.org/2000/svg}g")}
    assert {"Transfer", "Ingest", "Cleanup", "Failed"} <= names
    assert data["text/vnd.mermaid"].startswith("flowchart TD")
    assert data["text/plain"].startswith("Flow catch_fail: 4 states")
    assert data["application/vnd.gladier.flow+json"]["definition"]["StartAt"] == "Transfer"


def test_nbconvert_html_of_a_notebook_saved_without_widget_state_contains_the_svg():
    # JupyterLab does not save widget state by default; nbconvert then falls back from the
    # widget view to the richest static output, our SVG (embedded as an <img> data URI).
    nb = _executed(store_widget_state=False)
    html, _ = HTMLExporter().from_notebook_node(nb)
    match = re.search(r'data-mime-type="image/svg\+xml".*?src="data:image/svg\+xml;base64,'
                      r'([A-Za-z0-9+/=]+)"', html, re.S)
    assert match, "no SVG output in the HTML"
    svg = base64.b64decode(match.group(1)).decode()
    root = ET.fromstring(svg)
    assert root.get("class") == "gj-flow-svg"
    assert 'data-name="Transfer"' in svg and 'data-name="Failed"' in svg
    assert "gj-edge-catch" in svg
