"""The magics in a real IPython shell with the extension loaded (no service needed)."""

from __future__ import annotations

import importlib.util
import inspect
import json
import pathlib
import subprocess
import sys
import textwrap

import pytest
from IPython.core.error import UsageError

DATA = pathlib.Path(__file__).parent / "data" / "magics"
ERROR_CASES = json.loads((DATA / "errors.json").read_text())


@pytest.fixture(scope="session")
def ipshell():
    """One IPython shell for the session, set up as a kernel sets it up."""
    from IPython.testing.globalipapp import get_ipython, start_ipython

    shell = start_ipython() or get_ipython()  # the second call returns None
    # In a kernel, __main__ is the shell's user module; dill (gladier's function serializer)
    # finds cell source through it. globalipapp leaves pytest's __main__ in place.
    saved = sys.modules["__main__"]
    sys.modules["__main__"] = shell.user_module
    # dill decides "am I in IPython" when first imported; in a kernel IPython always comes
    # first, but earlier tests in this process may have imported dill (via globus-compute-sdk).
    import dill._dill
    import dill.source

    dill._dill.IS_IPYTHON = dill.source.IS_IPYTHON = True
    shell.run_line_magic("load_ext", "gladier_jupyter")
    yield shell
    sys.modules["__main__"] = saved


@pytest.fixture
def shell(ipshell):
    ipshell.reset(new_session=False)
    return ipshell


def run(shell, cell: str):
    result = shell.run_cell(cell)
    error = result.error_in_exec or result.error_before_exec
    assert error is None, f"{cell!r} failed: {error}"
    return result


def usage_error(shell, cell: str) -> str:
    result = shell.run_cell(cell)
    assert isinstance(result.error_in_exec, UsageError), (cell, result.error_in_exec)
    return str(result.error_in_exec)


def load_seed():
    spec = importlib.util.spec_from_file_location("seed_tools", DATA / "seed_decorator_tools.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def define_seed_tools(shell) -> None:
    for name in ("run_experiment.cell.py", "gather_metadata.cell.py", "publish_metadata.cell.yaml"):
        run(shell, (DATA / name).read_text())


def tool_flow(tool):
    """The flow a tool contributes, built as gladier builds it for a client."""
    from gladier import GladierBaseClient

    return GladierBaseClient.get_gladier_defaults_cls(tool).get_flow_definition()


def decorated_tool_flow(funcs, modifiers=None, **attrs):
    from gladier import GladierBaseTool, generate_flow_definition

    cls = type("Reference", (GladierBaseTool,), {"compute_functions": funcs, **attrs})
    return generate_flow_definition(modifiers=modifiers or {})(cls)().flow_definition


# --------------------------------------------------------------------------- loading


def test_load_ext_imports_neither_gladier_nor_globus_and_starts_their_import_in_background():
    # The background import starts when the %load_ext cell has ended; it is held here until
    # then, so what %load_ext itself imports is seen apart from what the thread imports.
    code = textwrap.dedent(
        """
        import sys, threading
        from IPython.core.interactiveshell import InteractiveShell
        from gladier_jupyter import plain_clients
        go, real = threading.Event(), plain_clients._import_in_background
        plain_clients._import_in_background = lambda: (go.wait(30), real())
        shell = InteractiveShell.instance()
        assert shell.run_cell("%load_ext gladier_jupyter").success
        assert "gladier_tool" in shell.magics_manager.magics["cell"]
        heavy = lambda: sorted({m.split(".")[0] for m in sys.modules
                                if m.split(".")[0] in ("gladier", "globus_sdk", "globus_compute_sdk", "anywidget")})
        print(heavy())
        go.set()
        plain_clients._BACKGROUND["thread"].join(60)
        print(heavy())
        import gladier
        print(type(gladier.GladierBaseClient.__dict__.get("flows_client")).__name__)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    at_load, after_thread, flows_client = out.stdout.strip().splitlines()
    assert at_load == "[]", out.stdout
    assert after_thread == "['gladier', 'globus_compute_sdk', 'globus_sdk']", out.stdout
    # plain gladier clients get the extension's defaults as soon as the thread has imported it
    assert flows_client == "property", out.stdout


def test_first_tool_cell_right_after_load_ext_waits_for_the_background_import():
    code = textwrap.dedent(
        """
        import sys
        from IPython.testing.globalipapp import start_ipython
        shell = start_ipython(); sys.modules["__main__"] = shell.user_module
        assert shell.run_cell("%load_ext gladier_jupyter").success
        result = shell.run_cell(open(sys.argv[1]).read())
        assert result.success, result.error_in_exec
        print(shell.user_ns["RunExperiment"].__mro__[1].__name__)
        """
    )
    out = subprocess.run([sys.executable, "-c", code, str(DATA / "run_experiment.cell.py")],
                         capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip().splitlines()[-1] == "GladierBaseTool", out.stdout


def test_magic_help_is_one_sentence_and_an_example(shell):
    for kind, name in (("cell", "gladier_tool"), ("line", "gladier_client"), ("line", "gladier_run")):
        doc = shell.magics_manager.magics[kind][name].__doc__
        paragraphs = [p.strip() for p in doc.split("\n\n")]
        example = next(i for i, p in enumerate(paragraphs) if p.startswith("In [1]: %"))
        sentence = paragraphs[example - 1]
        assert "\n" not in sentence and sentence.endswith(".") and ". " not in sentence, name
        assert f"%{name}" in paragraphs[example] or f"%%{name}" in paragraphs[example]


# --------------------------------------------------------------------------- the seed


def test_seed_tools_by_magics_give_the_decorator_flow(shell):
    from gladier_jupyter import inline

    seed = load_seed()
    define_seed_tools(shell)
    run(shell, "%gladier_client MyGladierClient RunExperiment GatherMetadata PublishMetadata --no-preview")
    mine = inline.client_flow_definition(shell.user_ns["MyGladierClient"])
    reference = inline.client_flow_definition(seed.MyGladierClient)
    assert json.dumps(mine, sort_keys=True) == json.dumps(reference, sort_keys=True)
    assert mine == json.loads((DATA / "seed_flow.json").read_text())
    for name in ("RunExperiment", "GatherMetadata", "PublishMetadata"):
        assert tool_flow(shell.user_ns[name]) == tool_flow(getattr(seed, name)), name


def test_tool_is_a_gladier_tool_class_and_functions_are_in_the_namespace(shell):
    from gladier import GladierBaseTool

    define_seed_tools(shell)
    tool = shell.user_ns["RunExperiment"]
    assert isinstance(tool, type) and issubclass(tool, GladierBaseTool)
    assert tool.compute_functions == [shell.user_ns["run_experiment"]]
    assert shell.user_ns["run_experiment"](experiment=str(DATA / "nothing.txt")) .endswith(
        "nothing.txt"
    )
    (DATA / "nothing.txt").unlink()
    assert inspect.getsource(shell.user_ns["gather_metadata"]).startswith("def gather_metadata(**data):")


def test_functions_chain_in_cell_order_and_survive_serialization(shell):
    from globus_compute_sdk import serialize

    run(
        shell,
        "%%gladier_tool Pipeline\n"
        "def first_step(**data):\n    return data['x'] + 1\n\n"
        "def second_step(**data):\n    '''Second.'''\n    return 2\n",
    )
    flow = tool_flow(shell.user_ns["Pipeline"])
    assert flow["StartAt"] == "FirstStep"
    assert flow["States"]["FirstStep"]["Next"] == "SecondStep"
    assert flow["States"]["SecondStep"]["End"] is True
    assert flow["States"]["SecondStep"]["Comment"] == "Second."
    serializer = serialize.ComputeSerializer(strategy_code=serialize.DillCodeSource())
    payload = serializer.serialize(shell.user_ns["first_step"])
    # a fresh interpreter has nothing of this notebook: only the shipped source
    code = (
        "import sys; from globus_compute_sdk import serialize\n"
        "s = serialize.ComputeSerializer(strategy_code=serialize.DillCodeSource())\n"
        "print(s.deserialize(sys.stdin.read())(x=41))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], input=payload, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "42"


def test_a_helper_nested_in_its_compute_function_travels_with_it(shell):
    # What the error for a top-level helper tells the user to write: one state, and the
    # helper goes to the endpoint inside the function's own source.
    from globus_compute_sdk import serialize

    run(
        shell,
        "%%gladier_tool Helped\n"
        "def run_it(**data):\n"
        "    def clean(name):\n        return name.strip().title()\n"
        "    return clean(data['name'])\n",
    )
    assert list(tool_flow(shell.user_ns["Helped"])["States"]) == ["RunIt"]
    serializer = serialize.ComputeSerializer(strategy_code=serialize.DillCodeSource())
    payload = serializer.serialize(shell.user_ns["run_it"])
    code = (
        "import sys; from globus_compute_sdk import serialize\n"
        "s = serialize.ComputeSerializer(strategy_code=serialize.DillCodeSource())\n"
        "print(s.deserialize(sys.stdin.read())(name='  ada  '))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], input=payload, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "Ada"


# --------------------------------------------------------------------------- options


def test_endpoint_key_and_wait_time_equal_gladier_modifiers(shell):
    run(
        shell,
        "%%gladier_tool Tuned --endpoint my_endpoint --wait-time 600\n"
        "def tuned(**data):\n    return 1\n",
    )
    expected = decorated_tool_flow(
        [shell.user_ns["tuned"]], {"tuned": {"endpoint": "my_endpoint", "WaitTime": 600}}
    )
    assert tool_flow(shell.user_ns["Tuned"]) == expected
    task = expected["States"]["Tuned"]["Parameters"]["tasks"][0]
    assert task["endpoint.$"] == "$.input.my_endpoint"


def test_endpoint_key_on_v3_sets_endpoint_id(shell):
    run(shell, "%%gladier_tool Keyed3 --action-url v3 --endpoint gpu_endpoint\ndef keyed3(**data):\n    return 1\n")
    expected = decorated_tool_flow(
        [shell.user_ns["keyed3"]],
        {"keyed3": {"endpoint_id": "gpu_endpoint"}},
        action_url="https://compute.actions.globus.org/v3",
    )
    flow = tool_flow(shell.user_ns["Keyed3"])
    assert flow == expected
    assert flow["States"]["Keyed3"]["Parameters"]["endpoint_id.$"] == "$.input.gpu_endpoint"


def test_endpoint_uuid_is_a_literal_in_the_flow(shell):
    uuid = "4b116d3c-1703-4f8f-9f6f-39921e5864df"
    run(shell, f"%%gladier_tool Fixed --endpoint {uuid}\ndef fixed(**data):\n    return 1\n")
    task = tool_flow(shell.user_ns["Fixed"])["States"]["Fixed"]["Parameters"]["tasks"][0]
    assert task["endpoint"] == uuid and "endpoint.$" not in task
    run(shell, f"%%gladier_tool Fixed3 --action-url v3 -e {uuid}\ndef fixed3(**data):\n    return 1\n")
    params = tool_flow(shell.user_ns["Fixed3"])["States"]["Fixed3"]["Parameters"]
    assert params["endpoint_id"] == uuid and "endpoint_id.$" not in params


@pytest.mark.parametrize("url", ["v3", "https://compute.actions.globus.org/v3"])
def test_action_url_v3_equals_gladier_v3_tool(shell, url):
    run(shell, f"%%gladier_tool Three --action-url {url}\ndef three(**data):\n    return 1\n")
    expected = decorated_tool_flow(
        [shell.user_ns["three"]], action_url="https://compute.actions.globus.org/v3"
    )
    flow = tool_flow(shell.user_ns["Three"])
    assert flow == expected
    assert flow["States"]["Three"]["ActionUrl"] == "https://compute.actions.globus.org/v3"
    assert flow["States"]["Three"]["Parameters"]["endpoint_id.$"] == "$.input.compute_endpoint"


def test_required_and_default_inputs_reach_gladier(shell):
    run(
        shell,
        "%%gladier_tool Inputs --required experiment,subject -r search_index "
        "--input search_index=tutorial --input retries=3 --input '{\"tags\": [\"a\"]}'\n"
        "def inputs(**data):\n    return 1\n",
    )
    tool = shell.user_ns["Inputs"]()
    assert tool.get_required_input() == ["experiment", "subject", "search_index"]
    assert tool.get_flow_input() == {"search_index": "tutorial", "retries": 3, "tags": ["a"]}


def test_set_and_modifiers_equal_gladier_modifiers(shell):
    run(shell, "mods = {'second': {'payload': 'first'}}")
    run(
        shell,
        "%%gladier_tool Modded --set first.ExceptionOnActionFailure=true --set WaitTime=30 "
        "--modifiers mods\n"
        "def first(**data):\n    return 1\n\ndef second(**data):\n    return 2\n",
    )
    ns = shell.user_ns
    expected = decorated_tool_flow(
        [ns["first"], ns["second"]],
        {
            "first": {"ExceptionOnActionFailure": True, "WaitTime": 30},
            "second": {"WaitTime": 30, "payload": "first"},
        },
    )
    flow = tool_flow(ns["Modded"])
    assert flow == expected
    assert flow["States"]["Second"]["Parameters"]["tasks"][0]["payload.$"] == "$.First.details.results"


def test_comment_sets_docstring_and_flow_comment(shell):
    run(shell, "%%gladier_tool Noted --comment 'Does a thing.'\ndef noted(**data):\n    return 1\n")
    assert shell.user_ns["Noted"].__doc__ == "Does a thing."
    assert tool_flow(shell.user_ns["Noted"])["Comment"] == "Does a thing."
    run(shell, "%gladier_client NotedClient Noted -c 'The client.' --no-preview")
    from gladier_jupyter import inline

    assert inline.client_flow_definition(shell.user_ns["NotedClient"])["Comment"] == "The client."


def test_definition_in_json_equals_yaml(shell):
    yaml_cell = (DATA / "publish_metadata.cell.yaml").read_text()
    run(shell, yaml_cell)
    from_yaml = tool_flow(shell.user_ns["PublishMetadata"])
    seed = load_seed()
    json_cell = "%%gladier_tool PublishMetadata --definition\n" + json.dumps(
        seed.PublishMetadata.flow_definition, indent=2
    )
    run(shell, json_cell)
    assert tool_flow(shell.user_ns["PublishMetadata"]) == from_yaml == seed.PublishMetadata.flow_definition


def test_definition_transition_states_and_defaults(shell):
    cell = (
        "%%gladier_tool Branch --definition --transition-states Yes --required flag --input flag=true\n"
        "StartAt: Decide\n"
        "States:\n"
        "  Decide:\n"
        "    Type: Choice\n"
        "    Choices: [{Variable: $.input.flag, BooleanEquals: true, Next: 'Yes'}]\n"
        "    Default: 'No'\n"
        "  'Yes': {Type: Pass, End: true}\n"
        "  'No': {Type: Pass, End: true}\n"
    )
    run(shell, cell)
    tool = shell.user_ns["Branch"]()
    assert tool.get_flow_transition_states() == ["Yes"]
    assert tool.get_required_input() == ["flag"] and tool.get_flow_input() == {"flag": True}
    run(shell, "%%gladier_tool After\ndef after(**data):\n    return 1\n")
    run(shell, "%gladier_client Branchy Branch After --no-preview")
    from gladier_jupyter import inline

    flow = inline.client_flow_definition(shell.user_ns["Branchy"])
    assert flow["States"]["Yes"]["Next"] == "After" and flow["States"]["No"]["End"] is True


# --------------------------------------------------------------------------- re-running


def test_rerunning_a_tool_cell_updates_clients_using_it(shell):
    from gladier.managers.compute_manager import ComputeManager

    run(shell, "%%gladier_tool Evolving\ndef evolve(**data):\n    return 1\n")
    run(shell, "%gladier_client EvolvingClient Evolving --no-preview")
    client_cls = shell.user_ns["EvolvingClient"].__wrapped__
    (tool,) = client_cls.gladier_tools
    before = ComputeManager.get_compute_function_checksum(tool.compute_functions[0])
    run(shell, "%%gladier_tool Evolving\ndef evolve(**data):\n    return 2\n")
    assert shell.user_ns["Evolving"] is tool
    after = ComputeManager.get_compute_function_checksum(tool.compute_functions[0])
    assert before != after
    assert tool.compute_functions[0]() == 2
    # renaming the function renames the state the client chains
    run(shell, "%%gladier_tool Evolving\ndef evolved(**data):\n    return 3\n")
    from gladier_jupyter import inline

    flow = inline.client_flow_definition(shell.user_ns["EvolvingClient"])
    assert list(flow["States"]) == ["Evolved"]


# --------------------------------------------------------------------------- clients


def test_client_accepts_decorator_funcx_gladier_tools_and_dotted_tools(shell):
    from gladier import GladierBaseClient

    from gladier_jupyter import inline

    seed = load_seed()
    shell.user_ns.update(OldRun=seed.RunExperiment, OldGather=seed.GatherMetadata)
    run(shell, "from gladier_tools.posix import Tar")
    run(shell, "%%gladier_tool Report\ndef report(**data):\n    return 1\n")
    run(
        shell,
        "%gladier_client Mixed OldRun OldGather Tar gladier_tools.posix.untar.UnTar Report --no-preview",
    )
    client = shell.user_ns["Mixed"]
    assert issubclass(client.__wrapped__, GladierBaseClient)
    flow = inline.client_flow_definition(client)
    assert list(flow["States"]) == ["RunExperiment", "GatherMetadata", "Tar", "Untar", "Report"]
    assert flow["States"]["RunExperiment"]["Next"] == "GatherMetadata"
    assert "gladier_tools.posix.untar.UnTar" in client.__wrapped__.gladier_tools


def test_client_accepts_gladier_state_objects(shell):
    from gladier_jupyter import inline

    run(shell, "from gladier.tools import PassState\nnote = PassState(state_name='Note', result='hi')")
    run(shell, "%%gladier_tool Step\ndef step(**data):\n    return 1\n")
    run(shell, "%gladier_client WithState Step note --no-preview")
    flow = inline.client_flow_definition(shell.user_ns["WithState"])
    assert flow["States"]["Step"]["Next"] == "Note"
    assert flow["States"]["Note"]["Type"] == "Pass" and flow["States"]["Note"]["End"] is True


def test_alias_runs_a_notebook_tool_twice_as_gladier_aliases_do(shell):
    from gladier_jupyter import inline

    run(shell, "%%gladier_tool Twice --required level\ndef twice(**data):\n    return 1\n")
    message = usage_error(shell, "%gladier_client Clash Twice Twice --no-preview")
    assert "state 'Twice'" in message and "Twice:Second" in message
    run(shell, "%gladier_client Doubled Twice Twice:Again --no-preview")
    flow = inline.client_flow_definition(shell.user_ns["Doubled"])
    assert list(flow["States"]) == ["Twice", "TwiceAgain"]
    assert flow["States"]["Twice"]["Next"] == "TwiceAgain"
    again = shell.user_ns["Doubled"].__wrapped__.gladier_tools[1]
    assert again.get_required_input() == ["again_level"]


def test_client_shows_its_flow_preview_unless_told_not_to(shell):
    from IPython.utils.capture import capture_output

    from gladier_jupyter.widgets.preview import FlowPreview

    define_seed_tools(shell)
    with capture_output() as shown:
        result = run(shell, "%gladier_client Previewed RunExperiment GatherMetadata PublishMetadata")
    assert result.result is None
    preview = shell.magics_manager.registry["GladierMagics"].last_preview
    assert isinstance(preview, FlowPreview)
    states = {node["id"] for node in preview.flow.nodes}
    assert {"RunExperiment", "GatherMetadata", "PublishMetadata"} <= states
    assert len(shown.outputs) == 1
    with capture_output() as shown:
        run(shell, "%gladier_client Quiet RunExperiment --no-preview")
    assert shown.outputs == [] and shown.stdout == ""


def test_tab_completion_offers_tools_and_clients(shell):
    define_seed_tools(shell)
    shell.user_ns["inputs_doc"] = {"input": {}}
    assert "GatherMetadata" in completions(shell, "%gladier_client MyClient RunExperiment Gat")
    assert {"RunExperiment", "GatherMetadata", "PublishMetadata"} <= completions(
        shell, "%gladier_client MyClient "
    )
    assert "MyClient" not in completions(shell, "%gladier_client MyClient ")
    run(shell, "%gladier_client MyClient RunExperiment --no-preview")
    assert "MyClient" in completions(shell, "%gladier_run My")
    assert "inputs_doc" in completions(shell, "%gladier_run MyClient inp")


def completions(shell, line: str) -> set[str]:
    """What Jupyter's completion request (``Completer.completions``) offers at the line's end."""
    from IPython.core.completer import provisionalcompleter

    with provisionalcompleter():
        return {c.text for c in shell.Completer.completions(line, len(line))}


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize("case", ERROR_CASES, ids=[c["id"] for c in ERROR_CASES])
def test_user_mistakes_are_one_usage_error_without_a_stack(shell, capsys, case):
    for cell in case.get("setup", []):
        run(shell, cell)
    capsys.readouterr()
    message = usage_error(shell, case["cell"])
    # One line; several problems are a "N problems:" line then one "  - " line per problem.
    first, *rest = message.strip().splitlines()
    assert not rest or (first.endswith(" problems:") and all(r.startswith("  - ") for r in rest))
    for expected in case["expect"]:
        assert expected in message, (expected, message)
    shown = capsys.readouterr()
    assert "gladier_jupyter/" not in shown.out + shown.err
    assert "site-packages" not in shown.out + shown.err


_NEED_TOOLS = [
    "%%gladier_tool Need --required experiment,subject\ndef need(**d):\n    return 1\n",
    "%gladier_client NeedClient Need --no-preview",
]


def test_several_run_problems_are_one_per_line_and_name_the_users_variable(shell):
    for cell in _NEED_TOOLS:
        run(shell, cell)
    shell.user_ns["bad_input"] = {"input": {"experiment": "/tmp/x"}}
    message = usage_error(shell, "%gladier_run NeedClient bad_input")
    first, *problems = message.splitlines()
    assert first == "The run was not started; 2 problems:"
    assert problems == [
        "  - State 'Need' reads $.input.compute_endpoint, which bad_input does not set. Add it "
        "to bad_input['input'].",
        "  - Tool 'Need' requires $.input.subject, which bad_input does not set. Add it to "
        "bad_input['input'].",
    ]
    assert "flow_input" not in message
    # A literal has no name: the messages call it the run input.
    message = usage_error(
        shell, "%gladier_run NeedClient {'input': {'subject': 's', 'experiment': '/tmp/x'}}"
    )
    assert message == (
        "State 'Need' reads $.input.compute_endpoint, which the run input does not set. "
        "Add it to the run input."
    )


def test_a_badly_shaped_input_variable_is_named_and_its_keys_are_prose(shell):
    for cell in _NEED_TOOLS:
        run(shell, cell)
    shell.user_ns["bad_input"] = {"experiment": "/tmp/x", "subject": "s"}
    message = usage_error(shell, "%gladier_run NeedClient bad_input")
    assert message == (
        "bad_input must be a dict with the single key 'input' holding the values (gladier's "
        "rule), got the keys 'experiment', 'subject'; wrap it as {'input': {...}}."
    )


def test_a_dangling_next_reads_cleanly_alone_and_among_other_problems(shell):
    one = usage_error(
        shell,
        "%%gladier_tool Dangling --definition\n"
        '{"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Nope"}, '
        '"B": {"Type": "Pass", "End": true}}}\n',
    )
    assert one == (
        "The flow definition of tool 'Dangling' is invalid: State 'A': Next names 'Nope', "
        "which is not a state of this flow; use one of 'A' or 'B'."
    )
    several = usage_error(
        shell,
        "%%gladier_tool Dangling --definition\n"
        '{"StartAt": "Nowhere", "States": {"A": {"Type": "Pass", "Next": "Nope"}, '
        '"B": {"Type": "Pass", "Next": "A"}, "C": {"Type": "Pass", "End": true}}}\n',
    )
    first, *problems = several.splitlines()
    assert first == "The flow definition of tool 'Dangling' is invalid; 2 problems:"
    assert problems == [
        "  - StartAt names 'Nowhere', which is not a state of this flow; use one of 'A', 'B' "
        "or 'C'.",
        "  - State 'A': Next names 'Nope', which is not a state of this flow; use one of 'A', "
        "'B' or 'C'.",
    ]
    assert ".;" not in several and "[" not in several
