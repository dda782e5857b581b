"""The drawing a FlowPreview's view sends back from the page is kept as the saved image only
after the kernel rebuilt it from what the view itself draws: hostile SVG from a page (script,
event handlers, external links, foreignObject, CSS that loads) leaves nothing of that."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from gladier_jupyter.flowgraph.svg import MAX_VIEW_SVG_CHARS, UnsafeSVG, _sanitize, sanitize_svg
from gladier_jupyter.widgets.preview import FlowPreview
from tests._fixtures.data import load_json

PASS = load_json("flows/definitions.json", "pass")
NS = 'xmlns="http://www.w3.org/2000/svg"'

HOSTILE = (
    f'<svg {NS} xmlns:xlink="http://www.w3.org/1999/xlink" width="10" height="10" '
    'onload="alert(1)" style="fill:red">'
    '<script>alert(2)</script>'
    '<script xlink:href="https://evil.example/x.js"/>'
    '<foreignObject><body xmlns="http://www.w3.org/1999/xhtml"><img src="x" onerror="alert(3)"/>'
    '</body></foreignObject>'
    '<style>@import url(https://evil.example/a.css)</style>'
    '<a href="javascript:alert(4)" xlink:href="javascript:alert(5)"><text>click</text></a>'
    '<image href="https://evil.example/track.png" width="1" height="1"/>'
    '<use href="https://evil.example/s.svg#x"/>'
    '<g class="gj-node" data-name="A&quot; onmouseover=&quot;alert(6)" onclick="alert(7)" '
    'style="fill:url(https://evil.example/p)">'
    '<rect x="1" y="2" width="3" height="4" style="background-image:url(//evil.example)" '
    'onmouseover="alert(8)"/>'
    '<circle cx="javascript:1" cy="2" r="3" style="fill:var(--jp-ui-font-color1, #212121)"/>'
    '<animate attributeName="href" to="javascript:alert(9)"/>'
    '<set attributeName="onclick" to="alert(10)"/>'
    '<text x="1" y="2">safe &lt;b&gt; text<title>tip</title></text>'
    '</g>'
    '<path d="M0,0 L10,10" marker-end="url(https://evil.example/m)"/>'
    '<path d="M0,0 L1,1" marker-end="url(#gj-arrow)" style="fill:none;stroke:#757575"/>'
    '</svg>'
)


def _strings_in(svg: str) -> str:
    # The markup, without the one attribute value that holds hostile text as plain text.
    return svg.replace('data-name="A&quot; onmouseover=&quot;alert(6)"', "").lower()


def test_hostile_svg_keeps_only_the_drawing():
    clean, removed = _sanitize(HOSTILE)
    low = _strings_in(clean)
    for bad in ("script", "alert", "foreignobject", "onload", "onclick", "onmouseover",
                "onerror", "javascript", "evil.example", "href", "<style", "<image",
                "<use", "<a ", "<animate", "<set", "@import"):
        assert bad not in low, bad
    # what is safe stays: the shapes, the text (escaped), the marker inside the drawing
    root = ET.fromstring(clean)
    tags = [el.tag.split("}")[1] for el in root.iter()]
    assert tags == ["svg", "g", "rect", "circle", "text", "title", "path", "path"]
    g = root.find("{http://www.w3.org/2000/svg}g")
    assert g is not None and g.get("data-name") == 'A" onmouseover="alert(6)'  # one value
    assert g.get("style") is None and g.get("onclick") is None
    assert "safe &lt;b&gt; text" in clean
    assert 'marker-end="url(#gj-arrow)"' in clean
    assert {"script", "foreignObject", "style", "a", "image", "use", "animate", "set",
            "svg@onload", "g@onclick", "rect@style", "circle@cx", "path@marker-end"} <= set(removed)
    # sanitizing is stable: what is kept sanitizes to itself
    assert sanitize_svg(clean) == clean


@pytest.mark.parametrize("bad, says", [
    ('<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>', "'<?'"),
    ('<!DOCTYPE svg [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
     f'<svg {NS}><text>&b;&b;&b;</text></svg>', "'<!'"),
    (f'<svg {NS}><!-- a comment --></svg>', "'<!'"),
    ('<html><script>alert(1)</script></html>', "not an SVG"),
    (f'<svg {NS}><g>', "not well-formed"),
    (12, "not SVG text"),
])
def test_not_a_drawing_is_refused_with_one_line(bad, says):
    with pytest.raises(UnsafeSVG) as err:
        sanitize_svg(bad)
    assert says in str(err.value) and "\n" not in str(err.value)


def test_size_cap_and_depth_cap():
    huge = f'<svg {NS}>' + "<g></g>" * (MAX_VIEW_SVG_CHARS // 7 + 1) + "</svg>"
    with pytest.raises(UnsafeSVG, match="over the"):
        sanitize_svg(huge)
    deep = f'<svg {NS}>' + "<g>" * 5000 + "</g>" * 5000 + "</svg>"
    clean, removed = _sanitize(deep)  # no recursion error: nesting past the cap is dropped
    assert clean.count("<g>") <= 12 and "g" in removed


def test_preview_keeps_the_views_drawing_of_its_current_graph_only():
    preview = FlowPreview(PASS)
    python_svg = preview.to_svg()
    drawn = f'<svg {NS} width="5" height="5"><rect x="0" y="0" width="5" height="5" onclick="x()"/></svg>'
    preview._on_view_message(preview, {"event": "drawn", "svg": drawn, "revision": preview.revision}, [])
    assert preview.drawn_svg == sanitize_svg(drawn) and "onclick" not in preview.drawn_svg
    assert preview._repr_mimebundle_()[0]["image/svg+xml"] == preview.drawn_svg
    # a new graph: the old drawing no longer counts, a late one for the old revision is ignored
    old = preview.revision
    preview.check({"input": {}})
    assert preview.to_svg() != drawn and preview.drawn_svg is None
    preview._on_view_message(preview, {"event": "drawn", "svg": drawn, "revision": old}, [])
    assert preview.drawn_svg is None and preview.to_svg().startswith("<svg")
    # a hostile page's refusal: the Python drawing stays, the reason is one line
    preview._on_view_message(preview, {"event": "drawn", "svg": "<!DOCTYPE x>",
                                       "revision": preview.revision}, [])
    assert preview.drawn_svg is None and "'<!'" in preview.drawn_svg_error
    assert python_svg.startswith("<svg")
