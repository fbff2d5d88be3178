"""The SOQL a connector needs: a tokenizer, a recursive-descent parser, a binder that checks
names and types against the org's schema, and an evaluator.

Supported: ``SELECT f1, Parent.f2 | COUNT() FROM Object [WHERE ...] [ORDER BY f [ASC|DESC]
[NULLS FIRST|LAST], ...] [LIMIT n] [OFFSET n]`` with ``= != <> < <= > >= [NOT] IN LIKE INCLUDES
EXCLUDES``, ``AND``/``OR``/``NOT`` and parentheses, string, number, boolean, null, date and
datetime literals. Salesforce's rules are kept where a client can trip on them: ``AND`` and
``OR`` cannot be mixed without parentheses, ``NOT`` only opens a condition, a datetime field
only compares with an unquoted datetime literal, ids must be ids, string comparisons ignore
case, ``!=`` matches nulls, ascending order puts nulls first. Errors carry Salesforce's codes
and messages, rendered with its excerpt-and-caret preamble (captured, see ``render``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cmp_to_key
from typing import Any, Literal, Protocol

from connectors.sandbox.salesforce import ids
from connectors.sandbox.salesforce.schema import (
    ID_TYPES,
    NUMBER_TYPES,
    TEXT_TYPES,
    FieldDef,
    ObjectSchema,
)
from connectors.sandbox.salesforce.values import parse_date, parse_datetime

KEYWORDS = frozenset({
    "SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IN", "LIKE", "INCLUDES", "EXCLUDES",
    "ORDER", "BY", "ASC", "DESC", "NULLS", "FIRST", "LAST", "LIMIT", "OFFSET", "NULL", "TRUE",
    "FALSE", "GROUP", "HAVING", "WITH", "USING", "FOR",
})
EXCERPT_BEFORE = 36
EXCERPT_AFTER = 35
"""How far around the error the message's excerpt reaches, in characters, whole words only
(fitted to captured messages: the excerpt starts at the first word beginning at most 36
characters before the error and ends with the last word ending within 35 after it)."""

NO_SUCH_COLUMN = (
    "No such column '{name}' on entity '{entity}'. If you are attempting to use a custom "
    "field, be sure to append the '__c' after the custom field name. Please reference your "
    "WSDL or the describe call for the appropriate names."
)
NO_SUCH_RELATIONSHIP = (
    "Didn't understand relationship '{name}' in field path. If you are attempting to use a "
    "custom relationship, be sure to append the '__r' after the custom relationship name. "
    "Please reference your WSDL or the describe call for the appropriate names."
)
NO_SUCH_TYPE = (
    "sObject type '{name}' is not supported. If you are attempting to use a custom object, be "
    "sure to append the '__c' after the entity name. Please reference your WSDL or the "
    "describe call for the appropriate names."
)


class SoqlError(Exception):
    """A rejected query: Salesforce's ``errorCode``, message, and where in the query (or None
    when Salesforce reports no position)."""

    def __init__(self, error_code: str, message: str, position: int | None) -> None:
        super().__init__(message)
        self.error_code = error_code
        self.message = message
        self.position = position

    def render(self, query: str) -> str:
        """The message as Salesforce words it, e.g. (captured from a real org)::

            \\nSELECT Asdf FROM Contact\\n       ^\\nERROR at Row:1:Column:8\\nNo such column ...
        """
        if self.position is None:
            return self.message
        line_start = query.rfind("\n", 0, self.position) + 1
        line_end = query.find("\n", self.position)
        line = query[line_start:line_end if line_end >= 0 else len(query)]
        column = self.position - line_start
        words = [(m.start(), m.end()) for m in re.finditer(r"\S+", line)]
        kept = [(s, e) for s, e in words
                if (s >= column - EXCERPT_BEFORE and e <= column + EXCERPT_AFTER)
                or s <= column < e]
        start = kept[0][0] if kept else column
        end = kept[-1][1] if kept else column
        row = query.count("\n", 0, self.position) + 1
        return (f"\n{line[start:end]}\n{' ' * (column - start)}^\n"
                f"ERROR at Row:{row}:Column:{column + 1}\n{self.message}")


def _unexpected(token: Token) -> SoqlError:
    text = "<EOF>" if token.kind == "eof" else token.text
    return SoqlError("MALFORMED_QUERY", f"unexpected token: '{text}'", token.position)


# -- tokens ---------------------------------------------------------------------------------

TokenKind = Literal["ident", "string", "number", "date", "datetime", "op", "punct", "eof"]

_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:Z|[+-]\d{2}:\d{2}))
  | (?P<date>\d{4}-\d{2}-\d{2})(?![\dT])
  | (?P<number>-?\d+(?:\.\d+)?)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op><=|>=|!=|<>|=|<|>)
  | (?P<punct>[(),.])
""", re.VERBOSE)
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", "'": "'", '"': '"',
            "\\": "\\"}


@dataclass(frozen=True)
class Token:
    """A lexeme; ``value`` is the decoded content of a string literal."""

    kind: TokenKind
    text: str
    position: int
    value: str = ""

    def keyword(self, *words: str) -> bool:
        """Whether this is one of the keywords ``words`` (case-insensitively)."""
        return self.kind == "ident" and self.text.upper() in words


def tokenize(query: str) -> list[Token]:
    """The query's tokens, ending with an ``eof`` token."""
    tokens: list[Token] = []
    position = 0
    while position < len(query):
        if query[position] == "'":
            token, position = _string(query, position)
            tokens.append(token)
            continue
        match = _TOKEN.match(query, position)
        if match is None:
            raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{query[position]}'",
                            position)
        kind = match.lastgroup
        if kind != "ws":
            tokens.append(Token(kind, match.group(), position))  # type: ignore[arg-type]
        position = match.end()
    tokens.append(Token("eof", "", len(query)))
    return tokens


def _string(query: str, start: int) -> tuple[Token, int]:
    """A quoted literal; backslash escapes as in ``format_soql`` (``\\%`` and ``\\_`` stay
    escaped for LIKE)."""
    chars: list[str] = []
    position = start + 1
    while position < len(query):
        ch = query[position]
        if ch == "\\" and position + 1 < len(query):
            nxt = query[position + 1]
            chars.append(_ESCAPES.get(nxt, "\\" + nxt))
            position += 2
        elif ch == "'":
            text = query[start:position + 1]
            return Token("string", text, start, "".join(chars)), position + 1
        else:
            chars.append(ch)
            position += 1
    raise SoqlError("MALFORMED_QUERY", "unexpected token: '<EOF>'", len(query))


# -- syntax tree ----------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldRef:
    """``Name`` or ``Relationship.Name`` as written."""

    parts: tuple[str, ...]
    position: int


@dataclass(frozen=True)
class ValueLiteral:
    """A literal value; ``kind`` says how it was written."""

    kind: Literal["string", "number", "date", "datetime", "boolean", "null"]
    value: Any
    position: int


@dataclass(frozen=True)
class Comparison:
    """``field op value``; for IN, INCLUDES and EXCLUDES ``value`` is a list of literals."""

    field: FieldRef
    operator: str
    value: ValueLiteral | list[ValueLiteral]


@dataclass(frozen=True)
class Logical:
    """``AND``/``OR`` of two or more conditions, or ``NOT`` of one."""

    operator: Literal["AND", "OR", "NOT"]
    operands: tuple[Condition, ...]


Condition = Comparison | Logical


@dataclass(frozen=True)
class OrderItem:
    """One ORDER BY term."""

    field: FieldRef
    descending: bool
    nulls_first: bool


@dataclass(frozen=True)
class Query:
    """A parsed query, names not yet checked."""

    fields: tuple[FieldRef, ...]
    count: bool
    sobject: str
    sobject_position: int
    where: Condition | None
    order: tuple[OrderItem, ...]
    limit: int | None
    offset: int | None


def parse(query: str) -> Query:
    """The syntax tree of ``query``; SoqlError (MALFORMED_QUERY) on bad syntax."""
    return _Parser(tokenize(query)).query()


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self._tokens = tokens
        self._index = 0

    def _peek(self, ahead: int = 0) -> Token:
        return self._tokens[min(self._index + ahead, len(self._tokens) - 1)]

    def _next(self) -> Token:
        token = self._peek()
        self._index += 1
        return token

    def _expect_keyword(self, word: str) -> Token:
        token = self._next()
        if not token.keyword(word):
            raise _unexpected(token)
        return token

    def _expect_punct(self, text: str) -> Token:
        token = self._next()
        if token.kind != "punct" or token.text != text:
            raise _unexpected(token)
        return token

    def query(self) -> Query:
        self._expect_keyword("SELECT")
        fields, count = self._select_list()
        self._expect_keyword("FROM")
        sobject = self._next()
        if sobject.kind != "ident" or sobject.text.upper() in KEYWORDS:
            raise _unexpected(sobject)
        where = None
        if self._peek().keyword("WHERE"):
            self._next()
            where = self._condition()
        order: tuple[OrderItem, ...] = ()
        if self._peek().keyword("ORDER"):
            self._next()
            self._expect_keyword("BY")
            order = self._order_list()
        limit = self._integer_clause("LIMIT")
        offset = self._integer_clause("OFFSET")
        end = self._next()
        if end.kind != "eof":
            raise _unexpected(end)
        return Query(tuple(fields), count, sobject.text, sobject.position, where, order,
                     limit, offset)

    def _select_list(self) -> tuple[list[FieldRef], bool]:
        if self._peek().keyword("COUNT") and self._peek(1).text == "(":
            self._next()
            self._next()
            self._expect_punct(")")
            return [], True
        fields = [self._field()]
        while self._peek().text == ",":
            self._next()
            fields.append(self._field())
        return fields, False

    def _field(self) -> FieldRef:
        first = self._next()
        if first.kind != "ident" or first.text.upper() in KEYWORDS:
            raise _unexpected(first)
        parts = [first.text]
        while self._peek().text == ".":
            self._next()
            part = self._next()
            if part.kind != "ident":
                raise _unexpected(part)
            parts.append(part.text)
        return FieldRef(tuple(parts), first.position)

    def _condition(self) -> Condition:
        """A run of operands joined by one kind of operator; NOT may open it."""
        if self._peek().keyword("NOT"):
            self._next()
            operands: list[Condition] = [Logical("NOT", (self._operand(),))]
        else:
            operands = [self._operand()]
        operator: str | None = None
        while self._peek().keyword("AND", "OR"):
            token = self._next()
            if operator is not None and token.text.upper() != operator:
                raise _unexpected(token)
            operator = token.text.upper()
            if self._peek().keyword("NOT"):
                raise _unexpected(self._peek())
            operands.append(self._operand())
        if operator is None:
            return operands[0]
        return Logical(operator, tuple(operands))  # type: ignore[arg-type]

    def _operand(self) -> Condition:
        if self._peek().text == "(":
            self._next()
            inner = self._condition()
            self._expect_punct(")")
            return inner
        return self._comparison()

    def _comparison(self) -> Comparison:
        target = self._field()
        token = self._next()
        if token.kind == "op":
            return Comparison(target, "!=" if token.text == "<>" else token.text,
                              self._literal())
        if token.keyword("LIKE"):
            return Comparison(target, "LIKE", self._literal())
        if token.keyword("NOT"):
            self._expect_keyword("IN")
            return Comparison(target, "NOT IN", self._literal_list())
        if token.keyword("IN", "INCLUDES", "EXCLUDES"):
            return Comparison(target, token.text.upper(), self._literal_list())
        raise _unexpected(token)

    def _literal_list(self) -> list[ValueLiteral]:
        self._expect_punct("(")
        values = [self._literal()]
        while self._peek().text == ",":
            self._next()
            values.append(self._literal())
        self._expect_punct(")")
        return values

    def _literal(self) -> ValueLiteral:
        token = self._next()
        if token.kind == "string":
            return ValueLiteral("string", token.value, token.position)
        if token.kind == "number":
            return ValueLiteral("number", float(token.text), token.position)
        if token.kind == "date":
            day = parse_date(token.text)
            if day is None:
                raise _unexpected(token)
            return ValueLiteral("date", day, token.position)
        if token.kind == "datetime":
            ms = parse_datetime(token.text)
            if ms is None:
                raise _unexpected(token)
            return ValueLiteral("datetime", ms, token.position)
        if token.keyword("TRUE", "FALSE"):
            return ValueLiteral("boolean", token.text.upper() == "TRUE", token.position)
        if token.keyword("NULL"):
            return ValueLiteral("null", None, token.position)
        raise _unexpected(token)

    def _order_list(self) -> tuple[OrderItem, ...]:
        items = [self._order_item()]
        while self._peek().text == ",":
            self._next()
            items.append(self._order_item())
        return tuple(items)

    def _order_item(self) -> OrderItem:
        target = self._field()
        descending = False
        if self._peek().keyword("ASC", "DESC"):
            descending = self._next().text.upper() == "DESC"
        nulls_first = not descending
        if self._peek().keyword("NULLS"):
            self._next()
            token = self._next()
            if not token.keyword("FIRST", "LAST"):
                raise _unexpected(token)
            nulls_first = token.text.upper() == "FIRST"
        return OrderItem(target, descending, nulls_first)

    def _integer_clause(self, keyword: str) -> int | None:
        if not self._peek().keyword(keyword):
            return None
        self._next()
        token = self._next()
        if token.kind != "number" or not token.text.isdigit():
            raise _unexpected(token)
        return int(token.text)


# -- binding and evaluation -----------------------------------------------------------------


class Source(Protocol):
    """Where a query's objects, visibility and rows come from (the org, or Tooling's view)."""

    def schema(self, sobject: str) -> ObjectSchema | None: ...

    def field_visible(self, sobject: str, field: str) -> bool: ...

    def rows(self, sobject: str, include_deleted: bool = False) -> Sequence[Any]: ...

    def value(self, record: Any, name: str) -> Any: ...

    def get(self, record_id: str) -> Any: ...


@dataclass(frozen=True)
class Column:
    """A resolved SELECT, WHERE or ORDER BY field. ``relationship`` is the reference field
    followed first (``AccountId`` for ``Account.Name``), None for the object's own field."""

    path: tuple[str, ...]
    definition: FieldDef
    relationship: FieldDef | None = None
    parent_type: str | None = None

    def read(self, source: Source, record: Any) -> Any:
        """The column's stored value on ``record`` (None through a missing parent)."""
        if self.relationship is None:
            return source.value(record, self.definition.name)
        parent_id = source.value(record, self.relationship.name)
        parent = source.get(parent_id) if parent_id else None
        return source.value(parent, self.definition.name) if parent is not None else None


@dataclass
class BoundQuery:
    """A query checked against the schema, ready to run against ``source``."""

    sobject: str
    count: bool
    columns: list[Column]
    predicate: Callable[[Any], bool]
    order: list[tuple[Column, bool, bool]]
    limit: int | None
    offset: int | None
    source: Source = field(repr=False)

    def run(self, include_deleted: bool) -> list[Any]:
        """Matching rows, ordered, offset and limited."""
        rows = [r for r in self.source.rows(self.sobject, include_deleted) if self.predicate(r)]
        if self.order:
            rows.sort(key=cmp_to_key(self._compare))
        start = self.offset or 0
        end = None if self.limit is None else start + self.limit
        return rows[start:end]

    def _compare(self, a: Any, b: Any) -> int:
        for column, descending, nulls_first in self.order:
            left, right = column.read(self.source, a), column.read(self.source, b)
            if left is None or right is None:
                if left is None and right is None:
                    continue
                return -1 if (left is None) == nulls_first else 1
            left_key, right_key = _sort_key(column, left), _sort_key(column, right)
            if left_key != right_key:
                result = -1 if left_key < right_key else 1
                return -result if descending else result
        return 0


def bind(query: Query, source: Source) -> BoundQuery:
    """Resolve names and check literal types; SoqlError with Salesforce's code otherwise."""
    schema = source.schema(query.sobject)
    if schema is None:
        raise SoqlError("INVALID_TYPE", NO_SUCH_TYPE.format(name=query.sobject),
                        query.sobject_position)
    resolve = _Resolver(schema, source)
    columns = [resolve(f) for f in query.fields]
    predicate: Callable[[Any], bool] = (
        _compile(query.where, resolve, source) if query.where is not None else lambda _r: True
    )
    order = []
    for item in query.order:
        column = resolve(item.field)
        if column.definition.type == "multipicklist" or (
                column.definition.type == "textarea" and column.definition.length > 255):
            raise SoqlError("INVALID_FIELD",
                            f"field '{column.definition.name}' can not be sorted in a query call",
                            item.field.position)
        order.append((column, item.descending, item.nulls_first))
    return BoundQuery(schema.name, query.count, columns, predicate, order, query.limit,
                      query.offset, source)


class _Resolver:
    """Turns written field references into columns, enforcing visibility."""

    def __init__(self, schema: ObjectSchema, source: Source) -> None:
        self._schema = schema
        self._source = source

    def __call__(self, ref: FieldRef) -> Column:
        if len(ref.parts) == 1:
            definition = self._field(self._schema, ref.parts[0], ref)
            return Column((definition.name,), definition)
        if len(ref.parts) > 2:
            raise SoqlError("INVALID_FIELD", NO_SUCH_RELATIONSHIP.format(name=ref.parts[1]),
                            ref.position)
        link = self._schema.relationship(ref.parts[0])
        if link is None or not self._source.field_visible(self._schema.name, link.name):
            raise SoqlError("INVALID_FIELD", NO_SUCH_RELATIONSHIP.format(name=ref.parts[0]),
                            ref.position)
        parent = self._source.schema(link.reference_to[0])
        assert parent is not None  # every reference in the schema targets a known object
        definition = self._field(parent, ref.parts[1], ref)
        return Column((link.relationship_name or "", definition.name), definition, link,
                      parent.name)

    def _field(self, schema: ObjectSchema, name: str, ref: FieldRef) -> FieldDef:
        definition = schema.field(name)
        if definition is None or not self._source.field_visible(schema.name, definition.name):
            written = ".".join(ref.parts)
            raise SoqlError("INVALID_FIELD",
                            NO_SUCH_COLUMN.format(name=written, entity=schema.name),
                            ref.position)
        return definition


def _compile(condition: Condition, resolve: _Resolver, source: Source) -> Callable[[Any], bool]:
    if isinstance(condition, Logical):
        parts = [_compile(c, resolve, source) for c in condition.operands]
        if condition.operator == "NOT":
            return lambda r: not parts[0](r)
        if condition.operator == "AND":
            return lambda r: all(p(r) for p in parts)
        return lambda r: any(p(r) for p in parts)
    column = resolve(condition.field)
    test = _comparison(column, condition)
    return lambda r: test(column.read(source, r))


def _comparison(column: Column, condition: Comparison) -> Callable[[Any], bool]:
    """A test of one stored value, literals checked and normalised once."""
    definition = column.definition
    operator = condition.operator
    position = condition.field.position
    if operator in ("INCLUDES", "EXCLUDES") and definition.type != "multipicklist":
        raise SoqlError("INVALID_FIELD", "includes or excludes operator only valid on "
                        "multipicklist field", position)
    if operator == "LIKE" and definition.type not in TEXT_TYPES | ID_TYPES:
        raise SoqlError("INVALID_FIELD", f"invalid operator on {definition.type} field",
                        position)
    literals = condition.value if isinstance(condition.value, list) else [condition.value]
    values = [_literal_value(definition, lit, position) for lit in literals]
    if operator in ("INCLUDES", "EXCLUDES"):
        wanted = [_picks(v) for v in values if v is not None]
        include = operator == "INCLUDES"
        return lambda v: v is not None and (any(w <= _picks(v) for w in wanted) == include)
    if operator == "LIKE":
        pattern = _like(values[0]) if values[0] is not None else None
        return lambda v: (v is not None and pattern is not None
                          and pattern.fullmatch(str(v)) is not None)
    keys = [_match_key(definition, v) for v in values]
    if operator in ("IN", "NOT IN"):
        present = {k for k in keys if k is not None}
        negate = operator == "NOT IN"
        return lambda v: (v is None and negate) or (
            v is not None and (_match_key(definition, v) in present) != negate)
    key = keys[0]
    if operator == "=":
        return lambda v: v is None if key is None else (
            v is not None and _match_key(definition, v) == key)
    if operator == "!=":
        return lambda v: v is not None if key is None else (
            v is None or _match_key(definition, v) != key)
    bound = _sort_key(column, values[0]) if values[0] is not None else None
    relation: Callable[[Any, Any], bool] = {
        "<": lambda a, b: a < b, "<=": lambda a, b: a <= b,
        ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
    }[operator]
    return lambda v: (v is not None and bound is not None
                      and relation(_sort_key(column, v), bound))


def _literal_value(definition: FieldDef, literal: ValueLiteral, position: int) -> Any:
    """The literal as a stored value of the field's type, or Salesforce's complaint."""
    if literal.kind == "null":
        return None
    kind = definition.type
    if kind in ID_TYPES:
        if literal.kind != "string":
            raise _type_error(definition, "string", quoted=True, position=position)
        id18 = ids.normalise(literal.value)
        if id18 is None:
            raise SoqlError("INVALID_QUERY_FILTER_OPERATOR",
                            f"invalid ID field: {literal.value}", position)
        return id18
    if kind in TEXT_TYPES:
        if literal.kind != "string":
            raise _type_error(definition, "string", quoted=True, position=position)
        return literal.value
    expected = {"boolean": ("boolean", "boolean"), "date": ("date", "date"),
                "datetime": ("datetime", "dateTime"), "int": ("number", "integer"),
                "double": ("number", "double"), "currency": ("number", "double")}.get(kind)
    if expected is not None and literal.kind != expected[0]:
        raise _type_error(definition, expected[1], quoted=False, position=position)
    return literal.value


def _type_error(definition: FieldDef, type_name: str, *, quoted: bool,
                position: int) -> SoqlError:
    """Salesforce's message for a literal of the wrong kind (captured for date, dateTime and
    double; the string and integer variants follow the same pattern)."""
    should = "should be enclosed in quotes" if quoted else "should not be enclosed in quotes"
    return SoqlError("INVALID_FIELD", f"value of filter criterion for field "
                     f"'{definition.name}' must be of type {type_name} and {should}", position)


def _match_key(definition: FieldDef, value: Any) -> Any:
    """What equality compares: text without case, ids by their 18-character form, a
    multi-select as its set of values; null stays None."""
    if value is None:
        return None
    if definition.type == "multipicklist":
        return frozenset(_picks(value))
    if definition.type in TEXT_TYPES:
        return str(value).casefold()
    if definition.type in NUMBER_TYPES:
        return float(value)
    return value


def _sort_key(column: Column, value: Any) -> Any:
    definition = column.definition
    if definition.type in TEXT_TYPES:
        return str(value).casefold()
    if definition.type in NUMBER_TYPES:
        return float(value)
    return value


def _picks(value: Any) -> frozenset[str]:
    return frozenset(p.strip().casefold() for p in str(value).split(";") if p.strip())


def _like(pattern: str) -> re.Pattern[str]:
    """LIKE as a regex: ``%`` any run, ``_`` one character, ``\\%``/``\\_`` literal; case
    does not matter."""
    parts: list[str] = []
    index = 0
    while index < len(pattern):
        ch = pattern[index]
        if ch == "\\" and index + 1 < len(pattern) and pattern[index + 1] in "%_":
            parts.append(re.escape(pattern[index + 1]))
            index += 2
            continue
        parts.append(".*" if ch == "%" else "." if ch == "_" else re.escape(ch))
        index += 1
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL)
