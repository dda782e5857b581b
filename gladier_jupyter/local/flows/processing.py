"""Per-state processing of the flow language, shared by the engine and ``test_state``.

What a state does to the run data, apart from when it runs: ``InputPath`` then
``Parameters`` (``.$`` JSONPaths and ``.=`` expressions), ``ResultPath``, Choice rules, and
what a Catch stores. The engine (:mod:`.engine`) schedules states and calls these; the
state tester (:mod:`.test_state`) runs the engine's own step of one state with a
:class:`Trace`, which these functions fill with each step they take, so the steps a test
shows are the steps a run takes (there is no second implementation).
"""

from __future__ import annotations

import copy
import datetime as dt
import re
import typing as t

from gladier_jupyter.local.actions.compute import jsonable
from gladier_jupyter.local.expressions import ExpressionError, evaluate
from gladier_jupyter.local.flows import paths, secrets
from gladier_jupyter.local.flows.paths import MISSING, PathError

__all__ = [
    "StateError",
    "Trace",
    "caught_value",
    "catcher",
    "choice_rule_matches",
    "choose",
    "input_for",
    "is_num",
    "resolve_parameters",
    "store_result",
    "timestamp",
]


class Trace:
    """The steps one state took, in order: ``{"step": NAME, ...}`` dicts (JSON-ready).

    The engine passes ``None`` for real runs (nothing is recorded, nothing costs)."""

    def __init__(self) -> None:
        self.steps: list[dict[str, t.Any]] = []

    def add(self, step: str, **fields: t.Any) -> None:
        self.steps.append({"step": step, **copy.deepcopy(fields)})


def _note(trace: Trace | None, step: str, **fields: t.Any) -> None:
    if trace is not None:
        trace.add(step, **fields)


class StateError(Exception):
    """A state failed with a Globus error name (what Catch's ErrorEquals matches)."""

    def __init__(self, error: str, cause: str, output: t.Any = None):
        super().__init__(f"{error}: {cause}")
        self.error, self.cause, self.output = error, cause, output


# ----------------------------------------------------------------------------- values


def resolve_parameters(template: t.Any, names: dict[str, t.Any], error: str) -> t.Any:
    """``Parameters`` with ``key.$`` JSONPaths and ``key.=`` expressions filled in."""
    if isinstance(template, dict):
        out = {}
        for key, value in template.items():
            if key == secrets.PRIVATE_LIST:
                continue  # a directive of the flow (Protecting Secrets), not a parameter
            if key.endswith(".$"):
                if not isinstance(value, str):
                    raise StateError(error, f"Parameter {key!r} must be a JSONPath string, not {value!r}.")
                try:
                    found = paths.get_path(names, value)
                except PathError as exc:
                    raise StateError(error, f"Parameter {key!r}: {exc}") from None
                if found is MISSING:
                    raise StateError(error, f"Parameter {key!r} reads {value}, which is not present "
                                     f"in the state input.{_missing_hint(value)}")
                if found is names:  # "$": the state input, without the injected _context
                    found = {k: v for k, v in names.items() if k != "_context"}
                out[key[:-2]] = found
            elif key.endswith(".="):
                try:
                    out[key[:-2]] = jsonable(evaluate(value, names))
                except ExpressionError as exc:
                    raise StateError(error, f"Parameter {key!r}: {exc}") from None
            else:
                out[key] = resolve_parameters(value, names, error)
        return out
    if isinstance(template, list):
        return [resolve_parameters(v, names, error) for v in template]
    return template


def _missing_hint(path: str) -> str:
    m = re.match(r"^\$\.input\.([A-Za-z_][\w-]*)$", path)
    if m:
        return f" Add '{m.group(1)}' to the run input's 'input' object."
    return ""


def _effective_input(state: dict[str, t.Any], names: dict[str, t.Any], error: str) -> t.Any:
    """The state input after ``InputPath`` (default ``$``, without ``_context``)."""
    path = state.get("InputPath", "$")
    try:
        value = paths.get_path(names, path)
    except PathError as exc:
        raise StateError(error, f"InputPath: {exc}") from None
    if value is MISSING:
        raise StateError(error, f"InputPath {path} is not present in the state input.")
    if value is names:
        value = {k: v for k, v in value.items() if k != "_context"}
    return value


def input_for(state: dict[str, t.Any], names: dict[str, t.Any], error: str,
              trace: Trace | None = None) -> t.Any:
    """The state's effective input, in the States Language's order: ``InputPath`` selects
    from the state input, then ``Parameters`` are filled in from what it selected
    (https://states-language.net/spec.html#filters; Globus: "Concepts such as Input and
    Output Processing are handled in the same manner", Authoring Flows -> Introduction).
    ``$._context`` stays readable from the Parameters."""
    if "Parameters" not in state:
        value = _effective_input(state, names, error)
        _note(trace, "InputPath", path=state.get("InputPath", "$"), value=value)
        return value
    if "InputPath" not in state or state["InputPath"] == "$":
        _note(trace, "InputPath", path="$", value={k: v for k, v in names.items() if k != "_context"})
        value = resolve_parameters(state["Parameters"], names, error)
        _note(trace, "Parameters", template=secrets.without_private(state["Parameters"]),
              value=secrets.without_private(state["Parameters"], value))
        return value
    selected = _effective_input(state, names, error)
    _note(trace, "InputPath", path=state["InputPath"], value=selected)
    scope = dict(selected) if isinstance(selected, dict) else {}
    scope.setdefault("_context", names.get("_context"))
    if not isinstance(selected, dict):
        # A path into a non-object input reads nothing but $ itself; let resolve say so.
        scope = {"_context": names.get("_context")}
    value = resolve_parameters(state["Parameters"], scope, error)
    _note(trace, "Parameters", template=secrets.without_private(state["Parameters"]),
          value=secrets.without_private(state["Parameters"], value))
    return value


def caught_value(err: StateError) -> dict[str, t.Any]:
    """What a Catch stores at its ResultPath: ``Error`` and ``Cause``, and for an action's
    failure or timeout the action's status document (Handling Exceptions: "the output will
    contain the same action status structure a completed action will contain")."""
    value: dict[str, t.Any] = {}
    if isinstance(err.output, dict):
        value.update(err.output)
    value.update(Error=err.error, Cause=err.cause)
    return value


def store_result(data: t.Any, state: dict[str, t.Any], result: t.Any, default: str | None,
                 trace: Trace | None = None, *, owned: bool = False) -> t.Any:
    """New run data: ``data`` with ``result`` stored at the state's ``ResultPath``
    (``default`` when it sets none; ``None``: the result is dropped); ``data`` itself is not
    changed. ``owned``: ``result`` is made of the run data and the definition only (a Pass,
    an ExpressionEval), which nothing changes in place, so it is stored without a copy; an
    action's result (its provider's) is copied."""
    path = state.get("ResultPath", default)
    if path is None:
        _note(trace, "ResultPath", path=None, output=data)
        return data
    try:
        out = paths.set_path(data, path, result if owned else copy.deepcopy(result))
    except PathError as exc:
        raise StateError("States.ResultPathMatchFailure", str(exc)) from None
    _note(trace, "ResultPath", path=path, output=out)
    return out


def catcher(state: dict[str, t.Any], error: str) -> dict[str, t.Any] | None:
    """The first of the state's ``Catch`` handlers whose ``ErrorEquals`` takes ``error``."""
    for handler in state.get("Catch", []) or []:
        names = handler.get("ErrorEquals", [])
        if error in names or "States.ALL" in names:
            return handler
    return None


_NUM = (int, float)


def is_num(v: t.Any) -> bool:
    return isinstance(v, _NUM) and not isinstance(v, bool)


def timestamp(v: t.Any) -> dt.datetime | None:
    if not isinstance(v, str):
        return None
    try:
        value = dt.datetime.fromisoformat(v.replace("Z", "+00:00"))
    except ValueError:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value


def _string_matches(value: str, pattern: str) -> bool:
    # ASL: '*' matches any run of characters; '\*' is a literal star. Matched by the
    # two-pointer wildcard walk (O(len(value) * len(pattern))), not a regex: a pattern such
    # as '*a*a*a*a*a*a*a*a*a*a*b' makes a backtracking regex run for hours while holding
    # the GIL, which would stop the whole service.
    tokens: list[str | None] = []  # None is a wildcard
    i = 0
    while i < len(pattern):
        if pattern.startswith("\\*", i):
            tokens.append("*")
            i += 2
        else:
            tokens.append(None if pattern[i] == "*" else pattern[i])
            i += 1
    v = p = 0
    star, mark = -1, 0
    while v < len(value):
        if p < len(tokens) and tokens[p] is not None and tokens[p] == value[v]:
            v, p = v + 1, p + 1
        elif p < len(tokens) and tokens[p] is None:
            star, mark, p = p, v, p + 1
        elif star >= 0:
            p, mark = star + 1, mark + 1
            v = mark
        else:
            return False
    while p < len(tokens) and tokens[p] is None:
        p += 1
    return p == len(tokens)


_CMP: dict[str, t.Callable[[t.Any, t.Any], bool]] = {
    "Equals": lambda a, b: a == b,
    "LessThan": lambda a, b: a < b,
    "GreaterThan": lambda a, b: a > b,
    "LessThanEquals": lambda a, b: a <= b,
    "GreaterThanEquals": lambda a, b: a >= b,
}


def _compare(kind: str, op: str, left: t.Any, right: t.Any) -> bool:
    if kind == "String":
        if not (isinstance(left, str) and isinstance(right, str)):
            return False
    elif kind == "Numeric":
        if not (is_num(left) and is_num(right)):
            return False
    elif kind == "Boolean":
        if not (isinstance(left, bool) and isinstance(right, bool)) or op != "Equals":
            return False
    elif kind == "Timestamp":
        left, right = timestamp(left), timestamp(right)
        if left is None or right is None:
            return False
    return _CMP[op](left, right)


_RULE = re.compile(r"^(String|Numeric|Boolean|Timestamp)(Equals|LessThanEquals|GreaterThanEquals|LessThan|GreaterThan|Matches)(Path)?$")


def choice_rule_matches(rule: dict[str, t.Any], names: dict[str, t.Any]) -> bool:
    if "And" in rule:
        return all(choice_rule_matches(r, names) for r in rule["And"])
    if "Or" in rule:
        return any(choice_rule_matches(r, names) for r in rule["Or"])
    if "Not" in rule:
        return not choice_rule_matches(rule["Not"], names)
    variable = rule.get("Variable")
    if not isinstance(variable, str):
        raise StateError("States.Runtime", f"A Choice rule has no Variable: {rule!r}.")
    value = paths.get_path(names, variable)
    for key, expected in rule.items():
        if key in ("Variable", "Next", "Comment"):
            continue
        if key == "IsPresent":
            return (value is not MISSING) == bool(expected)
        if key.startswith("Is"):
            if value is MISSING:
                return False
            test = {
                "IsNull": value is None,
                "IsNumeric": is_num(value),
                "IsString": isinstance(value, str),
                "IsBoolean": isinstance(value, bool),
                "IsTimestamp": timestamp(value) is not None,
            }.get(key)
            if test is None:
                raise StateError("States.Runtime", f"Unknown Choice test {key!r}.")
            return test == bool(expected)
        m = _RULE.match(key)
        if m is None:
            raise StateError("States.Runtime", f"Unknown Choice comparison {key!r}.")
        kind, op, is_path = m.groups()
        if value is MISSING:
            return False
        if is_path:
            expected = paths.get_path(names, expected)
            if expected is MISSING:
                return False
        if op == "Matches":
            return isinstance(value, str) and isinstance(expected, str) and _string_matches(value, expected)
        return _compare(kind, op, value, expected)
    raise StateError("States.Runtime", f"A Choice rule has no comparison: {rule!r}.")


def choose(state: dict[str, t.Any], name: str, names: dict[str, t.Any],
           trace: Trace | None = None) -> str:
    """The state a Choice state goes to: the first rule that matches, else ``Default``."""
    for index, rule in enumerate(state.get("Choices", [])):
        if choice_rule_matches(rule, names):
            _note(trace, "Choice", rule_index=index, rule=rule, next_state=rule["Next"])
            return rule["Next"]
    target = state.get("Default")
    if target is None:
        raise StateError("States.NoChoiceMatched", f"No Choice rule of state {name} matched and it has no Default.")
    _note(trace, "Choice", rule_index=None, rule=None, default=True, next_state=target)
    return target
