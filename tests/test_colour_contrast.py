"""Text on every status colour meets WCAG AA (4.5:1): the colour table both the live views
and the static HTML/SVG use, in JupyterLab's light and dark themes, and the static
snapshot as it is written.

Contrast and relative luminance as WCAG 2.2 defines them:
https://www.w3.org/TR/WCAG22/#dfn-contrast-ratio
"""

from __future__ import annotations

import re
import types

import pytest

from gladier_jupyter.flowgraph.theme import THEME
from gladier_jupyter.widgets.run_snapshot import snapshot_html

AA = 4.5
STATUS = {k: v for k, v in THEME["status"].items() if not k.startswith("_")}
# JupyterLab 4's page colours (--jp-layout-color0..2) behind status-coloured text.
LIGHT_PAGES = ("#ffffff", "#eeeeee")
DARK_PAGES = ("#111111", "#212121", "#424242")


def luminance(hex_colour: str) -> float:
    value = hex_colour.lstrip("#")
    if len(value) == 3:
        value = "".join(c * 2 for c in value)
    channels = [int(value[i:i + 2], 16) / 255 for i in (0, 2, 4)]
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(a: str, b: str) -> float:
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_contrast_matches_the_wcag_reference_values():
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)
    # the colour the static monitor used to draw dark text on
    assert contrast("#212121", "#388e3c") < AA


@pytest.mark.parametrize("status", sorted(STATUS))
def test_text_on_each_status_fill_meets_aa(status):
    colours = STATUS[status]
    assert contrast(colours["on"], colours["fill"]) >= AA, colours


@pytest.mark.parametrize("status", sorted(STATUS))
def test_status_text_meets_aa_on_light_and_dark_pages(status):
    colours = STATUS[status]
    for page in LIGHT_PAGES:
        assert contrast(colours["text_light"], page) >= AA, (status, page)
    for page in DARK_PAGES:
        assert contrast(colours["text_dark"], page) >= AA, (status, page)


def _run(status: str, states: dict[str, str]) -> types.SimpleNamespace:
    return types.SimpleNamespace(
        status=status, label="contrast", run_id="0" * 8, flow_title="flow", web_url="",
        states={n: {"status": s} for n, s in states.items()}, inactive_reason="",
        error="boom" if status == "FAILED" else "", events=[], timeline=[])


STATES = {"Queued": "pending", "Running": "active", "Done": "succeeded", "Broke": "failed",
          "Caught": "caught", "Skipped": "skipped", "Waiting": "inactive"}
DEFINITION = {"StartAt": "Queued", "States": {
    name: ({"Type": "Pass", "Next": nxt} if nxt else {"Type": "Pass", "End": True})
    for name, nxt in zip(STATES, [*list(STATES)[1:], None], strict=True)}}


@pytest.mark.parametrize("run_status", ["ACTIVE", "INACTIVE", "SUCCEEDED", "FAILED", "ENDED"])
def test_static_snapshot_text_on_every_status_colour_meets_aa(run_status):
    page = snapshot_html(_run(run_status, STATES), DEFINITION)
    # HTML: every element with a background and a text colour (the status pill, the chips)
    pairs = re.findall(r"background:(#[0-9a-f]{3,6});[^\"]*?color:(#[0-9a-f]{3,6})", page)
    assert len(pairs) == 1 + len(STATES), pairs
    for background, text in pairs:
        assert contrast(text, background) >= AA, (background, text)
    # the error line, on the page
    for text in re.findall(r'<div style="color:(#[0-9a-f]{6})">', page):
        assert contrast(text, "#ffffff") >= AA
    # SVG: each state box's fill against the name and caption drawn on it
    nodes = re.findall(r'<g class="gj-node[^"]*" data-name="[^"]+" data-status="[^"]+">.*?</g>', page, re.S)
    assert len(nodes) == len(STATES)
    for node in nodes:
        fill = re.search(r'<(?:rect|polygon)[^>]*style="fill:(#[0-9a-f]{6})', node).group(1)
        texts = re.findall(r'<text[^>]*style="fill:(#[0-9a-f]{6})', node)
        assert len(texts) == 2, node
        for text in texts:
            assert contrast(text, fill) >= AA, (node[:80], fill, text)
