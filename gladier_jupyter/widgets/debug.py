"""The debug loop in the widgets: replay a state in the kernel, test one state, re-run
from a state (the requests are :mod:`gladier_jupyter.backend.debugging`'s)."""

from __future__ import annotations

import json
import typing as t

from gladier_jupyter.errors import GladierJupyterUsageError

__all__ = ["parse_run_data", "parent_of", "test_steps_text"]


def parse_run_data(text: str, what: str = "the run data") -> dict[str, t.Any]:
    """``text`` as a JSON object, or a one-line error naming the line and column."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise GladierJupyterUsageError(
            f"{what[0].upper()}{what[1:]} is not valid JSON: {err.msg} at line {err.lineno}, column {err.colno}; "
            "fix it and try again.") from None
    if not isinstance(value, dict):
        raise GladierJupyterUsageError(
            f"{what[0].upper()}{what[1:]} must be a JSON object ({{...}}), not {type(value).__name__}.")
    return value


def parent_of(run: t.Mapping[str, t.Any]) -> dict[str, str]:
    """``{"run_id", "state_name"}`` of the run a re-run re-runs (from its tags), else ``{}``."""
    found: dict[str, str] = {}
    for tag in run.get("tags") or []:
        if isinstance(tag, str) and tag.startswith("rerun-of:"):
            found["run_id"] = tag.removeprefix("rerun-of:")
        elif isinstance(tag, str) and tag.startswith("rerun-from:"):
            found["state_name"] = tag.removeprefix("rerun-from:")
    return found if "run_id" in found else {}


def _short(value: t.Any, limit: int = 400) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def test_steps_text(answer: t.Mapping[str, t.Any]) -> str:
    """A state test's answer as lines: each step, then the outcome."""
    lines = [f"Test of state {answer.get('state_name')} ({answer.get('state_type')}):"]
    for i, step in enumerate(answer.get("steps") or [], 1):
        kind = step.get("step")
        rest = {k: v for k, v in step.items() if k != "step"}
        lines.append(f"  {i}. {kind}: " + ", ".join(f"{k}={_short(v)}" for k, v in rest.items()))
    status = answer.get("status")
    if answer.get("error"):
        err = answer["error"]
        lines.append(f"  error: {err.get('Error')}: {err.get('Cause')}")
    lines.append(f"  status: {status}; next state: {answer.get('next_state') or '(end)'}")
    if answer.get("output") is not None:
        lines.append(f"  output: {_short(answer['output'], 2000)}")
    return "\n".join(lines)
