"""flowgraph: the graph model, the run-input check and the static exports.

The seed's client is built here with gladier's own classes, exactly as the tutorial does.
"""

from __future__ import annotations

import json
import pathlib
import xml.etree.ElementTree as ET

import pytest
from gladier import GladierBaseClient, GladierBaseTool, generate_flow_definition

from gladier_jupyter import flowdef, flowgraph
from gladier_jupyter.errors import GladierJupyterUsageError
from gladier_jupyter.flowgraph import END, START, FlowGraph, check_run_input, describe_rule

DATA = pathlib.Path(__file__).parent / "data" / "definitions"
SVG_NS = "{http://www.w3.org/2000/svg}"


# --- the seed's tools and client (gladier classes, as in the tutorial) ---------------------


def run_experiment(**data):
    """Run an 'experiment' on our remote execution environment."""
    import pathlib
    import random

    experiment = pathlib.Path(data["experiment"])
    experiment.write_text("Hello Gladier!" * random.randint(1, 100))
    return str(experiment)


@generate_flow_definition
class RunExperiment(GladierBaseTool):
    funcx_functions = [run_experiment]


def gather_metadata(**data):
    import pathlib

    experiment = pathlib.Path(data["experiment"])
    return {"search_index": data["search_index"], "subject": data["subject"],
            "content": {"name": experiment.name}, "visible_to": ["public"]}


@generate_flow_definition
class GatherMetadata(GladierBaseTool):
    funcx_functions = [gather_metadata]


class PublishMetadata(GladierBaseTool):
    flow_definition = json.loads((DATA / "publish_metadata_tool.json").read_text())
    funcx_functions = []


@generate_flow_definition
class MyGladierClient(GladierBaseClient):
    gladier_tools = [RunExperiment, GatherMetadata, PublishMetadata]


class DefaultsTool(GladierBaseTool):
    flow_definition = {
        "StartAt": "Archive",
        "States": {"Archive": {
            "Type": "Action", "ActionUrl": "https://actions.globus.org/transfer/transfer",
            "Parameters": {"source_endpoint_id.$": "$.input.archive_source",
                           "destination_endpoint_id.$": "$.input.archive_destination",
                           "transfer_items": []},
            "ResultPath": "$.Archive", "End": True}},
    }
    flow_input = {"archive_destination": "dest-collection"}
    required_input = ["archive_source", "archive_label"]


class ClashingTool(GladierBaseTool):
    flow_definition = {"StartAt": "PublishMetadata",
                       "States": {"PublishMetadata": {"Type": "Pass", "End": True}}}


def _load(name: str) -> dict:
    return json.loads((DATA / name).read_text())


# --- the seed client -------------------------------------------------------------------------


def test_seed_client_graph_has_its_three_states_in_order_between_start_and_end():
    graph = FlowGraph.build(MyGladierClient)
    assert graph.name == "MyGladierClient"
    assert flowdef.validate(graph.definition) == []
    assert graph.states_in_order() == ["RunExperiment", "GatherMetadata", "PublishMetadata"]
    pairs = [(e["source"], e["target"], e["kind"]) for e in graph.edges]
    assert pairs == [
        (START, "RunExperiment", "start"),
        ("RunExperiment", "GatherMetadata", "next"),
        ("GatherMetadata", "PublishMetadata", "next"),
        ("PublishMetadata", END, "end"),
    ]


def test_seed_client_nodes_say_what_each_action_calls():
    graph = FlowGraph.build(MyGladierClient)
    run = graph.node("RunExperiment")
    assert run["kind"] == "compute"
    assert run["tool"] == "RunExperiment"
    (fn,) = run["functions"]
    assert fn["name"] == "run_experiment"
    assert fn["doc"] == "Run an 'experiment' on our remote execution environment."
    assert "def run_experiment(**data):" in fn["source"]
    assert run["caption"] == "Compute · run_experiment()"
    publish = graph.node("PublishMetadata")
    assert (publish["kind"], publish["caption"]) == ("search", "Search ingest")
    assert publish["reads"] == ["$.GatherMetadata.details.result[0]"]
    assert publish["result_path"] == "$.PublishMetadata"


def test_seed_client_input_table_counts_function_ids_as_provided_and_endpoint_as_missing():
    graph = FlowGraph.build(MyGladierClient)
    table = {row["key"]: row for row in graph.inputs}
    assert set(table) == {"compute_endpoint", "run_experiment_function_id",
                          "gather_metadata_function_id", "experiment", "subject", "search_index"}
    # keys the compute functions read from their payload (the whole $.input) count too
    assert table["experiment"]["states"] == ["RunExperiment", "GatherMetadata"]
    assert table["search_index"]["via_functions"] == ["gather_metadata()"]
    assert table["run_experiment_function_id"]["provided"] is True
    assert table["compute_endpoint"]["provided"] is False
    assert table["compute_endpoint"]["states"] == ["RunExperiment", "GatherMetadata"]
    # expected run input is not a problem until an input is checked...
    assert [p for p in graph.problems if p.code == "missing_input"] == []
    # ...then a missing key is marked on both states that need it
    graph.check({"input": {"experiment": "/tmp/x", "subject": "s", "search_index": "i"}})
    missing = [i for i, p in enumerate(graph.problems) if p.code == "missing_input"]
    assert len(missing) == 1 and graph.problems[missing[0]].path == "$.input.compute_endpoint"
    assert all(missing[0] in graph.node(s)["problems"]
               for s in ("RunExperiment", "GatherMetadata"))
    assert graph.node("PublishMetadata")["problems"] == []


def test_tutorial_input_is_told_to_rename_funcx_endpoint_compute():
    flow_input = _load("inputs/tutorial_flow_input.json")
    (problem,) = check_run_input(MyGladierClient, flow_input)
    assert problem.code == "missing_input"
    assert "'funcx_endpoint_compute'" in problem.message
    assert "'compute_endpoint'" in problem.message
    assert "'RunExperiment', 'GatherMetadata'" in problem.message


def test_complete_input_passes_the_run_check():
    flow_input = _load("inputs/tutorial_flow_input.json")
    flow_input["input"]["compute_endpoint"] = flow_input["input"].pop("funcx_endpoint_compute")
    assert check_run_input(MyGladierClient, flow_input) == []
    graph = FlowGraph.build(MyGladierClient, flow_input)
    row = next(r for r in graph.inputs if r["key"] == "compute_endpoint")
    assert row["provided_by"] == "input"


def test_run_check_works_on_a_client_instance_made_without_init_and_on_a_tool():
    client = MyGladierClient.__wrapped__.__new__(MyGladierClient.__wrapped__)
    problems = check_run_input(client, {"input": {}})
    assert {p.path for p in problems} == {"$.input.compute_endpoint", "$.input.experiment",
                                          "$.input.subject", "$.input.search_index"}
    search = next(p for p in problems if p.path == "$.input.search_index")
    assert search.message.startswith(
        "State 'GatherMetadata' reads $.input.search_index (in gather_metadata()), which "
        "the run input does not set.")
    problems = check_run_input(RunExperiment, {"input": {"compute_endpoint": "x",
                                                         "experiment": "/tmp/e"}})
    assert problems == []


def test_run_check_rejects_input_not_wrapped_in_input():
    (problem,) = check_run_input(MyGladierClient, {"compute_endpoint": "x"})
    assert problem.code == "bad_input"
    assert "{'input': {...}}" in problem.message


def test_run_check_suggests_a_near_miss_key():
    problems = check_run_input(_load("valid/catch_fail.json"), {"input": {
        "source_endpoint": "a", "destination_endpoint": "b", "source_path": "/x",
        "destination_path": "/y", "serach_index": "i", "subject": "s"}})
    (problem,) = problems
    assert "'serach_index'" in problem.message and "did you mean 'search_index'" in problem.message


def test_tool_defaults_and_required_input_are_counted():
    graph = FlowGraph.build(DefaultsTool)
    table = {row["key"]: row for row in graph.inputs}
    assert table["archive_destination"]["provided_by"] == "default: DefaultsTool.flow_input"
    assert table["archive_source"]["required_by_tools"] == ["DefaultsTool"]
    # required by the tool but read by no state: still checked, named by tool
    problems = check_run_input(DefaultsTool, {"input": {"archive_source": "s"}})
    (problem,) = problems
    assert problem.path == "$.input.archive_label"
    assert "Tool 'DefaultsTool' requires" in problem.message


def test_duplicate_state_names_across_tools_are_a_problem_on_that_state():
    @generate_flow_definition
    class Clashing(GladierBaseClient):
        gladier_tools = [RunExperiment, GatherMetadata, PublishMetadata, ClashingTool]

    graph = FlowGraph.build(Clashing)
    dupes = [p for p in graph.problems if p.code == "duplicate_state"]
    assert [(p.state, p.severity) for p in dupes] == [("PublishMetadata", "error")]
    assert "'PublishMetadata'" in dupes[0].message and "'ClashingTool'" in dupes[0].message
    index = graph.problems.index(dupes[0])
    assert index in graph.node("PublishMetadata")["problems"]


# --- other definitions -----------------------------------------------------------------------


def test_choice_loop_edges_are_labelled_and_the_loop_edge_is_marked_back():
    graph = FlowGraph.build(DATA / "valid" / "choice_loop.json")
    by_field = {(e["source"], e.get("field")): e for e in graph.edges}
    assert by_field[("Check", "Choices[0].Next")]["label"] == "counter.count >= counter.limit"
    assert by_field[("Check", "Choices[1].Next")]["label"] == (
        '(input.mode present) and (input.mode == "abort")')
    assert by_field[("Check", "Default")]["kind"] == "default"
    back = [(e["source"], e["target"]) for e in graph.edges if e.get("back")]
    assert back == [("Increment", "Check")]
    table = {row["key"]: row for row in graph.inputs}
    assert table["mode"]["provided"] is True  # tested with IsPresent: optional
    assert table["delay"]["provided"] is False


def test_catch_edges_are_labelled_with_error_names():
    graph = FlowGraph.build(DATA / "valid" / "catch_fail.json")
    (catch,) = [e for e in graph.edges if e["kind"] == "catch"]
    assert (catch["source"], catch["target"]) == ("Transfer", "Cleanup")
    assert catch["label"] == "ActionFailedException, States.Runtime"
    assert graph.node("Failed")["kind"] == "fail"
    assert graph.node("Failed")["caption"] == "Fail · TransferFailed"
    assert graph.node("Cleanup")["caption"] == "Wait 5 s"
    # each terminal state has its own end marker
    ends = sorted((e["source"], e["target"]) for e in graph.edges if e["kind"] == "end")
    assert ends == [("Failed", "(end) Failed"), ("Ingest", "(end) Ingest")]


def test_unknown_target_draws_a_missing_node_carrying_the_error():
    graph = FlowGraph.build(_load("broken/unknown_next.json")["definition"])
    ghost = graph.node("(missing) Secnd")
    assert ghost["missing"] is True
    codes = {graph.problems[i].code for i in ghost["problems"]}
    assert codes == {"unknown_target"}
    assert {graph.problems[i].code for i in graph.node("First")["problems"]} == {"unknown_target"}
    assert {graph.problems[i].code for i in graph.node("Second")["problems"]} == {"unreachable"}


def test_gladier_state_models_build_a_graph():
    from gladier.tools import SearchIngest, Transfer, TransferItem, WaitState

    transfer = Transfer(source_endpoint_id="$.input.src", destination_endpoint_id="dest",
                        transfer_items=[TransferItem(source_path="$.input.path",
                                                     destination_path="/dest")])
    transfer.next(WaitState(seconds=3)).next(
        SearchIngest(search_index="$.input.index", subject="$.input.subject",
                     content="$.TransferResult.details"))
    graph = FlowGraph.build(transfer)
    assert graph.states_in_order() == ["Transfer", "WaitState", "SearchIngest"]
    assert [graph.node(s)["kind"] for s in graph.states_in_order()] == [
        "transfer", "wait", "search"]


@pytest.mark.parametrize("text", [
    '{"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}}',
    "StartAt: A\nStates:\n  A:\n    Type: Pass\n    End: true\n",
])
def test_json_and_yaml_text_load(text):
    assert FlowGraph.build(text).states_in_order() == ["A"]


def test_yaml_file_path_loads(tmp_path):
    path = tmp_path / "flow.yaml"
    path.write_text("StartAt: A\nStates:\n  A: {Type: Pass, End: true}\n")
    assert FlowGraph.build(str(path)).states_in_order() == ["A"]


@pytest.mark.parametrize("bad", ["missing-file.json", "{not json: [", 42])
def test_unusable_inputs_raise_a_usage_error(bad):
    with pytest.raises(GladierJupyterUsageError):
        FlowGraph.build(bad)


def test_function_input_keys_reads_parameters_and_payload_lookups():
    source = (
        "def f(path, mode='r', *, size, **data):\n"
        "    x = data['experiment']\n"
        "    y = data.get('optional')\n"
        "    return data['experiment'], data['subject']\n"
    )
    assert flowgraph.function_input_keys(source) == ["path", "size", "experiment", "subject"]


def test_function_input_keys_leave_out_guarded_and_conditional_lookups():
    source = (
        "def f(**data):\n"
        "    a = data['always']\n"
        "    if 'maybe' in data:\n"
        "        b = data['maybe']\n"
        "    c = data['maybe']  # guarded above: optional\n"
        "    for x in data['items']:\n"
        "        y = data['inside_loop']\n"
        "    return data.get('opt') or data['opt']\n"
    )
    assert flowgraph.function_input_keys(source) == ["always"]


@pytest.mark.parametrize("rule,short", [
    ({"Variable": "$.input.n", "NumericGreaterThan": 3}, "input.n > 3"),
    ({"Variable": "$.s", "StringMatches": "log-*"}, 's matches "log-*"'),
    ({"Not": {"Variable": "$.x", "IsNull": True}}, "not (x is null)"),
    ({"Or": [{"Variable": "$.a", "BooleanEquals": True},
             {"Variable": "$.b", "IsPresent": False}]}, "(a == true) or (b absent)"),
    ({"Variable": "$.t", "TimestampLessThanPath": "$.input.deadline"}, "t < input.deadline"),
])
def test_describe_rule_gives_a_short_condition(rule, short):
    assert describe_rule(rule) == short


# --- exports ---------------------------------------------------------------------------------


def test_svg_is_well_formed_and_has_a_group_per_state():
    graph = FlowGraph.build(MyGladierClient)
    root = ET.fromstring(graph.to_svg())
    names = [g.get("data-name") for g in root.iter(f"{SVG_NS}g")]
    assert names == [START, "RunExperiment", "GatherMetadata", "PublishMetadata", END]
    texts = [t.text for t in root.iter(f"{SVG_NS}text")]
    assert "Compute · run_experiment()" in texts


def test_svg_marks_the_broken_state_in_the_error_colour():
    graph = FlowGraph.build(_load("broken/unknown_next.json")["definition"])
    root = ET.fromstring(graph.to_svg())
    first = next(g for g in root.iter(f"{SVG_NS}g") if g.get("data-name") == "First")
    assert "error" in first.find(f"{SVG_NS}title").text or "Secnd" in first.find(
        f"{SVG_NS}title").text
    assert "--jp-error-color1" in ET.tostring(first, encoding="unicode")


def test_large_flow_lays_out_every_state_without_overlap():
    graph = FlowGraph.build(DATA / "valid" / "large_200_states.json")
    layout = graph.layout()
    kinds = {n["id"]: n["kind"] for n in graph.nodes}
    boxes = [b for nid, b in layout["nodes"].items() if kinds[nid] not in ("start", "end")]
    assert len(boxes) == 201
    rows: dict[float, list[dict]] = {}
    for b in boxes:
        rows.setdefault(round(b["y"]), []).append(b)
    for row in rows.values():
        row.sort(key=lambda b: b["x"])
        for a, b in zip(row, row[1:], strict=False):
            assert b["x"] - a["x"] >= (a["w"] + b["w"]) / 2


def test_mermaid_has_a_node_per_state_and_dashed_catch_edges():
    text = FlowGraph.build(DATA / "valid" / "catch_fail.json").to_mermaid()
    assert text.startswith("flowchart TD\n")
    assert '"Transfer<br/><small>Transfer</small>"' in text
    assert '-.->|"ActionFailedException, States.Runtime"|' in text


def test_text_summary_lists_states_and_problems():
    text = FlowGraph.build(MyGladierClient).to_text()
    assert text.splitlines()[0] == (
        "Flow MyGladierClient: 3 states, starts at RunExperiment; 0 errors, 0 warnings")
    assert "RunExperiment (Compute · run_experiment()) -> GatherMetadata" in text
    assert "$.input.compute_endpoint: MISSING" in text
    assert "$.input.run_experiment_function_id: default: function id" in text


def test_every_definition_file_builds_and_exports():
    for path in sorted(DATA.rglob("*.json")):
        data = json.loads(path.read_text())
        definition = data.get("definition", data) if "input" not in data else None
        if definition is None:
            continue
        graph = flowgraph.build_graph(definition)
        ET.fromstring(graph.to_svg())
        assert graph.to_mermaid().startswith("flowchart TD")
        json.dumps(graph.model)  # the widget syncs it: must be JSON


# --- the FlowPreview widget's Python side ----------------------------------------------------


def test_preview_mimebundle_adds_static_views_to_the_widget_view():
    from gladier_jupyter.widgets.preview import FLOW_MIME, FlowPreview

    preview = FlowPreview(MyGladierClient)
    data, metadata = preview._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in data
    assert ET.fromstring(data["image/svg+xml"]).get("class") == "gj-flow-svg"
    assert data["text/vnd.mermaid"] == preview.to_mermaid()
    assert data["text/plain"].startswith("Flow MyGladierClient: 3 states")
    assert data[FLOW_MIME]["graph"]["nodes"] == preview.graph["nodes"]
    assert data[FLOW_MIME]["definition"]["StartAt"] == "RunExperiment"
    assert isinstance(metadata, dict)


def test_preview_check_updates_the_synced_table_and_marks():
    from gladier_jupyter.widgets.preview import FlowPreview

    preview = FlowPreview(MyGladierClient)
    before = {row["key"]: row["provided"] for row in preview.inputs}
    assert before["compute_endpoint"] is False
    problems = preview.check({"experiment": "/tmp/x", "funcx_endpoint_compute": "ep",
                              "subject": "s", "search_index": "i"})
    assert [p.code for p in problems] == ["missing_input"]
    assert preview.problems[-1]["severity"] == "error"
    assert "'funcx_endpoint_compute'" in preview.problems[-1]["message"]
    changes = []
    preview.observe(changes.append, names="graph")
    preview.check({"experiment": "/tmp/x", "subject": "s", "search_index": "i"})
    assert changes, "the graph trait must change (and sync) when a check marks states"
    marked = {n["id"] for n in preview.graph["nodes"] if n["problems"]}
    assert marked == {"RunExperiment", "GatherMetadata"}
    assert preview.check({"input": {"compute_endpoint": "ep", "experiment": "/tmp/x",
                                    "subject": "s", "search_index": "i"}}) == []
    assert {row["key"]: row["provided"] for row in preview.inputs}["compute_endpoint"] is True
    assert all(not n["problems"] for n in preview.graph["nodes"])


def test_preview_selection_must_name_a_state():
    import traitlets

    from gladier_jupyter.widgets.preview import FlowPreview

    preview = FlowPreview(DATA / "valid" / "catch_fail.json")
    preview.select("Ingest")
    assert preview.selected == "Ingest"
    with pytest.raises(traitlets.TraitError, match="no state 'Nope'"):
        preview.select("Nope")


# --- gladier's own example tools (its test mocks ship with the package) --------------------


def test_gladier_mock_client_with_import_string_definition():
    from gladier.tests.test_data.gladier_mocks import MockGladierClient

    graph = FlowGraph.build(MockGladierClient)
    node = graph.node("MockFunc")
    assert (node["kind"], node["tool"]) == ("compute", "MockTool")
    assert [f["name"] for f in node["functions"]] == ["hello_world"]
    table = {row["key"]: row for row in graph.inputs}
    assert table["compute_endpoint"]["provided_by"] == "default: MockTool.flow_input"
    # the mock reads hello_world's id but registers mock_func: the check says so
    problems = check_run_input(MockGladierClient, {"input": {}})
    assert [p.path for p in problems] == ["$.input.hello_world_function_id"]


def test_gladier_mock_three_state_tool_and_generated_tool():
    from gladier.tests.test_data.gladier_mocks import GeneratedTool, MockToolThreeStates

    graph = FlowGraph.build(MockToolThreeStates)
    assert graph.states_in_order() == ["StateOne", "StateTwo", "StateThree"]
    assert [graph.node(s)["kind"] for s in graph.states_in_order()] == [
        "compute", "transfer", "search"]
    assert flowdef.errors(graph.definition) == []
    generated = FlowGraph.build(GeneratedTool)
    (fn,) = generated.node("MockFunc")["functions"]
    assert (fn["name"], fn["doc"]) == ("mock_func", "Test mock function")
    # gladier calls the function with the whole input as keyword arguments: 'data' is read
    assert {row["key"] for row in generated.inputs} == {
        "compute_endpoint", "mock_func_function_id", "data"}


def test_repeated_catches_into_one_handler_are_routed_along_the_side():
    graph = FlowGraph.build(DATA / "valid" / "large_200_states.json")
    layout = graph.layout()
    catches = [e for e in graph.edges if e["kind"] == "catch"]
    assert len(catches) == 10
    side_routes = [layout["edges"][e["id"]]["points"] for e in catches[1:]]
    for points, edge in zip(side_routes, catches[1:], strict=True):
        source = layout["nodes"][edge["source"]]
        assert len(points) == 4 and points[0][0] == source["x"] + source["w"] / 2
    # the chain stays a column instead of drifting sideways around long catch edges
    assert layout["width"] < 4 * 184


def test_tool_class_and_instance_give_the_same_graph():
    from_class = FlowGraph.build(GatherMetadata)
    from_instance = FlowGraph.build(GatherMetadata())
    assert from_class.definition == from_instance.definition
    assert from_instance.name == "GatherMetadata"
    assert from_instance.node("GatherMetadata")["functions"][0]["name"] == "gather_metadata"


def test_run_check_reports_definition_errors_but_not_warnings():
    broken = _load("broken/unknown_next.json")["definition"]
    problems = check_run_input(broken, {"input": {}})
    assert sorted(p.code for p in problems) == ["unknown_target"]  # unreachable, no_end: warnings
    assert check_run_input(broken, {"input": {}}, include_definition=False) == []
    loop = _load("valid/choice_loop.json")  # has warnings only, and reads limit and delay
    problems = check_run_input(loop, {"input": {"limit": 3, "delay": 1}})
    assert problems == []
