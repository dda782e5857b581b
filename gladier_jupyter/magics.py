"""IPython magics: ``%%gladier_tool``, ``%gladier_client``, ``%gladier_run``, and the debug
loop's ``%gladier_replay`` and ``%gladier_test_state``.

Thin on purpose: options are parsed here and results shown here; the work is in
``gladier_jupyter.inline``. Nothing heavy (gladier, globus-sdk, widgets) is imported at module
import, so ``%load_ext gladier_jupyter`` stays instant.

One module on purpose (about 540 lines): IPython registers the magics of one ``Magics``
class, and each magic is mostly its ``@magic_arguments`` declaration and docstring (which
become ``%magic?``), then a call into ``inline`` or ``backend``. The rest is what those
magics share: reading a run input given on the line (a literal, or a notebook variable as
``name``, ``name.attr`` or ``name['key']``, evaluating no code), tab completion, and turning
the package's errors into IPython ``UsageError``. Moving those helpers out would leave a module that only this
one imports, for one idea: the magics' command line.
"""

from __future__ import annotations

import ast
import functools
import logging
import re
import shlex
import typing as t

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class, no_var_expand
from IPython.core.magic_arguments import argument, magic_arguments

from gladier_jupyter.errors import GladierJupyterUsageError
from gladier_jupyter.plain_clients import (
    install_plain_client_defaults,
    redeploy_shown,
    remove_plain_client_defaults,
    show_redeploy,
)

if t.TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell

__all__ = ["GladierMagics", "install_plain_client_defaults", "remove_plain_client_defaults"]

_LITERAL_PLACEHOLDER = "__gladier_run_input_literal__"


def _user_errors(func: t.Callable[..., t.Any]) -> t.Callable[..., t.Any]:
    """The one place a ``GladierJupyterUsageError`` becomes an IPython ``UsageError``."""

    @functools.wraps(func)
    def wrapper(*args: t.Any, **kwargs: t.Any) -> t.Any:
        try:
            return func(*args, **kwargs)
        except GladierJupyterUsageError as err:
            raise UsageError(str(err)) from None

    return wrapper


def _parse(magic: t.Any, line: str, name: str) -> t.Any:  # @magic_arguments adds .parser
    """``parse_argstring`` with shell quoting: ``--label 'Experiment 1'`` loses its quotes."""
    try:
        argv = shlex.split(line)
    except ValueError as err:
        raise UsageError(f"%{name}: {err} in {line.strip()!r}; close the quote.") from None
    try:
        return magic.parser.parse_args(argv)
    except UsageError as err:
        options = sorted(
            opt
            for action in magic.parser._actions
            for opt in action.option_strings
            if opt.startswith("--")
        )
        raise UsageError(f"%{name}: {err}; the options are {', '.join(options)}.") from None


def _literal_end(text: str) -> int:
    """Index just past the bracketed literal that starts ``text`` (strings respected)."""
    depth, quote, escaped = 0, "", False
    for i, ch in enumerate(text):
        if quote:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch in "{[(":
            depth += 1
        elif ch in "}])":
            depth -= 1
            if depth == 0:
                return i + 1
    raise GladierJupyterUsageError(
        f"The run input literal {text.strip()!r} has unbalanced brackets or quotes; "
        "close every '{', '[' and string."
    )


def _variable_name(text: str) -> str | None:
    """``text`` when it names a notebook value (``bad_input``, ``cfg.input``), else None."""
    text = text.strip()
    try:
        node = ast.parse(text, mode="eval").body
    except SyntaxError:
        return None
    return text if isinstance(node, (ast.Name, ast.Attribute, ast.Subscript)) else None


def _display(obj: t.Any) -> None:
    from IPython.display import display

    display(obj)


def _client_preview(client: t.Any) -> t.Any:
    from gladier_jupyter.widgets.preview import FlowPreview

    return FlowPreview(client)


def _complete_client(shell: t.Any, event: t.Any) -> list[str]:
    """``%gladier_client NAME TOOL...``: complete tool names after the client name."""
    from gladier_jupyter import inline

    words = event.line.split()
    done = len(words) - (0 if event.line.endswith(" ") else 1)
    if done < 2:  # still typing the new client's name
        return []
    return [n for n in inline.known_tools(shell.user_ns) if n.startswith(event.symbol)]


def _complete_run(shell: t.Any, event: t.Any) -> list[str]:
    """``%gladier_run CLIENT INPUT``: complete clients, then dict variables."""
    from gladier_jupyter import inline

    words = event.line.split()
    done = len(words) - (0 if event.line.endswith(" ") else 1)
    if done == 1:
        names = inline.known_clients(shell.user_ns)
    elif done == 2:
        names = sorted(
            k for k, v in shell.user_ns.items() if isinstance(v, dict) and not k.startswith("_")
        )
    else:
        return []
    return [n for n in names if n.startswith(event.symbol)]


@magics_class
class GladierMagics(Magics):
    """Define gladier tools and clients in cells and run them."""

    #: The run monitor ``%gladier_run`` showed last (None before the first run).
    last_monitor: t.Any = None
    #: The flow preview ``%gladier_client`` showed last.
    last_preview: t.Any = None

    def __init__(self, shell: t.Any = None) -> None:
        super().__init__(shell)
        #: the preview of the last re-deploy %gladier_run made (None when it made none)
        self.last_redeploy: t.Any = None
        if shell is not None:
            shell.set_hook("complete_command", _complete_client, str_key="%gladier_client")
            shell.set_hook("complete_command", _complete_run, str_key="%gladier_run")

    @property
    def _shell(self) -> InteractiveShell:
        """The IPython shell the magics were registered with (``%load_ext`` gives one)."""
        if self.shell is None:
            raise UsageError("The gladier magics have no IPython shell; load them with "
                             "%load_ext gladier_jupyter.")
        return self.shell

    @magic_arguments()
    @argument("name", help="Name of the tool class to define.")
    @argument(
        "--definition",
        action="store_true",
        help="The cell is a static flow definition (JSON or YAML), not Python.",
    )
    @argument(
        "--endpoint",
        "-e",
        help="Compute endpoint: a flow input key (default compute_endpoint) or an endpoint UUID.",
    )
    @argument(
        "--action-url",
        help="Compute action provider: v2 (default), v3, or its full URL.",
    )
    @argument(
        "--required",
        "-r",
        action="append",
        help="Required flow input keys, comma separated (repeatable).",
    )
    @argument(
        "--input",
        "-i",
        action="append",
        help="Default flow_input value KEY=VALUE or a JSON object (repeatable).",
    )
    @argument("--wait-time", type=int, help="WaitTime (seconds) of every state of the tool.")
    @argument(
        "--set",
        action="append",
        dest="settings",
        help="A gladier modifier [FUNCTION.]FIELD=VALUE, e.g. gather_metadata.WaitTime=600.",
    )
    @argument(
        "--modifiers",
        help="A variable or literal holding gladier modifiers {function: {field: value}}.",
    )
    @argument(
        "--transition-states",
        action="append",
        help="States a --definition flow continues from (gladier flow_transition_states).",
    )
    @argument("--comment", "-c", help="Docstring of the tool and Comment of its flow.")
    @cell_magic
    @_user_errors
    def gladier_tool(self, line: str, cell: str) -> None:
        """Define a gladier tool whose compute functions are the cell's top-level functions.

        In [1]: %%gladier_tool RunExperiment --endpoint compute_endpoint
           ...: def run_experiment(**data):
           ...:     return data['experiment']
        """
        args = _parse(self.gladier_tool, line, "%gladier_tool")
        from gladier_jupyter import inline

        flow_input = inline.parse_input_option(args.input)
        if args.definition:
            ignored = [
                opt
                for opt, value in (
                    ("--endpoint", args.endpoint),
                    ("--action-url", args.action_url),
                    ("--wait-time", args.wait_time),
                    ("--set", args.settings),
                    ("--modifiers", args.modifiers),
                )
                if value is not None
            ]
            if ignored:
                raise UsageError(
                    f"%%gladier_tool {args.name} --definition does not take {', '.join(ignored)}, "
                    "which shape generated compute states; write those fields in the definition."
                )
            _, warnings = inline.make_definition_tool(
                args.name,
                cell,
                self._shell.user_ns,
                required=args.required,
                flow_input=flow_input,
                transition_states=args.transition_states,
                comment=args.comment,
            )
            for problem in warnings:
                print(f"warning: {problem.message}")
            return
        if args.transition_states:
            raise UsageError(
                f"%%gladier_tool {args.name}: --transition-states is only for --definition cells; "
                "a function tool's flow is a straight chain."
            )
        modifiers = self._value(args.modifiers, "--modifiers") if args.modifiers else None
        if modifiers is not None and not isinstance(modifiers, dict):
            raise UsageError(
                f"--modifiers {args.modifiers!r} is a {type(modifiers).__name__}, not a dict "
                "{function: {field: value}}."
            )
        try:
            inline.make_tool(
                args.name,
                cell,
                self._shell.user_ns,
                endpoint=args.endpoint,
                action_url=args.action_url,
                required=args.required,
                flow_input=flow_input,
                wait_time=args.wait_time,
                settings=args.settings,
                modifiers=modifiers,
                comment=args.comment,
            )
        except inline.CellRaised as err:
            self._shell.showtraceback(err.exc_info)
            raise UsageError(str(err)) from None

    @magic_arguments()
    @argument("name", help="Name of the client class to define.")
    @argument(
        "tools",
        nargs="*",
        help="Tools in flow order: names in the notebook or dotted import strings.",
    )
    @argument("--no-preview", action="store_true", help="Do not show the flow preview.")
    @argument("--diff", action="store_true",
              help="Show on the preview what changed against the deployed flow.")
    @argument("--comment", "-c", help="Docstring of the client and Comment of its flow.")
    @line_magic
    @_user_errors
    def gladier_client(self, line: str) -> None:
        """Define a gladier client chaining the given tools, and show its flow.

        In [1]: %gladier_client MyGladierClient RunExperiment GatherMetadata PublishMetadata
        """
        args = _parse(self.gladier_client, line, "gladier_client")
        from gladier_jupyter import inline

        client = inline.make_client(args.name, args.tools, self._shell.user_ns, comment=args.comment)
        if not args.no_preview or args.diff:
            self.last_preview = _client_preview(client)
            if args.diff:
                print(self.last_preview.diff().summary())
            _display(self.last_preview)

    @magic_arguments()
    @argument("scopes", nargs="*", help="Extra scopes to show, e.g. a deployed flow's scope.")
    @argument("--local", action="store_true", help="Switch this kernel to the local service.")
    @argument("--globus", action="store_true", help="Switch this kernel to Globus.")
    @line_magic
    @_user_errors
    def gladier_login(self, line: str) -> t.Any:
        """Show the Globus login: who, where the tokens came from, scopes held, expiry.

        In [1]: %gladier_login
        """
        _parse(self.gladier_login, line, "gladier_login")
        from gladier_jupyter.widgets.login import login_magic

        return login_magic(line, self.shell)

    @magic_arguments()
    @argument("client", help="The client: a %%gladier_client name or any gladier client.")
    @argument(
        "input",
        help="Flow input: a variable, or a literal like {'input': {'experiment': '/tmp/x'}}.",
    )
    @argument("--label", "-l", help="Label of the run.")
    @argument("--tags", "-t", nargs="+", help="Tags of the run.")
    @argument("--no-monitor", action="store_true", help="Do not show the run monitor.")
    @argument("--out", "-o", help="Variable to store the run document in (also in _).")
    @line_magic
    @no_var_expand  # the input literal's braces are not {expressions}; options still expand
    @_user_errors
    def gladier_run(self, line: str) -> None:
        """Run a gladier client on the current backend and watch the run.

        In [1]: %gladier_run MyGladierClient flow_input --label "Experiment 1"
        """
        literal, line = self._extract_literal(line)
        line = self._expand(line)
        args = _parse(self.gladier_run, line, "gladier_run")
        from gladier_jupyter import inline

        client = self._shell.user_ns.get(args.client)
        if client is None or not inline.is_client(client):
            known = ", ".join(inline.known_clients(self._shell.user_ns))
            raise UsageError(
                f"Unknown client {args.client!r}; known clients: "
                f"{known or 'none yet (define one with %gladier_client)'}."
            )
        if args.out is not None and not args.out.isidentifier():
            raise UsageError(f"--out {args.out!r} is not a variable name; use e.g. --out run.")
        name = None
        if args.input == _LITERAL_PLACEHOLDER:
            flow_input = inline.parse_literal(literal, what="The run input")
        else:
            flow_input = self._value(args.input, "The run input")
            name = _variable_name(args.input)
        problems = inline.check_run_input(client, flow_input, name)
        if len(problems) == 1:
            raise UsageError(problems[0])
        if problems:
            listed = "\n".join(f"  - {p}" for p in problems)
            raise UsageError(f"The run was not started; {len(problems)} problems:\n{listed}")
        from gladier_jupyter.backend import preflight

        try:
            for line in preflight.version_warnings(flow_input):
                print(f"warning: {line}")
        except Exception:  # noqa: BLE001 - the check never stops a run
            pass
        client = self._show_redeploy(client)
        with redeploy_shown():  # shown above: the client's run_flow does not say it again
            instance, run = inline.start_run(client, flow_input, label=args.label, tags=args.tags)
        self._shell.user_ns["_"] = run
        if args.out:
            self._shell.user_ns[args.out] = run
        if not args.no_monitor:
            self.last_monitor = self._monitor(run, instance)
            _display(self.last_monitor)
        else:
            print(f"Run {run.get('run_id')} ({run.get('label') or 'no label'}): {run.get('status')}")

    @magic_arguments()
    @argument("run", help="A RunMonitor, a run document or a run id (variable or literal).")
    @argument("state", help="The compute state to replay, e.g. GatherMetadata.")
    @argument("--task", type=int, default=0, help="Which task of the state (default 0).")
    @line_magic
    @_user_errors
    def gladier_replay(self, line: str) -> t.Any:
        """Call a compute state's function here with the arguments the run passed (%debug works).

        In [1]: %gladier_replay monitor GatherMetadata
        """
        args = _parse(self.gladier_replay, line, "gladier_replay")
        from gladier_jupyter.widgets.monitor import RunMonitor

        target: t.Any = self._shell.user_ns.get(args.run, args.run) if args.run.isidentifier() else args.run
        if args.run == "last" and self.last_monitor is not None:
            target = self.last_monitor  # the monitor %gladier_run showed last
        if isinstance(target, RunMonitor):
            return target.replay(args.state, task=args.task)
        run_id = target.get("run_id") if isinstance(target, dict) else str(target)
        if not isinstance(run_id, str) or not re.fullmatch(r"[0-9a-fA-F-]{36}", run_id):
            raise UsageError(f"%gladier_replay: {str(args.run)[:60]!r} is neither a RunMonitor, a run document nor "
                             "a run id; pass the monitor %gladier_run showed (or its run id).")
        from gladier_jupyter import backend
        from gladier_jupyter.inline.replay import replay

        entries = list(backend.flows_client().paginated.get_run_logs(run_id).items())
        return replay(entries, args.state, self._shell.user_ns, task=args.task)

    @magic_arguments()
    @argument("client", help="A %%gladier_client name (or a FlowPreview / definition variable).")
    @argument("state", help="The state to test.")
    @argument("--input", "-i", default="{}", help="Run data: a variable, or a literal like {'input': {...}}.")
    @line_magic
    @no_var_expand
    @_user_errors
    def gladier_test_state(self, line: str) -> None:
        """Run one state alone on the local service and show every step it takes.

        In [1]: %gladier_test_state MyGladierClient GatherMetadata --input flow_input
        """
        line = self._expand(line)
        args = _parse(self.gladier_test_state, line, "gladier_test_state")
        from gladier_jupyter import inline
        from gladier_jupyter.backend import debugging
        from gladier_jupyter.widgets.debug import test_steps_text
        from gladier_jupyter.widgets.preview import FlowPreview

        target = self._shell.user_ns.get(args.client)
        if isinstance(target, FlowPreview):
            definition = target.definition
        elif target is not None and inline.is_client(target):
            definition = inline.client_flow_definition(target)
        elif isinstance(target, dict) and "States" in target:
            definition = target
        else:
            known = ", ".join(inline.known_clients(self._shell.user_ns))
            raise UsageError(f"Unknown client {args.client!r}; known clients: "
                             f"{known or 'none yet (define one with %gladier_client)'}.")
        states = definition.get("States") or {}
        if args.state not in states:
            raise UsageError(f"{args.client} has no state {args.state!r}; its states are {', '.join(states)}.")
        data = self._value(args.input, "The run data")
        answer = debugging.test_state(args.state, data, definition=definition)
        print(test_steps_text(answer))
        self._shell.user_ns["_"] = answer  # the steps are printed; the answer is in _

    # ------------------------------------------------------------------ helpers
    def _show_redeploy(self, client: t.Any) -> t.Any:
        """Before a run that re-deploys the flow, show what changed on its graph.

        Returns the client instance to run (the one compared), or ``client`` when the
        comparison could not be made (the run then reports why, as before).
        """
        from gladier_jupyter.inline.redeploy import client_instance

        self.last_redeploy = None
        try:
            instance = client_instance(client)
        except Exception:  # the run itself reports what is wrong
            logging.getLogger(__name__).debug("no re-deploy preview", exc_info=True)
            return client
        self.last_redeploy = show_redeploy(instance, display=True)
        return instance

    def _value(self, text: str, what: str) -> t.Any:
        """A notebook variable (or expression) by name, else a JSON / Python literal."""
        from gladier_jupyter import inline

        text = text.strip()
        try:
            node = ast.parse(text, mode="eval").body
        except SyntaxError:
            node = None
        if isinstance(node, (ast.Name, ast.Attribute, ast.Subscript)):
            return self._lookup(node, text, what)
        return inline.parse_literal(text, what=what)

    def _lookup(self, node: ast.expr, text: str, what: str) -> t.Any:
        """``name``, ``name.attr`` or ``name['key']`` from the notebook, evaluating no code."""
        if isinstance(node, ast.Name):
            if node.id not in self._shell.user_ns:
                raise UsageError(
                    f"{what} {text!r} is not defined in the notebook; pass a variable holding "
                    "{'input': {...}} or a literal."
                )
            return self._shell.user_ns[node.id]
        if isinstance(node, ast.Attribute) and not node.attr.startswith("_"):
            base = self._lookup(node.value, text, what)
            if hasattr(base, node.attr):
                return getattr(base, node.attr)
        elif isinstance(node, ast.Subscript):
            base = self._lookup(node.value, text, what)
            try:
                return base[ast.literal_eval(node.slice)]
            except (ValueError, SyntaxError, TypeError, KeyError, IndexError):
                pass
        raise UsageError(
            f"{what} {text!r} is not a notebook variable (name, name.attribute or name['key']) "
            "nor a literal; store the input in a variable first."
        )

    def _expand(self, text: str) -> str:
        """IPython's ``{expr}`` / ``$name`` expansion, as every line magic gets it."""
        from IPython.utils.text import DollarFormatter

        try:
            return DollarFormatter().vformat(text, args=[], kwargs=self._shell.user_ns)
        except Exception as exc:  # noqa: BLE001 - like IPython: what does not expand stays as written
            # the type only: the line may hold the user's secrets
            logging.getLogger(__name__).debug("$-expansion failed (%s)", type(exc).__name__)
            return text

    @staticmethod
    def _extract_literal(line: str) -> tuple[str, str]:
        """Pull a ``{...}`` input literal out of the line (shell-style splitting mangles it)."""
        match = re.match(r"\s*(\S+)\s+", line)
        if not match or not line[match.end() :].startswith(("{", "[")):
            return "", line
        rest = line[match.end() :]
        end = _literal_end(rest)
        return rest[:end], f"{line[: match.end()]}{_LITERAL_PLACEHOLDER}{rest[end:]}"

    @staticmethod
    def _monitor(run: dict[str, t.Any], instance: t.Any) -> t.Any:
        from gladier_jupyter.widgets.monitor import RunMonitor

        return RunMonitor(run, client=instance)
