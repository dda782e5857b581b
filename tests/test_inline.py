"""The inline layer on its own (no IPython): values, definitions, tools from source."""

from __future__ import annotations

import inspect

import pytest

from gladier_jupyter import inline
from gladier_jupyter.errors import GladierJupyterUsageError


@pytest.mark.parametrize(
    ("text", "value"),
    [("300", 300), ("true", True), ('["a", 1]', ["a", 1]), ("my-index", "my-index"), ("", "")],
)
def test_option_values_are_json_when_they_parse(text, value):
    assert inline.parse_value(text) == value


def test_input_option_merges_pairs_and_objects_in_order():
    assert inline.parse_input_option(["a=1", '{"b": [2], "a": 3}', "c=x=y"]) == {
        "a": 3,
        "b": [2],
        "c": "x=y",
    }


def test_literal_accepts_json_and_python_and_locates_json_errors():
    assert inline.parse_literal('{"input": {"x": true}}') == {"input": {"x": True}}
    assert inline.parse_literal("{'input': {'x': True, 'n': None}}") == {"input": {"x": True, "n": None}}
    with pytest.raises(GladierJupyterUsageError, match=r"line 2, column 9"):
        inline.parse_literal('{"input":\n  {"x": }}')


def test_make_tool_works_on_a_plain_namespace_and_keeps_source():
    ns: dict = {"__name__": "plain_namespace"}
    tool = inline.make_tool(
        "Plain", "def plain_step(**data):\n    return data['n'] * 2\n", ns, required=["n"]
    )
    assert ns["Plain"] is tool and ns["plain_step"](n=2) == 4
    assert inspect.getsource(ns["plain_step"]).startswith("def plain_step")
    # line 1 of a cell is the magic line, so the function starts on line 2
    assert ns["plain_step"].__code__.co_firstlineno == 2
    assert tool.required_input == ["n"]
    assert tool._gladier_jupyter.kind == "functions"


def test_definition_yaml_errors_use_cell_lines():
    with pytest.raises(GladierJupyterUsageError, match=r"line 3, column"):
        inline.parse_definition("T", "StartAt: A\nStates: {A: [}\n")


def test_a_cell_tool_replaced_by_a_non_tool_is_defined_anew():
    ns: dict = {"__name__": "plain_namespace"}
    first = inline.make_tool("Again", "def again(**data):\n    return 1\n", ns)
    ns["Again"] = 5
    second = inline.make_tool("Again", "def again(**data):\n    return 2\n", ns)
    assert second is not first and second.compute_functions[0]() == 2
