"""The flow language's vocabulary (state types, Choice comparators, Wait fields) and the
``Problem`` a check reports."""

from __future__ import annotations

import dataclasses
import re
import typing as t

__all__ = ["STATE_TYPES", "CHOICE_COMPARATORS", "STATE_FIELDS", "TOP_LEVEL_FIELDS", "CATCH_FIELDS",
           "Problem"]

STATE_TYPES = frozenset({"Action", "Pass", "Choice", "Wait", "Fail", "ExpressionEval",
                         # Flows Web Inputs (globus/globus-flows-examples, web_input_examples/)
                         "CreateWebInput", "AwaitWebInput"})

_VALUE_COMPARATORS: dict[str, type | tuple[type, ...]] = {
    "BooleanEquals": bool,
    "NumericEquals": (int, float),
    "NumericGreaterThan": (int, float),
    "NumericGreaterThanEquals": (int, float),
    "NumericLessThan": (int, float),
    "NumericLessThanEquals": (int, float),
    "StringEquals": str,
    "StringGreaterThan": str,
    "StringGreaterThanEquals": str,
    "StringLessThan": str,
    "StringLessThanEquals": str,
    "StringMatches": str,
    "TimestampEquals": str,
    "TimestampGreaterThan": str,
    "TimestampGreaterThanEquals": str,
    "TimestampLessThan": str,
    "TimestampLessThanEquals": str,
}
_TYPE_TESTS = ("IsBoolean", "IsNull", "IsNumeric", "IsPresent", "IsString", "IsTimestamp")
#: Every comparison a Choice rule may use (``…Path`` variants compare with another path).
CHOICE_COMPARATORS = frozenset(
    set(_VALUE_COMPARATORS)
    | {f"{name}Path" for name in _VALUE_COMPARATORS if name != "StringMatches"}
    | set(_TYPE_TESTS)
)
_WAIT_FIELDS = ("Seconds", "SecondsPath", "Timestamp", "TimestampPath")
_TERMINAL_TYPES = frozenset({"Fail"})
#: Longest fixed Wait Globus accepts: a year of seconds (flows_schema.json, "maximum": 31536000,
#: and Limits: "Runs may continue executing for up to one year").
MAX_WAIT_SECONDS = 31536000

#: The fields a definition may have at its top level (Authoring Flows -> Introduction: "A
#: definition must contain two fields: States, StartAt and optionally may contain a Comment").
TOP_LEVEL_FIELDS = ("StartAt", "States", "Comment")
#: The fields of one Catch entry (Handling Exceptions; flows_schema.json's Catch items).
CATCH_FIELDS = ("ErrorEquals", "Next", "ResultPath")
_FLOW = ("Type", "Comment", "Next", "End")
#: The fields each state type may have; any other is refused, as Globus refuses it
#: (flows_schema.json gives every state type "additionalProperties": false). Beyond the
#: schema: End on Wait and ExpressionEval (the Wait and Expression pages end flows with them).
STATE_FIELDS: dict[str, tuple[str, ...]] = {
    "Action": _FLOW + ("ActionUrl", "ActionScope", "RunAs", "ExceptionOnActionFailure",
                       "WaitTime", "InputPath", "Parameters", "ResultPath", "Catch"),
    "Pass": _FLOW + ("Result", "InputPath", "Parameters", "ResultPath"),
    "ExpressionEval": _FLOW + ("Parameters", "ResultPath"),
    "Wait": _FLOW + _WAIT_FIELDS,
    "Choice": ("Type", "Comment", "Choices", "Default"),
    "Fail": ("Type", "Comment", "Error", "Cause"),
    # Flows Web Inputs (globus/globus-flows-examples, web_input_examples/)
    "CreateWebInput": _FLOW + ("Parameters", "ResultPath", "InputPath", "Catch"),
    "AwaitWebInput": _FLOW + ("Parameters", "ResultPath", "InputPath", "Catch"),
}
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclasses.dataclass(frozen=True)
class Problem:
    """One thing wrong with a definition (or a run's input), and where it is.

    ``code`` is stable (tests and the front end key on it), ``path`` is a JSONPath into the
    definition such as ``$.States.Foo.Next``, ``state`` the state it belongs to, if any.
    """

    code: str
    message: str
    path: str
    state: str | None = None
    severity: str = "error"  # 'error' | 'warning'

    def to_dict(self) -> dict[str, t.Any]:
        return dataclasses.asdict(self)
