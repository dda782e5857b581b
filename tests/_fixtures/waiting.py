"""``wait_until``: the one way a test waits for something to happen.

A test never sleeps a fixed time hoping something happened meanwhile, nor polls without a
deadline: it names what it waits for and how long that may take, and a timeout fails the
test with that name and the last value seen.
"""

from __future__ import annotations

import time
import typing as t

__all__ = ["WaitTimeout", "wait_until"]

T = t.TypeVar("T")


class WaitTimeout(AssertionError):
    """What a test waited for did not happen in time (a test failure, not an error)."""


def _short(value: object, limit: int = 500) -> str:
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def wait_until(predicate: t.Callable[[], T], timeout: float, what: str, *,
               until: t.Callable[[T], object] = bool,
               ignore: tuple[type[BaseException], ...] = (),
               interval: float = 0.005, max_interval: float = 0.1,
               context: t.Callable[[], str] | None = None) -> T:
    """Call ``predicate`` until ``until(value)`` holds (its value is truthy, by default) and
    return that value; after ``timeout`` seconds raise :class:`WaitTimeout` naming ``what``
    and the last value seen.

    The first calls come quickly and the pauses grow to ``max_interval``, so a test that
    waits for a service is neither slow when it is quick nor spinning against it. An
    exception of a type in ``ignore`` (a server not listening yet) counts as "not yet".
    ``context`` adds text to the failure (e.g. the tail of a server's log).
    """
    __tracebackhide__ = True
    deadline = time.monotonic() + timeout
    delay = interval
    while True:
        try:
            value: t.Any = predicate()
        except ignore as error:
            value = error
        else:
            if until(value):
                return value
        if time.monotonic() >= deadline:
            message = f"{what}: not within {timeout:g} s; last seen: {_short(value)}"
            if context is not None:
                message += f"\n{context()}"
            raise WaitTimeout(message)
        time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
        delay = min(delay * 1.5, max_interval)
