"""A preview (and a run monitor, through the same mixin) is shown under display ids of its own;
a later refresh replaces the bundle of each of its outputs by id and adds no output."""

from __future__ import annotations

import pytest
from IPython.core.displaypub import CapturingDisplayPublisher
from IPython.core.interactiveshell import InteractiveShell
from IPython.display import display

from gladier_jupyter.widgets.preview import FlowPreview
from tests._fixtures.data import load_json

PASS = load_json("flows/definitions.json", "pass")
DRAWN = ('<svg xmlns="http://www.w3.org/2000/svg" width="5" height="5">'
         '<rect x="0" y="0" width="5" height="5"/></svg>')


@pytest.fixture
def published():
    shell = InteractiveShell.instance()
    before = shell.display_pub
    shell.display_pub = CapturingDisplayPublisher()
    try:
        yield shell.display_pub.outputs
    finally:
        shell.display_pub = before


def test_each_output_of_a_preview_follows_its_drawing_by_display_id(published):
    preview = FlowPreview(PASS)
    display(preview)
    display(preview)
    shown = [o for o in published if not o.get("update")]
    ids = [o["transient"]["display_id"] for o in shown]
    assert len(ids) == 2 and len(set(ids)) == 2
    assert all(i.startswith("gladier-preview-") for i in ids)
    assert all(o["data"]["image/svg+xml"] == preview.flow.to_svg() for o in shown)
    published.clear()
    # the page reports its drawing: both outputs get it, by id, and nothing is added
    preview._on_view_message(preview, {"event": "drawn", "svg": DRAWN,
                                       "revision": preview.revision}, [])
    assert [o.get("update") for o in published] == [True, True]
    assert [o["transient"]["display_id"] for o in published] == ids
    assert all(o["data"]["image/svg+xml"] == preview.drawn_svg for o in published)
    assert preview.drawn_svg != preview.flow.to_svg()


def test_a_widget_never_displayed_updates_nothing(published):
    assert FlowPreview(PASS).update_displays() == 0
    assert published == []

