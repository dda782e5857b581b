"""What a run never shows: private Parameters, ``_private`` properties and RunAs tokens.

Globus's Protecting Secrets page (https://docs.globus.org/api/flows/authoring-flows/secrets,
"Protecting Action and Flow State" in the automate docs) has two rules:

- a ``__Private_Parameters`` list, at any nesting level of ``Parameters``, names the
  parameters (by their simple name, without a trailing ``.$`` or ``.=``) whose values "will
  not be returned in the status or log of the flow's execution";
- "any property which starts with the prefix ``_private`` will be omitted from flow
  introspection", while reference paths such as ``$._private.password`` still read it.

Here both hold for everything a client can read: the run document (its input and output)
and every log entry, which is what the monitor, the runs panel and saved notebooks show.
The store applies :func:`scrub` to each document and entry it writes (only the engine's
cursor, which a run needs to go on, keeps the values). A private parameter's value is
also hidden wherever it travels afterwards (a Pass that copies it, an output that holds
it): a string value is removed where it is a whole value and cut out where it is part of
a longer string (when at least :data:`MIN_SUBSTRING` characters long); an object or list
value is removed where it appears whole. Numbers and booleans are hidden in the state's
own parameters only (hiding every ``1`` of a run would hide its data). The ``_tokens``
object of a run's input (the RunAs role tokens) is hidden like a ``_private`` property.
"""

from __future__ import annotations

import json
import typing as t

__all__ = ["PRIVATE_LIST", "MIN_SUBSTRING", "private_values", "scrub", "triggers", "without_private"]

#: The Parameters key listing the private parameters.
PRIVATE_LIST = "__Private_Parameters"
#: Shortest private string that is also cut out of longer strings.
MIN_SUBSTRING = 4
_HIDDEN_NAMES = ("_private",)
_TOKENS = "_tokens"
_REPLACEMENT = "[private]"
_dumps = json.JSONEncoder(separators=(",", ":")).encode


def _simple(key: str) -> str:
    return key[:-2] if key.endswith((".$", ".=")) else key


def _private_names(template: dict[str, t.Any]) -> set[str]:
    names = template.get(PRIVATE_LIST)
    if not isinstance(names, list):
        return set()
    return {_simple(n) for n in names if isinstance(n, str)}


def private_values(template: t.Any, resolved: t.Any) -> list[t.Any]:
    """The values of ``resolved`` (``template`` filled in) that its private lists name."""
    found: list[t.Any] = []
    todo = [(template, resolved)]
    while todo:
        tmpl, value = todo.pop()
        if isinstance(tmpl, dict) and isinstance(value, dict):
            private = _private_names(tmpl)
            for key, sub in tmpl.items():
                name = _simple(key)
                if name not in value:
                    continue
                if name in private:
                    found.append(value[name])
                else:
                    todo.append((sub, value[name]))
        elif isinstance(tmpl, list) and isinstance(value, list):
            todo.extend(zip(tmpl, value, strict=False))
    return found


def without_private(template: t.Any, value: t.Any = None) -> t.Any:
    """``value`` (or the template itself) without what the template's private lists name,
    and without the lists themselves."""
    value = template if value is None else value
    if isinstance(template, dict) and isinstance(value, dict):
        private = _private_names(template)
        out = {}
        for key, sub in value.items():
            if key == PRIVATE_LIST or _simple(key) in private:
                continue
            sub_template = template.get(key, template.get(f"{key}.$", template.get(f"{key}.=")))
            out[key] = without_private(sub_template, sub) if sub_template is not None else sub
        return out
    if isinstance(template, list) and isinstance(value, list):
        return [without_private(tm, v) for tm, v in zip(template, value, strict=False)] + value[len(template):]
    return value


def _encoded(secret: t.Any) -> str | None:
    if isinstance(secret, bool) or secret is None or isinstance(secret, (int, float)):
        return None  # not hidden by value (see the module's docstring)
    if isinstance(secret, str):
        return _dumps(secret)[1:-1] if secret else None
    try:
        return _dumps(secret)
    except (TypeError, ValueError):
        return None


def triggers(secrets: t.Iterable[t.Any]) -> tuple[str, ...]:
    """The JSON texts whose presence in an encoded document means it must be scrubbed."""
    out = {'"_private', f'"{_TOKENS}"'}
    for secret in secrets:
        text = _encoded(secret)
        if text:
            out.add(text)
    return tuple(sorted(out))


def needs_scrub(text: str, trigger_texts: t.Sequence[str]) -> bool:
    return any(trigger in text for trigger in trigger_texts)


def scrub(doc: t.Any, secrets: t.Sequence[t.Any] = ()) -> t.Any:
    """A copy of ``doc`` without ``_private*`` and ``_tokens`` properties and without the
    private values ``secrets`` (see the module's docstring)."""
    strings = {s for s in secrets if isinstance(s, str) and s}
    long_strings = sorted((s for s in strings if len(s) >= MIN_SUBSTRING), key=len, reverse=True)
    whole = {_dumps(s) for s in secrets if isinstance(s, (dict, list)) and s}

    def hidden(value: t.Any) -> bool:
        if isinstance(value, str):
            return value in strings
        if whole and isinstance(value, (dict, list)):
            try:
                return _dumps(value) in whole
            except (TypeError, ValueError):
                return False
        return False

    def walk(value: t.Any) -> t.Any:
        if isinstance(value, dict):
            return {k: walk(v) for k, v in value.items()
                    if not (isinstance(k, str) and (k.startswith(_HIDDEN_NAMES) or k == _TOKENS))
                    and not hidden(v)}
        if isinstance(value, list):
            return [walk(v) for v in value if not hidden(v)]
        if isinstance(value, str) and long_strings:
            for secret in long_strings:
                if secret in value:
                    value = value.replace(secret, _REPLACEMENT)
        return value

    # Iterative depth is bounded by the run's own data, which the engine already walks.
    return walk(doc)
