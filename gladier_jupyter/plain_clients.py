"""Plain gladier clients while the extension is loaded (the seed tutorial's own code).

gladier 0.11 has no hook for a client's default managers: GladierBaseClient.__init__
builds a UserAppLoginManager (broken on globus-sdk 4), a FlowsManager and a
ComputeManager itself. While the extension is loaded, three attributes of that one class
are wrapped (the narrowest reversible change): ``__init__`` fills in the managers a
caller did not give from ``backend.gladier_client_kwargs()``; ``run_flow`` reads the old
``funcx_endpoint_compute`` input key as ``compute_endpoint`` and, when it is about to
update the deployed flow, says what changed (as ``%gladier_run`` does); ``progress`` shows the
RunMonitor and ends on INACTIVE; a ``flows_client`` property (gladier < 0.9's, which the
tutorial uses) is added. The tutorial's Search cell also calls globus-sdk 2's
``post(..., json_body=...)``: globus_sdk.BaseClient's post/put/patch take that name as
``data=`` (patched before a cell that mentions it runs). ``%unload_ext`` puts the
originals back.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import logging
import threading
import typing as t

__all__ = ["install_plain_client_defaults", "last_redeploy", "remove_plain_client_defaults",
           "show_redeploy", "start_background_import"]


def _display(obj: t.Any) -> None:
    from IPython.display import display

    display(obj)

_PATCHED_ATTRS = ("__init__", "run_flow", "progress")
_PLAIN_CLIENTS: dict[str, t.Any] = {"cls": None, "originals": {}, "added": [], "shell": None,
                                     "installed": False}
#: Old gladier flow-input names and the names gladier 0.11's flows read.
_RENAMED_INPUT = {"funcx_endpoint_compute": "compute_endpoint"}
_ENDED = ("SUCCEEDED", "FAILED", "ENDED")
#: set while ``%gladier_run`` runs a client whose re-deploy it has already shown
_REDEPLOY_SHOWN: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "gladier_jupyter_redeploy_shown", default=False)
_LAST_REDEPLOY: dict[str, t.Any] = {"preview": None}


def last_redeploy() -> t.Any:
    """The FlowPreview of the last re-deploy a run announced (None when the last run changed
    nothing deployed)."""
    return _LAST_REDEPLOY["preview"]


def show_redeploy(instance: t.Any, *, display: bool | None = None) -> t.Any:
    """Before a run that would update the deployed flow (its definition or a function), print
    a one-line summary of what changed and display the diff on the preview's graph.

    ``display=None`` displays only where a front end can draw the widget (a kernel). Returns
    the preview, or None when the run changes nothing deployed or the comparison could not be
    made (the run itself then reports what is wrong).
    """
    _LAST_REDEPLOY["preview"] = None
    try:
        from gladier_jupyter import flowdef
        from gladier_jupyter.inline.redeploy import pending_redeploy

        pending = pending_redeploy(instance)
        if not pending.pending:
            return None
        diff = flowdef.diff_definitions(pending.deployed or {}, pending.current,
                                        old_functions=pending.stored_functions,
                                        new_functions=pending.current_functions)
    except Exception:  # an extra before the run; the run reports real errors
        logging.getLogger(__name__).debug("no re-deploy diff", exc_info=True)
        return None
    print(f"Re-deploying flow {pending.flow_id}: {diff.summary()}")
    try:
        from gladier_jupyter.widgets.preview import FlowPreview

        preview = FlowPreview(instance)
        if preview.flow.definition != pending.current:
            # a client whose own get_flow_definition() is not what its tools chain into
            preview = FlowPreview(pending.current)
        preview.diff(pending)
    except Exception:  # the summary above said it; the drawing is an extra
        logging.getLogger(__name__).debug("no re-deploy preview", exc_info=True)
        return None
    _LAST_REDEPLOY["preview"] = preview
    if display if display is not None else _can_show_widgets():
        _display(preview)
    return preview


@contextlib.contextmanager
def redeploy_shown() -> t.Iterator[None]:
    """Runs started inside do not announce their re-deploy again (the caller showed it)."""
    token = _REDEPLOY_SHOWN.set(True)
    try:
        yield
    finally:
        _REDEPLOY_SHOWN.reset(token)


def _confidential_client() -> bool:
    import os

    return bool(os.environ.get("GLADIER_CLIENT_ID") and os.environ.get("GLADIER_CLIENT_SECRET"))


def _client_init(original: t.Callable[..., None]) -> t.Callable[..., None]:
    @functools.wraps(original)
    def __init__(self: t.Any, auto_registration: bool = True, login_manager: t.Any = None,
                 flows_manager: t.Any = None, compute_manager: t.Any = None, **kwargs: t.Any) -> None:
        from gladier_jupyter import backend

        given = {"login_manager": login_manager, "flows_manager": flows_manager,
                 "compute_manager": compute_manager}
        if (login_manager is None or flows_manager is None or compute_manager is None) and not (
                backend.current().name == "globus" and _confidential_client()):
            for name, manager in backend.gladier_client_kwargs().items():
                if given.get(name) is None:
                    if hasattr(manager, "auto_registration"):
                        manager.auto_registration = auto_registration
                    given[name] = manager
        original(self, auto_registration, **given, **kwargs)

    return __init__


def _client_run_flow(original: t.Callable[..., t.Any]) -> t.Callable[..., t.Any]:
    @functools.wraps(original)
    def run_flow(self: t.Any, flow_input: t.Any = None, *args: t.Any, **kwargs: t.Any) -> t.Any:
        inner = flow_input.get("input") if isinstance(flow_input, dict) else None
        if isinstance(inner, dict):
            for old, new in _RENAMED_INPUT.items():
                if old in inner and new not in inner:
                    print(f"Note: flow input {old!r} is gladier's old name for {new!r}; "
                          f"it is used as {new!r}.")
                    flow_input = {**flow_input, "input": {
                        (new if k == old else k): v for k, v in inner.items()}}
                    inner = flow_input["input"]
        if not _REDEPLOY_SHOWN.get():
            show_redeploy(self)
        return original(self, flow_input, *args, **kwargs)

    return run_flow


def _can_show_widgets() -> bool:
    from IPython import get_ipython

    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def _inactive_message(run_id: str, status: t.Mapping[str, t.Any]) -> str:
    raw = status.get("details")
    details: t.Mapping[str, t.Any] = raw if isinstance(raw, dict) else {}
    why = str(details.get("description") or details.get("code") or "no reason given").strip()
    why = why if len(why) <= 200 else why[:197] + "..."
    return (f"Run {run_id} is INACTIVE: {why.rstrip('.')}. It waits until the cause is fixed "
            "and it is resumed (the monitor's Resume button, or flows_client.resume_run); "
            "progress() stops here.")


def _client_progress(original: t.Callable[..., t.Any]) -> t.Callable[..., t.Any]:
    @functools.wraps(original)
    def progress(self: t.Any, action_id: str, callback: t.Callable[[t.Any], t.Any] | None = None,
                 delay: float = 2) -> None:
        import time

        monitor = None
        if _can_show_widgets():
            try:
                from gladier_jupyter.widgets.monitor import RunMonitor

                monitor = RunMonitor(action_id, client=self)
                _display(monitor)
            except Exception:  # the text below still reports the run
                logging.getLogger(__name__).debug("no run monitor for progress()", exc_info=True)
                monitor = None
        if callback is None and monitor is None:
            callback = self.flows_manager._default_progress_callback
        while True:
            status = self.get_status(action_id)
            if callback is not None:
                callback(status)
            state = status.get("status")
            if state in _ENDED:
                print(f"Run {action_id} {state}.")
                return
            if state == "INACTIVE":
                print(_inactive_message(action_id, status))
                return
            time.sleep(delay)

    return progress


#: The background import and the cell hooks may both try to patch: one does.
_PATCH_LOCK = threading.Lock()


def _patch_plain_clients() -> None:
    """Wrap GladierBaseClient's defaults once gladier is imported (cheap check per cell)."""
    with _PATCH_LOCK:
        _patch_plain_clients_locked()


def _patch_plain_clients_locked() -> None:
    import sys

    module = sys.modules.get("gladier.client")
    cls = getattr(module, "GladierBaseClient", None)
    if cls is None or _PLAIN_CLIENTS["cls"] is not None:
        return
    wrappers = {"__init__": _client_init, "run_flow": _client_run_flow, "progress": _client_progress}
    originals = {name: cls.__dict__[name] for name in _PATCHED_ATTRS}
    for name, wrap in wrappers.items():
        setattr(cls, name, wrap(originals[name]))
    added = []
    if not hasattr(cls, "flows_client"):  # gladier < 0.9 had it; the tutorial lists flows with it
        cls.flows_client = property(_flows_client, doc="The flows manager's FlowsClient (gladier < 0.9's name).")
        added.append("flows_client")
    _PLAIN_CLIENTS.update(cls=cls, originals=originals, added=added)


def _flows_client(self: t.Any) -> t.Any:
    return self.flows_manager.flows_client


def _json_body_alias(original: t.Callable[..., t.Any]) -> t.Callable[..., t.Any]:
    @functools.wraps(original)
    def method(self: t.Any, path: str, *args: t.Any, **kwargs: t.Any) -> t.Any:
        if "json_body" in kwargs:
            body = kwargs.pop("json_body")
            if "data" in kwargs:
                raise TypeError(f"{original.__name__}() got both json_body and data; "
                                "pass the body as data= only.")
            if not _SDK_ALIAS["noted"]:
                print("Note: json_body= is globus-sdk 2's name for data=; it is sent as data=.")
                _SDK_ALIAS["noted"] = True
            kwargs["data"] = body
        return original(self, path, *args, **kwargs)

    return method


_SDK_ALIAS: dict[str, t.Any] = {"cls": None, "originals": {}, "noted": False}


def _patch_json_body() -> None:
    """globus-sdk 3 renamed ``json_body=`` (which the seed tutorial's Search cell passes to
    ``post``) to ``data=``: while the extension is loaded, BaseClient's post/put/patch
    take the old name too."""
    if _SDK_ALIAS["cls"] is not None:
        return
    import globus_sdk

    cls = globus_sdk.BaseClient
    originals = {name: cls.__dict__[name] for name in ("post", "put", "patch")}
    for name, original in originals.items():
        setattr(cls, name, _json_body_alias(original))
    _SDK_ALIAS.update(cls=cls, originals=originals)


def _on_cell(info: t.Any = None, *_args: t.Any) -> None:
    _wait_for_background_import()
    _patch_plain_clients()
    source = getattr(info, "raw_cell", None)
    if isinstance(source, str):
        # Only a cell that needs it pays for the import of globus-sdk here.
        if "json_body" in source:
            _patch_json_body()
        if "GLOBUS_DATA" in source:
            _provide_globus_data()


def _provide_globus_data() -> None:
    import os

    if os.environ.get("GLOBUS_DATA"):
        return
    from gladier_jupyter import backend

    try:
        if backend.provide_globus_data():
            print("GLOBUS_DATA holds local-service tokens (no hub login in this kernel); "
                  "%unload_ext gladier_jupyter removes them.")
    except Exception as exc:  # noqa: BLE001 - the cell runs and reports the missing value itself
        logging.getLogger(__name__).warning("no local GLOBUS_DATA: %s", str(exc)[:200])


def install_plain_client_defaults(shell: t.Any) -> None:
    """While the extension is loaded, plain gladier clients get the extension's managers.

    gladier is patched as soon as it is imported (checked before and after each cell, so
    ``%load_ext`` does not import it), and where there is no ``GLOBUS_DATA`` the backend
    provides one with local-service tokens before the first cell that reads it runs
    (``%load_ext`` starts no service)."""
    if _PLAIN_CLIENTS["shell"] is not None:
        return
    with _PATCH_LOCK:
        _PLAIN_CLIENTS.update(shell=shell, installed=True)
        _patch_plain_clients_locked()
    if shell is not None:
        shell.events.register("pre_run_cell", _on_cell)
        shell.events.register("post_run_cell", _after_cell)


#: What the first ``%%gladier_tool`` cell would otherwise import itself (~0.7 s): gladier,
#: its flow generation and globus-compute-sdk's serializer (the portability check).
_BACKGROUND_MODULES = (
    "gladier_jupyter.inline",
    "gladier",
    "gladier.utils.flow_generation",
    "globus_compute_sdk.serialize",
    "gladier_jupyter.flowdef",
)
_BACKGROUND: dict[str, t.Any] = {"thread": None, "pending": False}


def _import_in_background() -> None:
    import importlib

    for name in _BACKGROUND_MODULES:
        try:
            importlib.import_module(name)
        except Exception as exc:  # noqa: BLE001 - the cell that needs it reports the error
            logging.getLogger(__name__).debug("background import of %s failed: %s", name, exc)
            return
    with _PATCH_LOCK:
        if _PLAIN_CLIENTS["installed"]:  # not if %unload_ext came first
            _patch_plain_clients_locked()


def _start_import_thread() -> threading.Thread:
    _BACKGROUND["pending"] = False
    thread = _BACKGROUND["thread"]
    if thread is None:
        thread = threading.Thread(target=_import_in_background, name="gladier-jupyter-import",
                                  daemon=True)
        _BACKGROUND["thread"] = thread
        thread.start()
    return thread


def _wait_for_background_import() -> None:
    thread = _BACKGROUND["thread"]
    if thread is not None and thread.is_alive() and thread is not threading.current_thread():
        thread.join()


def _after_cell(result: t.Any = None, *_args: t.Any) -> None:
    _on_cell(result)
    if _BACKGROUND["pending"]:
        _start_import_thread()


def start_background_import(shell: t.Any = None) -> None:
    """Import gladier and globus-compute-sdk in a daemon thread (once per process), so
    ``%load_ext`` stays instant and the first ``%%gladier_tool`` cell does not pay for them.

    In a shell the thread starts when the cell that loaded the extension has ended, and the
    next cell waits for it before it runs: the import then never runs beside the user's
    code, whose own imports of the same packages could otherwise meet it half-way (two
    threads importing one package can each see the other's module half initialized). A
    cell run at once waits at most what it would have spent importing them itself."""
    if shell is not None and _BACKGROUND["thread"] is None:
        _BACKGROUND["pending"] = True


def remove_plain_client_defaults(shell: t.Any) -> None:
    """Undo :func:`install_plain_client_defaults`: gladier's own methods come back."""
    with _PATCH_LOCK:
        cls = _PLAIN_CLIENTS["cls"]
        if cls is not None:
            for name, original in _PLAIN_CLIENTS["originals"].items():
                setattr(cls, name, original)
            for name in _PLAIN_CLIENTS.get("added", []):
                delattr(cls, name)
        _PLAIN_CLIENTS.update(cls=None, originals={}, added=[], installed=False)
    registered = _PLAIN_CLIENTS["shell"]
    if registered is not None:
        for event in ("pre_run_cell", "post_run_cell"):
            try:
                registered.events.unregister(event, _on_cell if event == "pre_run_cell" else _after_cell)
            except ValueError:
                pass
    _PLAIN_CLIENTS.update(cls=None, originals={}, added=[], shell=None)
    _LAST_REDEPLOY["preview"] = None
    sdk_cls = _SDK_ALIAS["cls"]
    if sdk_cls is not None:
        for name, original in _SDK_ALIAS["originals"].items():
            setattr(sdk_cls, name, original)
    _SDK_ALIAS.update(cls=None, originals={}, noted=False)
    from gladier_jupyter import backend

    backend.withdraw_globus_data()
