"""``%gladier_run``: the pre-run input check, and starting a run on the current backend."""

from __future__ import annotations

import typing as t

from gladier_jupyter.errors import GladierJupyterUsageError
from gladier_jupyter.inline.cells import _usage
from gladier_jupyter.inline.clients import _unwrap

__all__ = ["check_run_input", "start_run"]


def check_run_input(client: t.Any, flow_input: t.Any, name: str | None = None) -> list[str]:
    """Problems with ``flow_input`` for ``client``, as one message each (empty when fine).

    ``name`` is the user's variable holding the input, which the messages then name.
    """
    what = name or "The run input"
    if not isinstance(flow_input, dict) or set(flow_input) != {"input"} or not isinstance(
        flow_input["input"], dict
    ):
        if isinstance(flow_input, dict) and set(flow_input) == {"input"}:
            got = f"'input' holding a {type(flow_input['input']).__name__}"
        elif isinstance(flow_input, dict):
            keys = ", ".join(repr(k)[:40] for k in sorted(flow_input, key=str)[:5])
            got = f"the keys {keys}" if flow_input else "an empty dict"
        else:
            got = f"a {type(flow_input).__name__}"
        return [
            f"{what} must be a dict with the single key 'input' holding the values "
            f"(gladier's rule), got {got}; wrap it as {{'input': {{...}}}}."
        ]
    from gladier_jupyter import flowgraph

    found = flowgraph.check_run_input(client, flow_input, name=name)
    problems = [getattr(p, "message", str(p)) for p in found]
    if not problems and not flow_input["input"]:
        # gladier refuses an empty 'input' with a misleading "must be nested" message.
        problems.append(
            f"{what} {{'input': {{}}}} holds no values, which gladier refuses; put at least "
            "one value under 'input', e.g. {'input': {'label': 'run 1'}}."
        )
    return problems


def start_run(
    client: t.Any,
    flow_input: dict[str, t.Any],
    *,
    label: str | None = None,
    tags: list[str] | None = None,
) -> tuple[t.Any, dict[str, t.Any]]:
    """Run ``client`` on the current backend; returns (client instance, run document)."""
    from gladier.exc import GladierException
    from globus_sdk import GlobusAPIError

    from gladier_jupyter import backend

    kwargs: dict[str, t.Any] = {}
    if label is not None:
        kwargs["label"] = label
    if tags:
        kwargs["tags"] = list(tags)
    try:
        instance = client
        if isinstance(_unwrap(client), type):
            instance = client(**backend.gladier_client_kwargs())
        run = instance.run_flow(flow_input=flow_input, **kwargs)
    except GladierJupyterUsageError as err:
        if backend.current().name == "local":
            raise
        raise GladierJupyterUsageError(
            f"{err} (Or run on the local service instead: gladier_jupyter.use_local().)"
        ) from None
    except GladierException as err:
        raise _usage(f"gladier refused the run: {err}") from None
    except GlobusAPIError as err:
        if backend.current().name == "globus" and (
            err.code in ("ConsentRequired", "MISSING_SCOPE")
            or getattr(getattr(err, "info", None), "consent_required", None)
        ):
            from gladier_jupyter.auth import ask_consent

            ask_consent(err)  # shows the login widget, then raises a one-line LoginRequired
        raise _usage(
            f"The flows service refused the run: {err.http_status} {err.code}: {err.message}"
        ) from None
    data = getattr(run, "data", run)
    return instance, dict(data)
