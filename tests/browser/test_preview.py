"""FlowPreview in a real JupyterLab + Chromium: the graph, the state pane, problems, dark theme."""

from __future__ import annotations

import json
import pathlib

import pytest

from tests._fixtures.browser import assert_accessible, run_notebook, screenshot

DATA = pathlib.Path(__file__).resolve().parents[1] / "data" / "definitions"

# The tutorial's tools and client, as its cells define them (gladier classes).
TUTORIAL_CELLS = [
    "%load_ext gladier_jupyter",
    "from gladier import GladierBaseClient, GladierBaseTool, generate_flow_definition\n"
    "from gladier_jupyter.widgets import FlowPreview",
    "def run_experiment(**data):\n"
    "    \"\"\"Run an 'experiment' on our remote execution environment.\"\"\"\n"
    "    import pathlib, random\n"
    "    experiment = pathlib.Path(data['experiment'])\n"
    "    experiment.write_text('Hello Gladier!' * random.randint(1, 100))\n"
    "    return str(experiment)\n\n"
    "@generate_flow_definition\n"
    "class RunExperiment(GladierBaseTool):\n"
    "    funcx_functions = [run_experiment]",
    "def gather_metadata(**data):\n"
    "    import pathlib\n"
    "    experiment = pathlib.Path(data['experiment'])\n"
    "    return {'search_index': data['search_index'], 'subject': data['subject'],\n"
    "            'content': {'name': experiment.name}, 'visible_to': ['public']}\n\n"
    "@generate_flow_definition\n"
    "class GatherMetadata(GladierBaseTool):\n"
    "    funcx_functions = [gather_metadata]",
    "class PublishMetadata(GladierBaseTool):\n"
    f"    flow_definition = {(DATA / 'publish_metadata_tool.json').read_text()!r}\n"
    "    funcx_functions = []\n"
    "import json\n"
    "PublishMetadata.flow_definition = json.loads(PublishMetadata.flow_definition)",
    "@generate_flow_definition\n"
    "class MyGladierClient(GladierBaseClient):\n"
    "    gladier_tools = [RunExperiment, GatherMetadata, PublishMetadata]",
]

NODE = ".gj-preview g.gj-node[data-name='{}']"


def _centre_y(page, name: str) -> float:
    box = page.locator(NODE.format(name)).bounding_box()
    assert box is not None, f"state {name} is not drawn"
    return box["y"] + box["height"] / 2


@pytest.mark.browser
def test_tutorial_client_graph_shows_its_three_states_in_order(lab, page):
    tutorial_input = json.loads((DATA / "inputs" / "tutorial_flow_input.json").read_text())
    run_notebook(lab, page, "preview_tutorial",
                 TUTORIAL_CELLS + ["preview = FlowPreview(MyGladierClient)\npreview",
                                   f"problems = preview.check({tutorial_input!r})"],
                 wait_for=NODE.format("PublishMetadata"))
    names = ["RunExperiment", "GatherMetadata", "PublishMetadata"]
    ys = [_centre_y(page, n) for n in names]
    assert ys == sorted(ys) and len(set(ys)) == 3
    # start above the first state, end below the last
    assert _centre_y(page, "(start)") < ys[0] and _centre_y(page, "(end)") > ys[-1]
    captions = page.locator(NODE.format("RunExperiment") + " > text").all_text_contents()
    assert captions == ["RunExperiment", "Compute · run_experiment()"]
    # preview.check(tutorial input) reached the view: the key the tutorial's input gets wrong
    # (funcx_endpoint_compute for compute_endpoint) is marked on both compute states
    page.wait_for_function(
        "() => document.querySelector('.gj-preview').dataset.errors === '1'", timeout=15_000)
    for name in ("RunExperiment", "GatherMetadata"):
        assert page.locator(NODE.format(name)).get_attribute("data-severity") == "error"
    assert page.locator(NODE.format("PublishMetadata")).get_attribute("data-severity") == ""
    row = page.locator(".gj-inputs tr[data-key='compute_endpoint']")
    assert row.get_attribute("data-provided") == "false"
    assert page.locator(".gj-inputs tr[data-key='search_index']").get_attribute(
        "data-provided") == "true"
    assert "rename 'funcx_endpoint_compute' to 'compute_endpoint'" in page.locator(
        ".gj-problems li[data-code='missing_input']").inner_text()
    # "Required input (N)" counts what the user must give: not the function ids (defaults)
    rows = page.evaluate(
        "() => [...document.querySelectorAll('.gj-inputs tbody tr')].map(r =>"
        " [r.dataset.key, r.dataset.provided, r.lastElementChild.textContent])")
    must = [key for key, provided, by in rows if provided == "false" or by == "input"]
    assert any(key.endswith("_function_id") for key, _, _ in rows)
    assert must and not any(key.endswith("_function_id") for key in must)
    summary = page.locator(".gj-inputs summary")
    assert summary.get_attribute("data-required") == str(len(must))
    assert summary.inner_text().startswith(f"Required input ({len(must)})")
    page.locator(".gj-preview").scroll_into_view_if_needed()
    screenshot(page, "preview_tutorial")
    assert_accessible(page, ".gj-preview")


@pytest.mark.browser
def test_clicking_a_state_shows_its_json_and_function_source(lab, page):
    run_notebook(lab, page, "preview_click",
                 TUTORIAL_CELLS + ["preview = FlowPreview(MyGladierClient)\npreview"],
                 wait_for=NODE.format("GatherMetadata"))
    page.locator(NODE.format("GatherMetadata")).click()
    page.wait_for_function(
        "() => document.querySelector('.gj-preview').dataset.selected === 'GatherMetadata'",
        timeout=15_000)
    state = json.loads(page.locator(".gj-pane-json").inner_text())
    assert state["ResultPath"] == "$.GatherMetadata"
    assert state["Parameters"]["tasks"][0]["function.$"] == "$.input.gather_metadata_function_id"
    assert "def gather_metadata(**data):" in page.locator(".gj-pane-source").inner_text()
    reads = page.locator(".gj-pane-reads li").all_inner_texts()
    assert "$.input.compute_endpoint" in reads
    assert page.locator(".gj-pane-result").inner_text() == "$.GatherMetadata"
    assert page.locator(NODE.format("GatherMetadata")).get_attribute("class").endswith(
        "gj-selected")
    assert page.locator(".gj-pane-next li").all_inner_texts() == ["Next: PublishMetadata"]
    screenshot(page, "preview_click")
    page.locator(".gj-pane-next button").click()
    page.wait_for_function(
        "() => document.querySelector('.gj-preview').dataset.selected === 'PublishMetadata'",
        timeout=15_000)
    assert page.locator(".gj-pane-next li").all_inner_texts() == ["the flow ends here"]
    # keyboard: focus a state, press Enter
    page.locator(NODE.format("RunExperiment")).focus()
    page.keyboard.press("Enter")
    page.wait_for_function(
        "() => document.querySelector('.gj-preview').dataset.selected === 'RunExperiment'",
        timeout=15_000)
    # the docstring is the state's Comment: the pane shows it once as text (then only in
    # the function's source and the state's JSON)
    assert page.locator(".gj-pane .gj-doc", has_text="Run an 'experiment'").count() == 1
    assert_accessible(page, ".gj-preview")
    # arrow down follows the transition to the next state
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    page.wait_for_function(
        "() => document.querySelector('.gj-preview').dataset.selected === 'GatherMetadata'",
        timeout=15_000)


@pytest.mark.browser
def test_broken_definition_shows_its_error_on_the_right_state(lab, page):
    broken = json.loads((DATA / "broken" / "unknown_next.json").read_text())["definition"]
    run_notebook(lab, page, "preview_broken", [
        "from gladier_jupyter.widgets import FlowPreview",
        f"FlowPreview({json.dumps(broken)!r})",
    ], wait_for=NODE.format("First"))
    first = page.locator(NODE.format("First"))
    assert first.get_attribute("data-severity") == "error"
    # Second is unreachable (First points at 'Secnd'): a warning, as Globus does not refuse it
    assert page.locator(NODE.format("Second")).get_attribute("data-severity") == "warning"
    ghost = page.locator(NODE.format("(missing) Secnd"))
    assert ghost.get_attribute("data-kind") == "missing"
    item = page.locator(".gj-problems li[data-code='unknown_target']")
    assert item.get_attribute("data-state") == "First"
    assert "'Secnd'" in item.inner_text()
    # choosing the problem selects the state it is about
    item.locator("button").click()
    page.wait_for_function(
        "() => document.querySelector('.gj-preview').dataset.selected === 'First'",
        timeout=15_000)
    assert "unknown" in page.locator(".gj-pane").inner_text().lower() or "'Secnd'" in (
        page.locator(".gj-pane").inner_text())
    page.locator(".gj-preview").scroll_into_view_if_needed()
    screenshot(page, "preview_broken")


@pytest.mark.browser
def test_dark_theme_renders_legible_graph(lab, page):
    run_notebook(lab, page, "preview_dark", [
        "from gladier_jupyter.widgets import FlowPreview",
        f"FlowPreview({str(DATA / 'valid' / 'choice_loop.json')!r})",
    ], wait_for=NODE.format("Check"))
    page.evaluate(
        "() => window.jupyterapp.commands.execute('apputils:change-theme', "
        "{theme: 'JupyterLab Dark'})")
    page.wait_for_function("() => document.body.dataset.jpThemeLight === 'false'",
                           timeout=30_000)
    page.wait_for_timeout(500)  # let the theme's stylesheet apply before measuring colours
    colours = page.evaluate("""() => {
      const lum = (c) => { const m = c.match(/[\\d.]+/g).map(Number);
        const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
        return 0.2126 * f(m[0]) + 0.7152 * f(m[1]) + 0.0722 * f(m[2]); };
      const label = document.querySelector(".gj-preview g.gj-node[data-name='Check'] text");
      const graph = document.querySelector(".gj-preview .gj-graph");
      return { text: lum(getComputedStyle(label).fill),
               bg: lum(getComputedStyle(graph).backgroundColor) };
    }""")
    # light text on a dark background, with a WCAG contrast ratio of at least 4.5
    assert colours["bg"] < 0.1 < colours["text"]
    assert (colours["text"] + 0.05) / (colours["bg"] + 0.05) >= 4.5
    page.locator(".gj-preview").scroll_into_view_if_needed()
    screenshot(page, "preview_dark")
    assert_accessible(page, ".gj-preview")
    page.evaluate(
        "() => window.jupyterapp.commands.execute('apputils:change-theme', "
        "{theme: 'JupyterLab Light'})")
