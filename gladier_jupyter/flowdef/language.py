"""The flow language's vocabulary (state types, Choice comparators, Wait fields) and the
``Problem`` a check reports."""

from __future__ import annotations

import dataclasses
import re
import typing as t

__all__ = ["STATE_TYPES", "CHOICE_COMPARATORS", "Problem"]

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
