"""The compact string form of a rule: a tokenizer and a recursive-descent parser.

Grammar (keywords are case-insensitive; ``not`` binds tighter than ``and``, ``and`` than ``or``)::

    expression := any END
    any        := all ("or" all)*
    all        := negation ("and" negation)*
    negation   := "not" negation | "(" any ")" | condition
    condition  := FIELD OPERATOR operand
    operand    := nothing                    (is set, is empty)
                | scalar                     (=, !=, <, <=, >, >=)
                | STRING                     (contains, starts with, before, after)
                | scalar "and" scalar        (between)
                | "(" scalar ("," scalar)* [","] ")"   (in, not in)
                | INTEGER ("day" | "days")   (within)
    scalar     := STRING | NUMBER | "true" | "false"

A FIELD is a bare name (``industry``, ``Account.Name``) or any name between backticks; strings are
double-quoted with ``\\"``, ``\\\\``, ``\\n``, ``\\t``, ``\\r`` escapes. Every error is a
``RuleError`` carrying the position of the offending token, what was expected and what was found.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from dataclasses import dataclass

from segment_core.errors import RuleError
from segment_core.rules import AllOf, AnyOf, Condition, Not, Op, Operand, Rule, Scalar
from segment_core.syntax import (
    FIELD_QUOTE,
    IDENTIFIER,
    MAX_NESTING,
    RESERVED_WORDS,
    STRING_QUOTE,
    UNESCAPES,
)

_SPACE = re.compile(r"\s+")
_NUMBER_LIKE = re.compile(r"-?[0-9](?:[\w.]|(?<=[eE])[+-])*")
_NUMBER = re.compile(r"-?[0-9]+(?P<fraction>\.[0-9]+)?(?P<exponent>[eE][+-]?[0-9]+)?")
_SYMBOL = re.compile(r"<=|>=|!=|=|<|>|\(|\)|,")

_OPERATOR_SPELLINGS = sorted(
    ((tuple(op.value.split()), op) for op in Op), key=lambda spelling: -len(spelling[0])
)
"""Each operator as its sequence of tokens, longest first so ``not in`` wins over a lone word."""


class _Kind(enum.Enum):
    WORD = "the word"
    FIELD = "the field"
    STRING = "the string"
    NUMBER = "the number"
    SYMBOL = "a symbol"
    END = "end of input"


@dataclass(frozen=True)
class _Token:
    kind: _Kind
    text: str
    position: int
    value: Scalar | None = None

    @property
    def keyword(self) -> str | None:
        """The text a keyword or symbol would match; quoted tokens never act as keywords."""
        return self.text.lower() if self.kind in (_Kind.WORD, _Kind.SYMBOL) else None

    def __str__(self) -> str:
        if self.kind is _Kind.END:
            return str(self.kind.value)
        if self.kind is _Kind.SYMBOL:
            return f'"{self.text}"'
        return f"{self.kind.value} {self.text}"


def parse_expression(text: str) -> Rule:
    """Parse the string form of a rule, e.g. ``employees >= 1000 and not country = "US"``.

    Raises ``RuleError`` (and nothing else, whatever the input) pointing at the problem.
    """
    return _Parser(text).parse()


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _Tokenizer(text).tokens()
        self.index = 0
        self.depth = 0

    def parse(self) -> Rule:
        rule = self._any()
        if self._peek().kind is not _Kind.END:
            raise self._unexpected('"and", "or" or end of input')
        return rule

    def _any(self) -> Rule:
        rules = [self._all()]
        while self._accept("or"):
            rules.append(self._all())
        return rules[0] if len(rules) == 1 else AnyOf(tuple(rules))

    def _all(self) -> Rule:
        rules = [self._negation()]
        while self._accept("and"):
            rules.append(self._negation())
        return rules[0] if len(rules) == 1 else AllOf(tuple(rules))

    def _negation(self) -> Rule:
        opening = self._peek()
        if self._accept("not"):
            return Not(self._nested(opening, self._negation))
        if self._accept("("):
            rule = self._nested(opening, self._any)
            if not self._accept(")"):
                raise self._unexpected(f'")" to close the "(" at column {opening.position + 1}')
            return rule
        return self._condition()

    def _nested(self, opening: _Token, parse: Callable[[], Rule]) -> Rule:
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise self._error(opening, f"the rule nests more than {MAX_NESTING} levels deep")
        rule = parse()
        self.depth -= 1
        return rule

    def _condition(self) -> Condition:
        field = self._field()
        op = self._operator(field)
        operand_start = self._peek()
        value = self._operand(op)
        try:
            return Condition(field, op, value)
        except RuleError as error:
            raise self._error(operand_start, error.message) from None

    def _field(self) -> str:
        token = self._peek()
        if token.kind is _Kind.WORD and token.keyword not in RESERVED_WORDS:
            self.index += 1
            return token.text
        if token.kind is _Kind.FIELD:
            if not token.value:
                raise self._error(token, "a field name cannot be empty")
            self.index += 1
            return str(token.value)
        raise self._unexpected('a field name, "not" or "("')

    def _operator(self, field: str) -> Op:
        for spelling, op in _OPERATOR_SPELLINGS:
            if all(self._peek(offset).keyword == word for offset, word in enumerate(spelling)):
                self.index += len(spelling)
                return op
        first = self._peek().keyword
        continuations = [spelling[1] for spelling, _ in _OPERATOR_SPELLINGS
                         if len(spelling) > 1 and spelling[0] == first]
        if continuations:
            self.index += 1
            raise self._unexpected(" or ".join(f'"{word}"' for word in continuations))
        spellings = ", ".join(op.value for op in Op)
        raise self._unexpected(f'an operator after field "{field}" (one of {spellings})')

    def _operand(self, op: Op) -> Scalar | tuple[Scalar, ...] | None:
        match op.operand:
            case Operand.NONE:
                return None
            case Operand.SCALAR:
                return self._scalar()
            case Operand.TEXT:
                return self._expect(_Kind.STRING, f'a string after "{op}"').value
            case Operand.PAIR:
                low = self._scalar()
                if not self._accept("and"):
                    raise self._unexpected(f'"and" between the bounds of "{op}"')
                return low, self._scalar()
            case Operand.LIST:
                return self._list(op)
            case Operand.DAYS:
                days = self._expect(_Kind.NUMBER, f'a number of days after "{op}"').value
                if not self._accept("days") and not self._accept("day"):
                    raise self._unexpected('"days"')
                return days

    def _list(self, op: Op) -> tuple[Scalar, ...]:
        if not self._accept("("):
            raise self._unexpected(f'a parenthesised list of values after "{op}"')
        values = [self._scalar()]
        while self._accept(",") and self._peek().keyword != ")":
            values.append(self._scalar())
        if not self._accept(")"):
            raise self._unexpected('"," or ")"')
        return tuple(values)

    def _scalar(self) -> Scalar:
        token = self._peek()
        if token.kind in (_Kind.STRING, _Kind.NUMBER) and token.value is not None:
            self.index += 1
            return token.value
        if token.keyword in ("true", "false"):
            self.index += 1
            return token.keyword == "true"
        hint = " (strings need double quotes)" if token.kind is _Kind.WORD else ""
        raise self._unexpected("a value (a string, a number, true or false)", hint)

    def _peek(self, offset: int = 0) -> _Token:
        return self.tokens[min(self.index + offset, len(self.tokens) - 1)]

    def _accept(self, keyword: str) -> bool:
        if self._peek().keyword == keyword:
            self.index += 1
            return True
        return False

    def _expect(self, kind: _Kind, expected: str) -> _Token:
        token = self._peek()
        if token.kind is not kind:
            raise self._unexpected(expected)
        self.index += 1
        return token

    def _unexpected(self, expected: str, hint: str = "") -> RuleError:
        token = self._peek()
        return self._error(token, f"expected {expected}, found {token}{hint}")

    def _error(self, token: _Token, message: str) -> RuleError:
        return _syntax_error(self.text, token.position, message)


class _Tokenizer:
    def __init__(self, text: str) -> None:
        self.text = text
        self.position = 0

    def tokens(self) -> list[_Token]:
        """Every token of the text, ending with an END token at its end."""
        tokens = []
        while (token := self._next()) is not None:
            tokens.append(token)
        tokens.append(_Token(_Kind.END, "", len(self.text)))
        return tokens

    def _next(self) -> _Token | None:
        if space := _SPACE.match(self.text, self.position):
            self.position = space.end()
        if self.position == len(self.text):
            return None
        start, char = self.position, self.text[self.position]
        if char == STRING_QUOTE:
            return self._quoted(_Kind.STRING)
        if char == FIELD_QUOTE:
            return self._quoted(_Kind.FIELD)
        if number := _NUMBER_LIKE.match(self.text, start):
            return self._number(number.group(), start)
        for kind, pattern in ((_Kind.WORD, IDENTIFIER), (_Kind.SYMBOL, _SYMBOL)):
            if match := pattern.match(self.text, start):
                self.position = match.end()
                return _Token(kind, match.group(), start)
        raise self._error(start, f'unexpected character "{char}"')

    def _number(self, text: str, start: int) -> _Token:
        self.position = start + len(text)
        number = _NUMBER.fullmatch(text)
        if number is None:
            raise self._error(start, f'"{text}" is not a number')
        is_float = number.group("fraction") or number.group("exponent")
        try:
            value = float(text) if is_float else int(text)
        except ValueError:  # more digits than Python will convert
            raise self._error(start, f'"{text[:20]}..." has too many digits') from None
        return _Token(_Kind.NUMBER, text, start, value)

    def _quoted(self, kind: _Kind) -> _Token:
        start = self.position
        delimiter = self.text[start]
        chars = []
        position = start + 1
        while position < len(self.text) and self.text[position] != delimiter:
            char = self.text[position]
            if char == "\\":
                escaped = self.text[position + 1 : position + 2]
                if escaped not in UNESCAPES:
                    raise self._error(position, f'unknown escape "\\{escaped}"')
                char = UNESCAPES[escaped]
                position += 1
            chars.append(char)
            position += 1
        if position == len(self.text):
            noun = "string" if kind is _Kind.STRING else "field name"
            raise self._error(start, f"unterminated {noun}: no closing {delimiter}")
        self.position = position + 1
        return _Token(kind, self.text[start : self.position], start, "".join(chars))

    def _error(self, position: int, message: str) -> RuleError:
        return _syntax_error(self.text, position, message)


def _syntax_error(text: str, position: int, message: str) -> RuleError:
    return RuleError(message, expression=text, position=position)
