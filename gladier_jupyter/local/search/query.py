"""Globus Search query strings compiled to one SQL condition over the store's tables.

Globus Search reads ``q`` two ways (https://docs.globus.org/api/search/query#query_syntax):

- simple (the default): words, any of which may match; ``+word`` must and ``-word`` must not
  match; ``"a phrase"``; ``prefix*``; ``*`` alone for everything. Nothing in it is an error.
- advanced (``advanced=true``): the Elasticsearch/Lucene query string, parsed here by luqum:
  ``AND``/``OR``/``NOT``, ``+``/``-``, parentheses, ``field.path:value`` (dotted paths into an
  entry's content, lists walked through, as in filters' ``field_name``), ``field:(a OR b)``,
  phrases, ranges ``[a TO b]`` ``{a TO b}`` ``[a TO b}`` ``>=a`` ``<b`` on numbers, dates and
  strings, ``*``/``?`` wildcards, ``field:*`` and ``_exists_:field``. A malformed query, and
  a construct this service does not evaluate (fuzzy ``~``, proximity, regular expressions,
  ``&&``/``||``/``!``), is a one-line 400: never a guess.

Semantics where Lucene's parser and boolean logic differ: explicit ``AND``/``OR``/``NOT`` are
boolean operators with the usual precedence (``NOT`` > ``AND`` > ``OR``; Elasticsearch's
docs advise parentheses whenever operators are mixed); terms side by side form a Lucene
boolean query (``+`` clauses must, ``-``/``NOT`` clauses must not, the rest: at least one
when nothing is required). A query of only negations matches everything else, as in
Elasticsearch. Date bounds are rounded as Elasticsearch's range query does (a bound without
a time is the day's first instant for ``>=``/``<`` and its last for ``>``/``<=``).

The SQL reads the tables of :mod:`.store` (``entries``, ``entries_fts``, ``entry_fields``,
``entry_fields_fts`` and their fts5vocab tables); every value goes in as a parameter.
"""

from __future__ import annotations

import dataclasses
import datetime
import math
import re
import typing as t
import unicodedata

from luqum import tree
from luqum.exceptions import ParseError
from luqum.thread import parse as parse_lucene

from .errors import QuerySyntaxError, UnsupportedQuery

__all__ = [
    "MAX_ADVANCED_CHARS",
    "MAX_CLAUSES",
    "MAX_DEPTH",
    "Condition",
    "compile_query",
    "date_key",
]

# Lucene's (and Elasticsearch's long-standing) default max_clause_count
MAX_CLAUSES = 1024
MAX_DEPTH = 64
# parsing time grows faster than the length: a bound keeps a hostile query to a fraction
# of a second (1024 clauses with their operators and field names fit well within it)
MAX_ADVANCED_CHARS = 32768

_ALL = ("1", ())
_NONE = ("0", ())

_TEXT = "e.rowid IN (SELECT rowid FROM entries_fts WHERE entries_fts MATCH ?)"
_TEXT_GLOB = (
    "e.rowid IN (SELECT doc FROM entries_fts_instances WHERE term IN"
    " (SELECT term FROM entries_fts_terms WHERE term GLOB ?))"
)
_FIELD = "e.rowid IN (SELECT f.entry FROM entry_fields f WHERE {name} AND {test})"
_FIELD_TEXT = "f.id IN (SELECT rowid FROM entry_fields_fts WHERE entry_fields_fts MATCH ?)"
_FIELD_GLOB = (
    "f.id IN (SELECT doc FROM entry_fields_fts_instances WHERE term IN"
    " (SELECT term FROM entry_fields_fts_terms WHERE term GLOB ?))"
)

_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_DATE = re.compile(
    r"^(?P<y>\d{4})(-(?P<mo>\d{2})(-(?P<d>\d{2})"
    r"([T ](?P<h>\d{2})(:(?P<mi>\d{2})(:(?P<s>\d{2})(\.(?P<f>\d{1,9}))?)?)?"
    r"(?P<tz>Z|[+-]\d{2}(:?\d{2})?)?)?)?)?$"
)
_SIMPLE_TOKEN = re.compile(r'([+-]?)"([^"]*)"|([+-]?)(\S+)')

Sql = tuple[str, tuple[t.Any, ...]]


@dataclasses.dataclass(frozen=True)
class Condition:
    """A query as SQL: ``where`` over ``entries e`` with its ``params``; ``rank`` is an FTS5
    expression of the query's positive words, to order the hits by bm25 (``None``: no words)."""

    where: str
    params: tuple[t.Any, ...]
    rank: str | None


def compile_query(q: str, *, advanced: bool) -> Condition:
    """Compile a Globus Search query string; raises a 400 :class:`SearchError` if it cannot."""
    if not isinstance(q, str):
        raise QuerySyntaxError(f"The query string {_short(q)} is not a string; send text as q.")
    compiler = _Compiler(q)
    stripped = q.strip()
    if stripped in ("", "*"):
        where: Sql = _ALL
    elif advanced:
        where = compiler.advanced(stripped)
    else:
        where = compiler.simple(stripped)
    rank = " OR ".join(dict.fromkeys(compiler.rank_terms)) or None
    return Condition(where[0], where[1], rank)


def date_key(text: str, *, partial: bool = False, round_up: bool = False) -> str | None:
    """A date-formatted string as a sortable UTC key (``YYYY-MM-DDTHH:MM:SS.ffffff``), or None.

    Stored values need at least ``YYYY-MM-DD``; query bounds (``partial``) may stop at the
    year or month. Missing parts are filled as Elasticsearch fills them: month and day 01,
    the time with its first instant, or with its last when ``round_up``.
    """
    m = _DATE.match(text.strip())
    if m is None or (not partial and m["d"] is None):
        return None
    top = "59" if round_up else "00"
    fraction = (m["f"] or "")[:6].ljust(6, "0") if m["f"] else ("999999" if round_up else "0")
    try:
        moment = datetime.datetime(
            int(m["y"]),
            int(m["mo"] or 1),
            int(m["d"] or 1),
            int(m["h"] or (23 if round_up else 0)),
            int(m["mi"] or top),
            int(m["s"] or top),
            int(fraction),
        )
    except ValueError:
        return None
    tz = m["tz"]
    if tz and tz != "Z":
        sign = 1 if tz[0] == "+" else -1
        digits = tz[1:].replace(":", "")
        offset = datetime.timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))
        try:
            moment = moment - sign * offset
        except OverflowError:
            return None
    return (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}T{moment.hour:02d}:"
        f"{moment.minute:02d}:{moment.second:02d}.{moment.microsecond:06d}"
    )


class _Compiler:
    def __init__(self, q: str):
        self.q = q
        self.clauses = 0
        self.rank_terms: list[str] = []

    # ---- simple syntax

    def simple(self, q: str) -> Sql:
        must: list[Sql] = []
        should: list[Sql] = []
        must_not: list[Sql] = []
        for match in _SIMPLE_TOKEN.finditer(q):
            sign = match.group(1) or match.group(3) or ""
            if match.group(2) is not None:
                fts = _fts_phrase(match.group(2))
            else:
                word = match.group(4)
                prefix = word.endswith("*") and len(word) > 1
                fts = _fts_phrase(word[:-1] if prefix else word)
                fts = fts + "*" if fts and prefix else fts
            if fts is None:  # no letter or digit in it: nothing to look for
                continue
            self._count()
            if sign != "-":
                self.rank_terms.append(fts)
            {"+": must, "-": must_not}.get(sign, should).append((_TEXT, (fts,)))
        if not (must or should or must_not):
            return _NONE
        return _bool(must, should, must_not)

    # ---- advanced syntax

    def advanced(self, q: str) -> Sql:
        if len(q) > MAX_ADVANCED_CHARS:
            raise UnsupportedQuery(
                f"The advanced query {_short(q)} has {len(q)} characters, more than the"
                f" {MAX_ADVANCED_CHARS} the local Search service parses; shorten it or split it."
            )
        try:
            node = parse_lucene(q)
        except ParseError as error:
            detail = str(error).replace("Syntax error in input : ", "").rstrip("!").strip()
            # the parser quotes the text it stopped at as it is: a newline in it would
            # break the one-line error, so what cannot be printed is written escaped
            detail = "".join(c if c.isprintable() else repr(c)[1:-1] for c in detail)
            raise QuerySyntaxError(
                f"The advanced query {_short(q)} is not valid query syntax ({detail}); fix it,"
                " or send advanced=false to search it as plain text."
            ) from None
        except RecursionError:
            self._too_deep()
        return self.node(node, field=None, negated=False, depth=0)

    def node(self, node: tree.Item, *, field: str | None, negated: bool, depth: int) -> Sql:
        if depth > MAX_DEPTH:
            self._too_deep()
        down = depth + 1
        if isinstance(node, (tree.Group, tree.FieldGroup)):
            return self.node(node.expr, field=field, negated=negated, depth=down)
        if isinstance(node, tree.AndOperation):
            parts = [self.node(c, field=field, negated=negated, depth=down) for c in node.children]
            return _join(" AND ", parts)
        if isinstance(node, tree.OrOperation):
            parts = [self.node(c, field=field, negated=negated, depth=down) for c in node.children]
            return _join(" OR ", parts)
        if isinstance(node, tree.UnknownOperation):
            must, should, must_not = [], [], []
            for child in node.children:
                if isinstance(child, tree.Plus):
                    must.append(self.node(child.a, field=field, negated=negated, depth=down))
                elif isinstance(child, (tree.Prohibit, tree.Not)):
                    must_not.append(self.node(child.a, field=field, negated=not negated,
                                              depth=down))
                else:
                    should.append(self.node(child, field=field, negated=negated, depth=down))
            return _bool(must, should, must_not)
        if isinstance(node, tree.Plus):
            return self.node(node.a, field=field, negated=negated, depth=down)
        if isinstance(node, (tree.Not, tree.Prohibit)):
            inner = self.node(node.a, field=field, negated=not negated, depth=down)
            return _not(inner)
        if isinstance(node, tree.Boost):  # a boost weighs the ranking, not which entries match
            return self.node(node.expr, field=field, negated=negated, depth=down)
        if isinstance(node, tree.SearchField):
            return self.search_field(node, field=field, negated=negated, depth=down)
        if isinstance(node, (tree.Range, tree.From, tree.To)):
            if field is None:
                raise UnsupportedQuery(
                    f"The advanced query {_short(self.q)} has the range {_short(str(node))}"
                    " without a field; name the field, as in year:[2000 TO 2010]."
                )
            return self.range(node, field)
        if isinstance(node, tree.Fuzzy):
            self._unsupported(node, "a fuzzy term", "drop the '~'")
        if isinstance(node, tree.Proximity):
            self._unsupported(node, "a proximity phrase", "drop the '~N' after the phrase")
        if isinstance(node, tree.Regex):
            self._unsupported(node, "a regular expression", "use * and ? wildcards instead")
        if isinstance(node, tree.Phrase):
            return self.value(_unescape(node.value[1:-1]), field, negated, phrase=True)
        if isinstance(node, tree.Word):
            return self.word(node.value, field, negated)
        self._unsupported(node, f"a {type(node).__name__}", "rewrite it with terms and AND/OR")
        raise AssertionError  # pragma: no cover (_unsupported raises)

    def search_field(self, node: tree.SearchField, *, field: str | None, negated: bool,
                     depth: int) -> Sql:
        name = _unescape(node.name)
        if field is not None:
            raise UnsupportedQuery(
                f"The advanced query {_short(self.q)} names the field {name!r} inside the"
                f" field {field!r}; a field:(...) group takes only values of its own field."
            )
        if name == "_exists_":
            if not isinstance(node.expr, tree.Word):
                raise UnsupportedQuery(
                    f"The advanced query {_short(self.q)} has _exists_:{_short(str(node.expr))};"
                    " _exists_ takes one field name, as in _exists_:metadata.year."
                )
            return self.field_test(_unescape(node.expr.value), "1", ())
        return self.node(node.expr, field=name, negated=negated, depth=depth)

    def word(self, raw: str, field: str | None, negated: bool) -> Sql:
        if raw in ("&&", "||") or raw.startswith("!"):
            operator = raw if raw in ("&&", "||") else "!"
            raise UnsupportedQuery(
                f"The advanced query {_short(self.q)} uses {operator!r}, which the local Search"
                " service does not read as an operator; write AND, OR or NOT instead."
            )
        if raw == "*":
            self._count()
            return self.field_test(field, "1", ()) if field else _ALL
        pattern = _wildcard_pattern(raw)
        if pattern is None:
            return self.value(_unescape(raw), field, negated, phrase=False)
        self._count()
        kind, text = pattern
        if kind == "prefix":
            fts = _fts_phrase(text)
            if fts is None:
                return _NONE
            if not negated:
                self.rank_terms.append(fts + "*")
            if field is None:
                return _TEXT, (fts + "*",)
            return self.field_test(field, _FIELD_TEXT, (fts + "*",))
        if not all(c.isalnum() or c in "*?" for c in text):
            raise UnsupportedQuery(
                f"The advanced query {_short(self.q)} has the wildcard term {raw!r}, which spans"
                " several words; the local Search service matches * and ? within one word"
                " (a trailing * may follow several)."
            )
        glob = _fold(text)
        if field is None:
            return _TEXT_GLOB, (glob,)
        return self.field_test(field, _FIELD_GLOB, (glob,))

    def value(self, text: str, field: str | None, negated: bool, *, phrase: bool) -> Sql:
        """A term or phrase: words anywhere, or in the field; for a field also the number
        or date it spells."""
        self._count()
        fts = _fts_phrase(text)
        if fts is not None and not negated:
            self.rank_terms.append(fts)
        if field is None:
            return (_TEXT, (fts,)) if fts is not None else _NONE
        tests: list[Sql] = []
        if fts is not None:
            tests.append(self.field_test(field, _FIELD_TEXT, (fts,)))
        number = _number(text)
        if number is not None and not phrase:
            tests.append(self.field_test(field, "f.kind = 'number' AND f.num = ?", (number,)))
        low = date_key(text, partial=True)
        high = date_key(text, partial=True, round_up=True)
        if low is not None and high is not None:
            tests.append(self.field_test(field, "f.date >= ? AND f.date <= ?", (low, high)))
        return _join(" OR ", tests) if tests else _NONE

    def range(self, node: tree.Item, field: str) -> Sql:
        self._count()
        if isinstance(node, tree.Range):
            low, high = _bound(node.low), _bound(node.high)
            include_low, include_high = node.include_low, node.include_high
        elif isinstance(node, tree.From):
            low, high, include_low, include_high = _bound(node.a), None, node.include, True
        else:
            assert isinstance(node, tree.To)
            low, high, include_low, include_high = None, _bound(node.a), True, node.include
        if low is None and high is None:
            return self.field_test(field, "1", ())
        above, below = (">=" if include_low else ">"), ("<=" if include_high else "<")
        bounds = [(v, op) for v, op in ((low, above), (high, below)) if v is not None]
        tests: list[Sql] = []
        numbers = [_number(v) for v, _op in bounds]
        if all(n is not None for n in numbers):
            sql = " AND ".join(f"f.num {op} ?" for _v, op in bounds)
            tests.append(self.field_test(field, f"f.kind = 'number' AND {sql}", tuple(numbers)))
        dates = [
            date_key(v, partial=True, round_up=op in (">", "<=")) for v, op in bounds
        ]
        for (value, _op), key in zip(bounds, dates, strict=True):
            if key is None and _DATE.match(value.strip()):
                raise QuerySyntaxError(
                    f"The advanced query {_short(self.q)} has the range bound {value!r}, which"
                    " is not a date; write dates as YYYY-MM-DD, optionally with THH:MM:SS."
                )
        if all(d is not None for d in dates):
            sql = " AND ".join(f"f.date {op} ?" for _v, op in bounds)
            tests.append(self.field_test(field, sql, tuple(dates)))
        if not tests:  # neither numbers nor dates: strings compare as Elasticsearch keywords do
            sql = " AND ".join(f"f.value {op} ?" for _v, op in bounds)
            tests.append(
                self.field_test(field, f"f.kind = 'string' AND {sql}", tuple(v for v, _ in bounds))
            )
        return _join(" OR ", tests)

    def field_test(self, field: str | None, test: str, params: tuple[t.Any, ...]) -> Sql:
        assert field is not None
        if "*" in field or "?" in field:
            name, name_params = "f.field GLOB ?", (field.replace("[", "[[]"),)
        else:
            name, name_params = "f.field = ?", (field,)
        return _FIELD.format(name=name, test=test), (*name_params, *params)

    # ---- limits and refusals

    def _count(self) -> None:
        self.clauses += 1
        if self.clauses > MAX_CLAUSES:
            raise UnsupportedQuery(
                f"The query {_short(self.q)} has more than {MAX_CLAUSES} terms, the most one"
                " query may have (Lucene's max clause count); split it into several queries."
            )

    def _too_deep(self) -> t.NoReturn:
        raise UnsupportedQuery(
            f"The advanced query {_short(self.q)} nests deeper than {MAX_DEPTH} levels of"
            " parentheses and operators; flatten it."
        )

    def _unsupported(self, node: tree.Item, what: str, fix: str) -> t.NoReturn:
        raise UnsupportedQuery(
            f"The advanced query {_short(self.q)} uses {what} ({_short(str(node))}), which the"
            f" local Search service does not evaluate; {fix}."
        )


def _bool(must: list[Sql], should: list[Sql], must_not: list[Sql]) -> Sql:
    """Lucene's boolean query: every ``must``; else at least one ``should``; no ``must_not``
    (and, as in Elasticsearch, only ``must_not`` clauses: everything else)."""
    if must:
        positive = _join(" AND ", must)
    elif should:
        positive = _join(" OR ", should)
    else:
        positive = _ALL
    if not must_not:
        return positive
    return _join(" AND ", [positive, _not(_join(" OR ", must_not))])


def _join(op: str, parts: list[Sql]) -> Sql:
    """``parts`` joined by ``op`` as a balanced tree: SQLite parses ``a OR b OR c ...`` as a
    chain as deep as it is long, and refuses expressions deeper than 1000."""
    if len(parts) == 1:
        return parts[0]
    if len(parts) > 8:
        half = len(parts) // 2
        parts = [_join(op, parts[:half]), _join(op, parts[half:])]
    return "(" + op.join(p[0] for p in parts) + ")", tuple(x for p in parts for x in p[1])


def _not(part: Sql) -> Sql:
    return f"(NOT {part[0]})", part[1]


def _bound(node: tree.Item) -> str | None:
    if isinstance(node, tree.Phrase):
        return _unescape(node.value[1:-1])
    value = _unescape(str(getattr(node, "value", node)))
    return None if value == "*" else value


def _number(text: str) -> float | None:
    if not _NUMBER.match(text.strip()):
        return None
    value = float(text)
    return value if math.isfinite(value) else None


def _wildcard_pattern(raw: str) -> tuple[str, str] | None:
    """``("prefix", text)`` for ``text*``, ``("glob", pattern)`` for other unescaped ``*``/``?``
    (escaped ones are literal), or None for a term without wildcards."""
    out: list[str] = []
    wild: list[int] = []
    escaped = False
    for char in raw:
        if escaped:
            out.append(char if char not in "*?[" else "[" + char + "]")
            escaped = False
        elif char == "\\":
            escaped = True
        elif char in "*?":
            wild.append(len(out))
            out.append(char)
        else:
            out.append(char)
    if not wild:
        return None
    if len(wild) == 1 and out[-1] == "*" and wild[0] == len(out) - 1:
        return "prefix", _unescape(raw[:-1])
    return "glob", "".join(out)


def _fts_phrase(text: str) -> str | None:
    """``text`` as one FTS5 string (a phrase of its words), or None when it has no word."""
    # control characters (NUL ends an FTS5 string early) only separate words
    body = re.sub(r"[\x00-\x1f\x7f]", " ", text)
    if not any(c.isalnum() for c in body):
        return None
    return '"' + body.replace('"', '""') + '"'


def _fold(text: str) -> str:
    """Lower case without diacritics, as the ``unicode61 remove_diacritics 2`` tokenizer
    stores words (for GLOB over the vocabulary)."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def _short(value: t.Any, limit: int = 80) -> str:
    text = value if isinstance(value, str) else repr(value)
    if len(text) > limit:
        text = text[:limit] + "…"
    return repr(text)
