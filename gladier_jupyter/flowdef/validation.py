"""``validate(definition)``: every problem Globus Flows (or the local engine) would refuse or
warn about, each with a path and a fix.

One module on purpose (about 500 lines): it is one walk over a definition, the top level,
then each state (:func:`_validate_state`, one branch per state type) and each Choice rule,
all reporting through the same ``add(path, message, ...)`` and phrasing their messages with
the same helpers (``_names``, ``_prose``, ``_near``, ``_clip_repr``). A new check is a
branch next to its neighbours; split by state type, each part would need the reporter and
the phrasing helpers passed in, and the order the problems come out in (which tests and
the editor rely on) would be spread over several files. What the rules are (fields, types,
comparators) is :mod:`.language`'s; expressions and paths are checked by theirs.
"""

from __future__ import annotations

import datetime as dt
import difflib
import itertools
import re
import typing as t

from gladier_jupyter.errors import GladierJupyterUsageError
from gladier_jupyter.flowdef.expressions import UnsafeExpressionError, check_expression
from gladier_jupyter.flowdef.inputs import _is_terminal, _walk_params, transitions
from gladier_jupyter.flowdef.language import (
    _TYPE_TESTS,
    _VALUE_COMPARATORS,
    _WAIT_FIELDS,
    CATCH_FIELDS,
    CHOICE_COMPARATORS,
    MAX_WAIT_SECONDS,
    STATE_FIELDS,
    STATE_TYPES,
    TOP_LEVEL_FIELDS,
    Problem,
)
from gladier_jupyter.flowdef.paths import _key, parse_jsonpath, state_path

__all__ = ["errors", "validate"]


def errors(definition: t.Any) -> list[Problem]:
    """Only the error-severity problems of :func:`validate`."""
    return [p for p in validate(definition) if p.severity == "error"]


def validate(definition: t.Any) -> list[Problem]:
    """Every problem found in a flow definition, errors and warnings, in a stable order."""
    problems: list[Problem] = []

    def add(code: str, message: str, path: str, state: str | None = None,
            severity: str = "error") -> None:
        problems.append(Problem(code, message, path, state, severity))

    if not isinstance(definition, dict):
        add("not_a_dict", f"The flow definition is a {type(definition).__name__}, not a JSON "
            "object; give a dict with 'StartAt' and 'States'.", "$")
        return problems

    for field in definition:
        if field not in TOP_LEVEL_FIELDS:
            add("unknown_field", f"The flow definition has the field {_clip_repr(field)}, which a "
                f"flow definition cannot have (only {_prose(TOP_LEVEL_FIELDS, 'and')}){_near(field, TOP_LEVEL_FIELDS)}.",
                _key("$", field) if isinstance(field, str) else "$")
    _check_comment(definition, "$", None, "The flow definition", add)

    states = definition.get("States")
    if not isinstance(states, dict) or not states:
        what = "missing" if states is None else f"{type(states).__name__} {states!r}"[:80]
        add("no_states", f"The flow's 'States' is {what}; it must be an object mapping each "
            "state name to its definition.", "$.States")
        states = {}

    start = definition.get("StartAt")
    if start is None:
        add("no_start_at", "The flow has no 'StartAt'; set it to the name of the first state.",
            "$.StartAt")
    elif not isinstance(start, str) or (states and start not in states):
        add("unknown_start_at", f"StartAt names {start!r}, which is not a state of this flow; "
            f"use one of {_names(states)}.", "$.StartAt")

    for name, state in states.items():
        _validate_state(name, state, states, add)

    if states and isinstance(start, str) and start in states:
        reachable = _reachable(start, states)
        for name in states:
            if name not in reachable:
                # a warning: Globus deploys such a flow (its schema has no reachability rule)
                add("unreachable", f"State {name!r} is unreachable: no Next, Choice, Default or "
                    "Catch leads to it from StartAt; link it in or remove it.",
                    state_path(name), name, "warning")
        terminals = [n for n in reachable if _is_terminal(states[n])]
        if not terminals:
            add("no_end", "No state reachable from StartAt ends the flow (none has "
                "'End': true or is a Fail state); mark the last state with 'End': true.",
                "$.States", None, "warning")
        else:
            can_end = _can_end(states)
            for name in states:
                if name in reachable and name not in can_end:
                    add("cannot_end", f"From state {name!r} no path reaches an End or Fail "
                        "state, so a run there would loop forever; give the loop an exit.",
                        state_path(name), name, "warning")
    return problems


def _names(states: dict) -> str:
    # Quoted in a problem of every state with a bad target: the first few names only (not
    # a copy of them all per problem) and clipped, so huge names cannot make every such
    # message huge.
    # Prose ('A', 'B' or 'C'), not a Python list repr.
    if not states:
        return "a state you add to States"
    return _prose(states)


def _prose(items: t.Collection[t.Any], word: str = "or", limit: int = 8) -> str:
    """Quoted items as prose (``'A', 'B' or 'C'``), never a Python list repr; at most
    ``limit`` shown, each clipped (not a copy of them all: a flow may have many states)."""
    names = [_clip_repr(n) for n in itertools.islice(items, limit)]
    if not names:
        return "none"
    if len(items) > limit:
        return ", ".join(names) + f" {word} {len(items) - limit} more"
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + f" {word} " + names[-1]


def _clip_repr(value: t.Any, limit: int = 60) -> str:
    if isinstance(value, str) and len(value) > limit:
        value = value[:limit]  # repr of the part shown only: names can be huge
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _reachable(start: str, states: dict) -> set[str]:
    seen = {start}
    stack = [start]
    while stack:
        for _kind, _field, target in transitions(states.get(stack.pop())):
            if isinstance(target, str) and target in states and target not in seen:
                seen.add(target)
                stack.append(target)
    return seen


def _can_end(states: dict) -> set[str]:
    """States from which some path reaches a terminal state (reverse search)."""
    preds: dict[str, set[str]] = {n: set() for n in states}
    for name, state in states.items():
        for _kind, _field, target in transitions(state):
            if isinstance(target, str) and target in preds:
                preds[target].add(name)
    done = {n for n, s in states.items() if _is_terminal(s)}
    stack = list(done)
    while stack:
        for p in preds[stack.pop()]:
            if p not in done:
                done.add(p)
                stack.append(p)
    return done


def _check_path(value: t.Any, where: str, name: str, add: t.Callable[..., None],
                what: str, reference: bool = False) -> None:
    try:
        path = parse_jsonpath(value)
    except GladierJupyterUsageError as exc:
        add("bad_jsonpath", f"State {name!r} {what}: {exc}", where, name)
        return
    if reference and not path.is_reference:
        # the States Language: a ResultPath is a Reference Path, naming one place
        add("bad_jsonpath", f"State {name!r} {what} {value!r}, which may select several "
            "places; a ResultPath names one, such as '$.result' or '$.out[0]'.", where, name)


def _validate_state(name: str, state: t.Any, states: dict, add: t.Callable[..., None]) -> None:
    here = state_path(name)
    if not isinstance(state, dict):
        add("state_not_dict", f"State {name!r} is a {type(state).__name__}, not an object; "
            "give it at least a 'Type'.", here, name)
        return
    kind = state.get("Type")
    if kind is None:
        add("missing_type", f"State {name!r} has no 'Type'; use one of "
            f"{_prose(sorted(STATE_TYPES), limit=20)}.", state_path(name, "Type"), name)
    elif kind not in STATE_TYPES:
        add("unknown_type", f"State {name!r} has Type {kind!r}, which Globus flows do not "
            f"support; use one of {_prose(sorted(STATE_TYPES), limit=20)}.", state_path(name, "Type"), name)

    # transitions
    for tkind, field, target in transitions(state):
        where = here + ("." + field if not field.startswith("[") else field)
        if not isinstance(target, str) or target not in states:
            label = {"next": "Next", "choice": "a Choice rule's Next", "default": "Default",
                     "catch": "a Catch's Next"}[tkind]
            add("unknown_target", f"State {name!r}: {label} names {target!r}, which is not a "
                f"state of this flow; use one of {_names(states)}.", where, name)

    ends = state.get("End")
    if ends is not None and not isinstance(ends, bool):
        add("bad_field", f"State {name!r} has End {ends!r}; End must be true or false.",
            state_path(name, "End"), name)
    if kind in ("Action", "Pass", "Wait", "ExpressionEval", "CreateWebInput", "AwaitWebInput"):
        if "Next" in state and ends is True:
            add("next_and_end", f"State {name!r} has both 'Next' and 'End': true; keep one.",
                here, name)
        elif "Next" not in state and ends is not True:
            add("no_next", f"State {name!r} has neither 'Next' nor 'End': true, so the flow "
                "cannot leave it; add 'Next' or 'End': true.", here, name)
    elif kind in ("Choice", "Fail"):
        for field in ("Next", "End"):
            if field in state:
                add("bad_field", f"State {name!r} is a {kind} state, which cannot have "
                    f"{field!r}; remove it.", state_path(name, field), name)

    # paths read and written
    for field in ("InputPath", "ResultPath"):
        if field in state and state[field] is not None:
            _check_path(state[field], state_path(name, field), name, add, f"has {field}",
                        reference=field == "ResultPath")
    if kind in STATE_FIELDS:
        _check_fields(name, kind, state, add)
    _check_comment(state, state_path(name, "Comment"), name, f"State {name!r}", add)
    params = state.get("Parameters")
    if isinstance(params, str):
        # gladier's FlowBuilder default ("$.input.") is a bare path string, not an object
        add("bad_field", f"State {name!r} has Parameters {params!r}, a string; Parameters must "
            "be an object (use InputPath to pass a part of the state).",
            state_path(name, "Parameters"), name)
    elif params is not None and not isinstance(params, dict):
        add("bad_field", f"State {name!r} has Parameters of type {type(params).__name__}; "
            "Parameters must be an object.", state_path(name, "Parameters"), name)
    for pkind, ppath, value in _walk_params(params, state_path(name, "Parameters")):
        if pkind == "$":
            _check_path(value, ppath, name, add, "reads a Parameters path")
        else:
            try:
                check_expression(value)
            except UnsafeExpressionError as exc:
                add("unsafe_expression", f"State {name!r} parameter {ppath}: {exc}", ppath, name)
            except GladierJupyterUsageError as exc:
                add("bad_expression", f"State {name!r}: {exc}", ppath, name)

    if "Catch" in state:
        catchers = state["Catch"]
        if not isinstance(catchers, list):
            add("bad_field", f"State {name!r} has Catch {_clip_repr(catchers)}; Catch must be a "
                "list.", state_path(name, "Catch"), name)
        elif not catchers:
            add("bad_field", f"State {name!r} has Catch [], an empty list, which Globus refuses "
                "(a Catch needs at least one entry); remove Catch or add an entry with "
                "ErrorEquals and Next.", state_path(name, "Catch"), name)
        else:
            for i, catcher in enumerate(catchers):
                cpath = state_path(name, "Catch", i)
                if not isinstance(catcher, dict):
                    add("bad_field", f"State {name!r}: Catch[{i}] is not an object.", cpath, name)
                    continue
                for field in catcher:
                    if field not in CATCH_FIELDS:
                        add("unknown_field", f"State {name!r}: Catch[{i}] has the field "
                            f"{_clip_repr(field)}, which a Catch entry cannot have (only "
                            f"{_prose(CATCH_FIELDS, 'and')}){_near(field, CATCH_FIELDS)}.",
                            _key(cpath, field) if isinstance(field, str) else cpath, name)
                errs = catcher.get("ErrorEquals")
                if not isinstance(errs, list) or not errs or not all(
                        isinstance(e, str) for e in errs):
                    add("missing_field", f"State {name!r}: Catch[{i}] needs 'ErrorEquals', a "
                        "non-empty list of error names such as [\"States.ALL\"].",
                        _key(cpath, "ErrorEquals"), name)
                if "Next" not in catcher:
                    add("missing_field", f"State {name!r}: Catch[{i}] has no 'Next'; name the "
                        "state to go to when the error is caught.", _key(cpath, "Next"), name)
                if catcher.get("ResultPath") is not None:
                    _check_path(catcher["ResultPath"], _key(cpath, "ResultPath"), name, add,
                                f"has Catch[{i}].ResultPath", reference=True)

    if kind == "Action":
        url = state.get("ActionUrl")
        if not url:
            add("no_action_url", f"Action state {name!r} has no 'ActionUrl'; set the URL of "
                "the action provider to call (e.g. https://compute.actions.globus.org).",
                state_path(name, "ActionUrl"), name)
        elif not isinstance(url, str) or not url.startswith(("http://", "https://")):
            add("bad_field", f"Action state {name!r} has ActionUrl {url!r}; it must be an "
                "http(s) URL.", state_path(name, "ActionUrl"), name)
        wait = state.get("WaitTime")
        if wait is not None and (isinstance(wait, bool) or not isinstance(wait, int) or wait < 0):
            add("bad_field", f"Action state {name!r} has WaitTime {wait!r}; WaitTime is a "
                "whole number of seconds.", state_path(name, "WaitTime"), name)
        if "InputPath" not in state and "Parameters" not in state:
            add("missing_field", f"Action state {name!r} has neither 'Parameters' nor "
                "'InputPath', and Globus needs one of them to build the action's body; add "
                "'Parameters' (e.g. {}) or 'InputPath' (e.g. '$.input').",
                state_path(name, "Parameters"), name)
        elif "InputPath" in state and "Parameters" in state:
            add("input_path_and_parameters", f"Action state {name!r} has both 'InputPath' and "
                "'Parameters'; Globus's published flow schema lets an Action have only one "
                "(here InputPath applies first, then Parameters); keep one to be safe.",
                state_path(name, "InputPath"), name, "warning")
        run_as = state.get("RunAs")
        if run_as is not None and (not isinstance(run_as, str) or not run_as):
            add("bad_field", f"Action state {name!r} has RunAs {_clip_repr(run_as)}; RunAs is a "
                "role name string such as 'User', 'Flow' or 'Curator'.",
                state_path(name, "RunAs"), name)
        for field in ("ExceptionOnActionFailure",):
            if field in state and not isinstance(state[field], bool):
                add("bad_field", f"Action state {name!r} has {field} {state[field]!r}; it must "
                    "be true or false.", state_path(name, field), name)
    elif kind == "Wait":
        given = [f for f in _WAIT_FIELDS if f in state]
        if len(given) != 1:
            add("missing_field" if not given else "bad_field",
                f"Wait state {name!r} sets {_prose(given, 'and')} of {_prose(_WAIT_FIELDS)}; it "
                "needs exactly one.", here, name)
        for field in ("SecondsPath", "TimestampPath"):
            if field in state:
                _check_path(state[field], state_path(name, field), name, add, f"has {field}")
        if "Seconds" in state:
            _check_seconds(name, state["Seconds"], add)
        if "Timestamp" in state and not _is_timestamp(state["Timestamp"]):
            add("bad_timestamp", f"Wait state {name!r} has Timestamp "
                f"{_clip_repr(state['Timestamp'])}, which is not an RFC 3339 date-time; write "
                "it like '2026-01-31T12:00:00Z' (uppercase T and Z, or an offset like +02:00).",
                state_path(name, "Timestamp"), name)
    elif kind == "Pass":
        if "Result" in state and not isinstance(state["Result"], dict):
            # a warning: flows_schema.json gives Result "type": "object", but the Pass
            # States page is silent and the engine places any JSON value at ResultPath
            add("bad_field", f"Pass state {name!r} has Result {_clip_repr(state['Result'])}, "
                "not an object; Globus's published flow schema wants an object, so wrap it, "
                "e.g. {\"value\": ...}.", state_path(name, "Result"), name, "warning")
    elif kind == "Fail":
        for field in ("Cause", "Error"):
            if field in state and not isinstance(state[field], str):
                add("bad_field", f"Fail state {name!r} has {field} {state[field]!r}; it must "
                    "be a string.", state_path(name, field), name)
    elif kind in ("CreateWebInput", "AwaitWebInput"):
        if not isinstance(params, dict):
            add("missing_field", f"{kind} state {name!r} has no 'Parameters' object; "
                + ("give InputType, Context and Options." if kind == "CreateWebInput"
                   else "give the web_input_id a CreateWebInput state returned."),
                state_path(name, "Parameters"), name)
    elif kind == "ExpressionEval":
        if not isinstance(params, dict):
            add("missing_field", f"ExpressionEval state {name!r} has no 'Parameters' object; "
                "put the '.=' expressions to evaluate there.", state_path(name, "Parameters"),
                name)
        if "ResultPath" not in state:
            add("missing_field", f"ExpressionEval state {name!r} has no 'ResultPath'; say "
                "where its result goes, e.g. '$.computed'.", state_path(name, "ResultPath"),
                name)
    elif kind == "Choice":
        choices = state.get("Choices")
        if not isinstance(choices, list) or not choices:
            add("missing_field", f"Choice state {name!r} has no 'Choices'; give a non-empty "
                "list of rules, each with a 'Next'.", state_path(name, "Choices"), name)
        else:
            for i, rule in enumerate(choices):
                rpath = state_path(name, "Choices", i)
                _validate_rule(name, rule, rpath, add, top=True)
        if "Default" not in state:
            add("choice_without_default", f"Choice state {name!r} has no 'Default'; a run "
                "fails when no rule matches. Add 'Default' naming a state.",
                state_path(name, "Default"), name, "warning")


def _validate_rule(name: str, rule: t.Any, rpath: str, add: t.Callable[..., None],
                   top: bool) -> None:
    if not isinstance(rule, dict):
        add("bad_rule", f"Choice state {name!r}: rule at {rpath} is not an object.", rpath, name)
        return
    if top and "Next" not in rule:
        add("missing_field", f"Choice state {name!r}: rule at {rpath} has no 'Next'.",
            _key(rpath, "Next"), name)
    if not top and "Next" in rule:
        add("bad_rule", f"Choice state {name!r}: nested rule at {rpath} cannot have 'Next'.",
            _key(rpath, "Next"), name)
    boolean = [op for op in ("And", "Or", "Not") if op in rule]
    comparators = [op for op in rule if op in CHOICE_COMPARATORS]
    if boolean:
        if len(boolean) > 1 or comparators or "Variable" in rule:
            add("bad_rule", f"Choice state {name!r}: rule at {rpath} mixes {_prose(boolean + comparators + ['Variable'] * ('Variable' in rule), 'and')}"
                "; use one operator per rule.", rpath, name)
        op = boolean[0]
        subs = rule[op]
        if op == "Not":
            _validate_rule(name, subs, _key(rpath, "Not"), add, top=False)
        elif not isinstance(subs, list) or not subs:
            add("bad_rule", f"Choice state {name!r}: {op} at {rpath} needs a non-empty list of "
                "rules.", _key(rpath, op), name)
        else:
            for i, sub in enumerate(subs):
                _validate_rule(name, sub, _key(_key(rpath, op), i), add, top=False)
        return
    unknown = [k for k in rule if k not in CHOICE_COMPARATORS and k not in ("Variable", "Next")]
    if len(comparators) != 1:
        add("bad_rule", f"Choice state {name!r}: rule at {rpath} has "
            f"{'no comparison' if not comparators else 'the comparisons ' + _prose(comparators, 'and')}"
            f"{' (unknown fields: ' + _prose(unknown, 'and') + ')' if unknown else ''}; use "
            "exactly one, e.g. StringEquals or NumericGreaterThan.", rpath, name)
    if "Variable" not in rule:
        add("missing_field", f"Choice state {name!r}: rule at {rpath} has no 'Variable' (the "
            "JSONPath it tests).", _key(rpath, "Variable"), name)
    else:
        _check_path(rule["Variable"], _key(rpath, "Variable"), name, add,
                    "has a Choice Variable")
    for op in comparators:
        value = rule[op]
        if op.endswith("Path"):
            _check_path(value, _key(rpath, op), name, add, f"has a Choice {op}")
        elif op in _TYPE_TESTS:
            if not isinstance(value, bool):
                add("bad_rule", f"Choice state {name!r}: {op} at {rpath} must be true or false, "
                    f"not {value!r}.", _key(rpath, op), name)
        else:
            expected = _VALUE_COMPARATORS[op]
            if isinstance(value, bool) and expected is not bool or not isinstance(value, expected):
                add("bad_rule", f"Choice state {name!r}: {op} at {rpath} compares with "
                    f"{_clip_repr(value)}, which is not a {_type_name(expected)}.",
                    _key(rpath, op), name)
            elif op.startswith("Timestamp") and not _is_timestamp(value):
                add("bad_timestamp", f"Choice state {name!r}: {op} at {rpath} compares with "
                    f"{_clip_repr(value)}, which is not an RFC 3339 date-time; write it like "
                    "'2026-01-31T12:00:00Z'.", _key(rpath, op), name)


def _type_name(expected: t.Any) -> str:
    if expected is bool:
        return "boolean"
    if expected is str:
        return "string"
    return "number"


# Fields refused with a reason of their own (the rest: "not a field of a <Type> state").
_FIELD_FIXES = {
    "OutputPath": "OutputPath is not allowed in a flow definition; use ResultPath to say where "
                  "the state's result goes",
    "Retry": "Globus flows have no Retry; Catch the error and loop back through a Choice, or "
             "raise the action's WaitTime",
    "ResultSelector": "Globus flows have no ResultSelector; pick parts of the result with a "
                      "following Pass or ExpressionEval state's Parameters",
    "RunAs": "RunAs is a property of an Action state only; move it to the Action state that "
             "should run as that role, or remove it",
    "Catch": "only Action states catch errors; remove Catch, or move the work into an Action",
    "InputPath": "an ExpressionEval state reads the whole run data; remove InputPath and name "
                 "the full paths in its expressions",
    "TimeoutSeconds": "Globus flows have no TimeoutSeconds; an Action state's WaitTime bounds "
                      "how long it waits",
}


def _near(field: t.Any, allowed: t.Sequence[str]) -> str:
    """', did you mean ...' for a misspelt field name (difflib's near misses), or ''."""
    if not isinstance(field, str) or len(field) > 200:
        return ""
    match = difflib.get_close_matches(field, allowed, n=1, cutoff=0.75)
    return f"; did you mean {match[0]!r}?" if match else ""


def _check_fields(name: str, kind: str, state: dict, add: t.Callable[..., None]) -> None:
    allowed = STATE_FIELDS[kind]
    for field in state:
        if field in allowed or (kind in ("Choice", "Fail") and field in ("Next", "End")):
            continue  # Next/End on Choice and Fail: refused by their own rule
        where = state_path(name, field) if isinstance(field, str) else state_path(name)
        shown = _clip_repr(field)
        if isinstance(field, str) and field in _FIELD_FIXES:
            fix = _FIELD_FIXES[field]
        else:
            near = _near(field, allowed)
            fix = (f"{near[2:]} (the fields of a {kind} state: {', '.join(allowed)})" if near
                   else f"remove it (the fields of a {kind} state: {', '.join(allowed)})")
        add("unknown_field", f"{kind} state {name!r} has the field {shown}, which Globus "
            f"refuses on a {kind} state; {fix}.", where, name)


def _check_comment(obj: dict, where: str, name: str | None, what: str,
                   add: t.Callable[..., None]) -> None:
    # null is let through: gladier's flow builder writes "Comment": null on every state
    if obj.get("Comment") is not None and not isinstance(obj["Comment"], str):
        path = where if where.endswith("Comment") else _key(where, "Comment")
        add("bad_field", f"{what} has Comment {_clip_repr(obj['Comment'])}, a "
            f"{type(obj['Comment']).__name__}; a Comment is a string.", path, name)


def _check_seconds(name: str, seconds: t.Any, add: t.Callable[..., None]) -> None:
    where = state_path(name, "Seconds")
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not (
            0 <= seconds <= MAX_WAIT_SECONDS):
        add("bad_field", f"Wait state {name!r} has Seconds {_clip_repr(seconds)}; Seconds is a "
            f"whole number from 0 to {MAX_WAIT_SECONDS} (one year); use SecondsPath to read it "
            "from the input.", where, name)
    elif isinstance(seconds, float):
        # a warning: Globus's schema gives Seconds "type": "integer", but short fractional
        # waits keep local tests fast and the engine honours them
        add("bad_field", f"Wait state {name!r} has Seconds {seconds!r}, not a whole number; "
            f"Globus's published flow schema wants an integer, so use {max(1, round(seconds))} "
            "on Globus.", where, name, "warning")


# RFC 3339 date-time with the States Language's restrictions: "an uppercase T must separate
# date and time, and an uppercase Z must denote that a numeric time zone offset is not present"
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def _is_timestamp(value: t.Any) -> bool:
    if not isinstance(value, str) or not _RFC3339.match(value):
        return False
    text = value[:-1] + "+00:00" if value.endswith("Z") else value
    if "." in text:  # fromisoformat takes at most 6 fraction digits before 3.11
        head, _, rest = text.partition(".")
        digits = re.match(r"\d+", rest)
        text = head + "." + (digits.group(0) + "000000")[:6] + rest[digits.end():] if digits else text
    try:
        dt.datetime.fromisoformat(text)
    except ValueError:
        return False
    return True
