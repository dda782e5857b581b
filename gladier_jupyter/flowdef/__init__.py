"""Static checks of a Globus flow definition: problems, JSONPaths read, required input.

A leaf package (it imports nothing from the package but ``errors`` and ``jsonpath``, the
JSONPath parser it shares with the engine) used by the flow preview, ``%gladier_run``'s
pre-run check and the local service's flow engine. The rules are
those of the Globus flow language (the Amazon States Language subset Globus Flows accepts:
Action, Pass, Choice, Wait, Fail and ExpressionEval states).

The package, by idea: ``language`` (state types, comparators, ``Problem``), ``paths``,
``expressions`` (the safe ``.=`` subset), ``inputs`` (what a definition reads),
``validation`` and ``diff`` (what changed between two definitions).
"""

from __future__ import annotations

from gladier_jupyter.flowdef.diff import (
    DefinitionDiff,
    FieldChange,
    StateDiff,
    diff_definitions,
    function_keys,
)
from gladier_jupyter.flowdef.expressions import (
    EXPRESSION_FUNCTIONS,
    MAX_EXPRESSION_DEPTH,
    UnsafeExpressionError,
    check_expression,
    expression_paths,
    parse_expression,
)
from gladier_jupyter.flowdef.inputs import (
    input_paths,
    optional_input_keys,
    required_input_keys,
    transitions,
)
from gladier_jupyter.flowdef.language import CHOICE_COMPARATORS, STATE_TYPES, Problem
from gladier_jupyter.flowdef.paths import input_key, parse_jsonpath, state_path
from gladier_jupyter.flowdef.validation import errors, validate

__all__ = [
    "diff_definitions",
    "function_keys",
    "DefinitionDiff",
    "StateDiff",
    "FieldChange",

    "Problem",
    "STATE_TYPES",
    "CHOICE_COMPARATORS",
    "validate",
    "errors",
    "input_paths",
    "required_input_keys",
    "optional_input_keys",
    "parse_jsonpath",
    "parse_expression",
    "check_expression",
    "UnsafeExpressionError",
    "EXPRESSION_FUNCTIONS",
    "MAX_EXPRESSION_DEPTH",
    "expression_paths",
    "input_key",
    "state_path",
    "transitions",
]
