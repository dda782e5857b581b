"""The local Search API: indices, GIngest, full-text queries (SQLite FTS5), ``visible_to``.

The server mounts :func:`routes` under ``/api/search/`` and keeps :func:`make_service`'s
object in ``ctx.services["search"]``; the flow engine's search-ingest action provider calls
that object directly (``ingest``, ``query``, ``create_index``).
"""

from __future__ import annotations

from gladier_jupyter.local._http import ServiceContext

from .errors import SearchError
from .routes import routes
from .service import SearchService

__all__ = ["SearchError", "SearchService", "error_class", "make_service", "routes"]

#: the error class the server uses for paths under ``/api/search/`` that match no route
error_class = SearchError


def make_service(ctx: ServiceContext) -> SearchService:
    """Open the Search store."""
    return SearchService(ctx)
