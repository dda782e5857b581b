"""Reading a run's event log incrementally, a bounded number of pages per poll."""

from __future__ import annotations

import typing as t

__all__ = ["LOG_PAGE_SIZE", "LOG_PAGES_PER_POLL", "LogReader", "http_status", "response_data"]

#: The largest page the Flows API serves for a run log.
LOG_PAGE_SIZE = 100
#: Pages of a run log one poll reads at most; the next poll goes on from there.
LOG_PAGES_PER_POLL = 10


class LogReader:
    """Reads a run's log page by page, returning each entry exactly once.

    The log only grows. The reader remembers the marker of the page it is on (the last
    page, which may still be filling up) and how many of its entries it has returned, so
    each poll re-reads at most that one page: nothing is missed or returned twice, however
    many pages the log has. If the service rejects an old marker, it starts over from the
    first page and skips what it has already returned.

    One call reads at most ``max_pages`` pages: a log that grows faster than it is read (a
    runaway loop) is shown a bounded piece per poll instead of being followed for ever in
    memory. ``caught_up`` says whether the last call reached the log's last page.
    """

    def __init__(self, run_id: str, page_size: int = LOG_PAGE_SIZE,
                 max_pages: int = LOG_PAGES_PER_POLL) -> None:
        self.run_id = str(run_id)
        self.page_size = page_size
        self.max_pages = max(1, max_pages)
        self.total = 0
        self.caught_up = False
        self._marker: str | None = None
        self._seen_on_page = 0
        self._skip = 0

    def read_new(self, flows_client: t.Any, on_request: t.Callable[[], None] | None = None,
                 ) -> list[dict[str, t.Any]]:
        """Fetch the entries added since the last call (up to ``max_pages`` pages)."""
        new: list[dict[str, t.Any]] = []
        restarted = False
        pages = 0
        self.caught_up = False
        while True:
            kwargs: dict[str, t.Any] = {"limit": self.page_size}
            if self._marker is not None:
                kwargs["marker"] = self._marker
            try:
                if on_request:
                    on_request()
                page = flows_client.get_run_logs(self.run_id, **kwargs)
            except Exception as err:  # a stale marker: start over, skipping what we have
                if self._marker is not None and not restarted and http_status(err) == 400:
                    restarted = True
                    self._restart()
                    continue
                if new:
                    # Keep what this poll already read: the next poll carries on from here.
                    return new
                raise
            data = response_data(page)
            entries = list(data.get("entries") or [])
            if restarted:
                unseen = self._skip_known(entries, data)
                if unseen is None:
                    continue
                entries = unseen
            if len(entries) < self._seen_on_page:
                # The page got shorter: the service re-paged; re-read from the start.
                if restarted:
                    raise RuntimeError(f"The log of run {self.run_id} shrank while reading it.")
                restarted = True
                self._restart()
                continue
            fresh = entries[self._seen_on_page:]
            new.extend(fresh)
            self.total += len(fresh)
            self._seen_on_page = len(entries)
            marker = data.get("marker")
            if data.get("has_next_page") and marker:
                self._marker = str(marker)
                self._seen_on_page = 0
                pages += 1
                if pages >= self.max_pages:
                    return new  # the rest next poll
                continue
            self.caught_up = True
            return new

    # While restarting, entries already returned before are skipped by count.
    def _restart(self) -> None:
        self._skip = self.total
        self.total = 0
        self._marker = None
        self._seen_on_page = 0

    def _skip_known(self, entries: list[dict[str, t.Any]], data: t.Mapping[str, t.Any],
                    ) -> list[dict[str, t.Any]] | None:
        skip = self._skip
        if skip <= 0:
            return entries
        if skip >= len(entries) and data.get("has_next_page") and data.get("marker"):
            self._skip = skip - len(entries)
            self.total += len(entries)
            self._marker = str(data["marker"])
            self._seen_on_page = 0
            return None
        take = min(skip, len(entries))
        self._skip = 0
        self.total += take
        self._seen_on_page = take
        return entries


def response_data(response: t.Any) -> dict[str, t.Any]:
    data = getattr(response, "data", response)
    return data if isinstance(data, dict) else {}


def http_status(err: BaseException) -> int | None:
    status = getattr(err, "http_status", None)
    return status if isinstance(status, int) else None

