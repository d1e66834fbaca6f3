"""A small expression language over customer-profile fields (tier rules, tags, audiences).

Tier rules (`conf/tiers/*.yaml`), tag definitions (`conf/tags.yaml`) and audiences
(`habitlake audience "EXPR"`) are written in this language. An expression is parsed by a
recursive-descent parser into a tree, type-checked against the profile's schema, and compiled into
a PySpark `Column` built only from `F.col`, `F.lit`, column operators and `pyspark.sql.functions`.
The text is never evaluated by Python and never pasted into SQL, so an expression can only read the
fields it names.

Language reference (also in docs/expressions.md)
------------------------------------------------

Literals
    numbers         2000, 0.6, 1e3
    strings         'Gold', '成都市'       (single quotes; a quote inside is doubled: 'O''Brien')
    booleans        TRUE, FALSE
    dates           DATE '2025-01-01'
Fields
    monthly_spend               a profile column, by its exact name
    hotpot_fan                  a tag id, where tags are available (audiences): true when held
    category_share['beef']      a map<string, number> entry; a missing key (or a null map) is 0
    channel_mix['wholesale']    (same)
    hour_share[20]              an array<number> element, 0-based (hour 20); out of range is 0
Arithmetic (numbers only)
    + - * /  and unary -        division by zero gives null (so the condition is false)
Comparisons
    =  !=  <  <=  >  >=         (== and <> are accepted as aliases of = and !=)
    x BETWEEN a AND b           inclusive: a <= x <= b;  x NOT BETWEEN a AND b
    x IN ('a', 'b')             literal list;            x NOT IN ('a', 'b')
    x IS NULL, x IS NOT NULL
    tags CONTAINS 'x'           array<string> membership; tags NOT CONTAINS 'x'
Logic (keywords are case-insensitive)
    NOT a,  a AND b,  a OR b,  ( ... )     precedence: NOT > AND > OR
    a bare boolean field or tag id is a condition:  is_churned,  NOT in_sichuan
Functions (this whitelist only)
    abs(n), least(n, ...), greatest(n, ...), coalesce(x, y, ...), size(array), lower(s), upper(s)

Types: number, string, boolean, date (timestamp fields compare with dates), map<string,number>,
map<string,string>, array<string>, array<number>. Both sides of a comparison must have the same type
(a date is compared with DATE '...', not with a string); IN lists must be literals of the field's
type; arithmetic is on numbers only.

Nulls follow SQL: a comparison with a null field is unknown, and an unknown condition does not hold
(a compiled boolean expression is never null: unknown becomes false). So `recency_days < 30` does not
select customers who never bought (recency_days is null); write `recency_days IS NULL` for them.

Errors are `ExprError` (a `ValueError`) naming the source (e.g. "conf/tiers/default.yaml rule
'Gold'"), the position with a caret line under the expression, and the problem: unknown field (with
"did you mean"), type mismatch, unknown function, trailing text, anything that is not part of
the language (`;`, backticks, double-quoted strings, comments, unexpanded `{placeholders}`).

API: `parse(text, source)` -> Node; `check(node, fields, source)` -> result type;
`compile(text, schema, source=, extra=, boolean=)` -> Column; `fields_of(schema)` -> {field: type};
`referenced_fields(node)` -> set of field names.
"""
from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from pyspark.sql import Column
from pyspark.sql import functions as F
from pyspark.sql import types as T

NUMBER, STRING, BOOLEAN, DATE, TIMESTAMP = "number", "string", "boolean", "date", "timestamp"
MAP_NUMBER, MAP_STRING = "map<string,number>", "map<string,string>"
ARRAY_STRING, ARRAY_NUMBER = "array<string>", "array<number>"
NULL = "null"  # type of the (internal) null literal; never a field type

KEYWORDS = {"AND", "OR", "NOT", "IN", "IS", "NULL", "BETWEEN", "TRUE", "FALSE", "DATE", "CONTAINS"}
COMPARE_OPS = {"=": "=", "==": "=", "!=": "!=", "<>": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
FUNCTIONS = {  # name -> (min args, max args or None)
    "abs": (1, 1), "least": (2, None), "greatest": (2, None), "coalesce": (2, None),
    "size": (1, 1), "lower": (1, 1), "upper": (1, 1),
}


class ExprError(ValueError):
    """An expression that is not valid: the message names the source, the position and the problem."""

    def __init__(self, problem: str, *, source: str = "<expr>", text: str | None = None, pos: int | None = None):
        self.problem, self.source, self.text, self.pos = problem, source, text, pos
        super().__init__(self._render())

    def _render(self) -> str:
        if self.text is None or self.pos is None:
            return f"{self.source}: {self.problem}"
        pos = max(0, min(self.pos, len(self.text)))
        line_no = self.text.count("\n", 0, pos) + 1
        start = self.text.rfind("\n", 0, pos) + 1
        end = self.text.find("\n", pos)
        line = self.text[start:end if end >= 0 else len(self.text)]
        col = pos - start + 1
        where = f"line {line_no}, column {col}" if "\n" in self.text.strip("\n") else f"column {col}"
        caret = " " * _display_width(line[:col - 1]) + "^"
        return f"{self.source}, {where}: {self.problem}\n    {line}\n    {caret}"


def _display_width(s: str) -> int:
    """Terminal width of `s` (CJK characters take two cells), so the caret lines up."""
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in s)


# --- syntax tree ----------------------------------------------------------------------------------

@dataclass
class Node:
    pos: int = field(kw_only=True)
    text: str = field(kw_only=True, default="", repr=False, compare=False)  # the whole expression
    rtype: str | None = field(kw_only=True, default=None, repr=False, compare=False)  # set by check()


@dataclass
class Literal(Node):
    value: object
    type: str


@dataclass
class Field(Node):
    name: str


@dataclass
class Index(Node):  # map['key'] or array[0]
    base: Node
    key: Node


@dataclass
class Unary(Node):  # '-' (number) or 'NOT' (boolean)
    op: str
    operand: Node


@dataclass
class Binary(Node):  # + - * / on numbers; = != < <= > >= comparisons; AND OR
    op: str
    left: Node
    right: Node


@dataclass
class Between(Node):
    value: Node
    low: Node
    high: Node
    negated: bool = False


@dataclass
class InList(Node):
    value: Node
    items: list[Node]
    negated: bool = False


@dataclass
class IsNull(Node):
    value: Node
    negated: bool = False


@dataclass
class Contains(Node):
    array: Node
    item: Node
    negated: bool = False


@dataclass
class Call(Node):
    name: str
    args: list[Node]


def children(node: Node) -> list[Node]:
    if isinstance(node, Index):
        return [node.base, node.key]
    if isinstance(node, Unary):
        return [node.operand]
    if isinstance(node, Binary):
        return [node.left, node.right]
    if isinstance(node, Between):
        return [node.value, node.low, node.high]
    if isinstance(node, InList):
        return [node.value, *node.items]
    if isinstance(node, IsNull):
        return [node.value]
    if isinstance(node, Contains):
        return [node.array, node.item]
    if isinstance(node, Call):
        return list(node.args)
    return []


def referenced_fields(node: Node) -> set[str]:
    """Every field (or tag id) the expression reads."""
    out: set[str] = set()
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, Field):
            out.add(n.name)
        stack.extend(children(n))
    return out


# --- tokens ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Token:
    kind: str  # num | str | ident | kw | op | ( | ) | [ | ] | , | eof
    value: object
    pos: int
    raw: str


_NUMBER = re.compile(r"(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?")
_IDENT = re.compile(r"[^\W\d]\w*")
_FORBIDDEN = {
    ";": "';' is not part of the expression language (one expression, no statements)",
    "`": "backticks are not part of the expression language (write field names bare)",
    '"': "strings use single quotes: 'text'",
    "|": "'|' is not an operator; write OR",
    "&": "'&' is not an operator; write AND",
    "%": "'%' is not an operator",
    "!": "'!' is not an operator; write NOT (or != for not equal)",
    "$": "'$' is not part of the expression language",
    "{": "braces are not part of the expression language (an unexpanded {value} placeholder?)",
    "}": "braces are not part of the expression language",
    "#": "comments are not part of the expression language",
}


def tokenize(text: str, source: str = "<expr>") -> list[Token]:
    toks: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
            continue
        if text.startswith("--", i) or text.startswith("/*", i):
            raise ExprError("comments are not part of the expression language", source=source, text=text, pos=i)
        if c == "'":
            j, buf = i + 1, []
            while True:
                if j >= n:
                    raise ExprError("unterminated string (missing closing ')", source=source, text=text, pos=i)
                if text[j] == "'":
                    if j + 1 < n and text[j + 1] == "'":
                        buf.append("'")
                        j += 2
                        continue
                    break
                buf.append(text[j])
                j += 1
            toks.append(Token("str", "".join(buf), i, text[i:j + 1]))
            i = j + 1
            continue
        m = _NUMBER.match(text, i)
        if m and (c.isdigit() or c == "."):
            raw = m.group(0)
            after = m.end()
            if after < n and (text[after].isalnum() or text[after] == "_"):
                raise ExprError(f"invalid number {text[i:after + 1]!r}", source=source, text=text, pos=i)
            value: object = float(raw) if any(ch in raw for ch in ".eE") else int(raw)
            toks.append(Token("num", value, i, raw))
            i = after
            continue
        m = _IDENT.match(text, i)
        if m:
            word = m.group(0)
            if word.upper() in KEYWORDS:
                toks.append(Token("kw", word.upper(), i, word))
            else:
                toks.append(Token("ident", word, i, word))
            i = m.end()
            continue
        two = text[i:i + 2]
        if two in ("<=", ">=", "!=", "<>", "=="):
            toks.append(Token("op", two, i, two))
            i += 2
            continue
        if c in "=<>+-*/":
            toks.append(Token("op", c, i, c))
            i += 1
            continue
        if c in "()[],":
            toks.append(Token(c, c, i, c))
            i += 1
            continue
        problem = _FORBIDDEN.get(c, f"unexpected character {c!r}")
        raise ExprError(problem, source=source, text=text, pos=i)
    toks.append(Token("eof", None, n, "end of expression"))
    return toks


# --- parser ---------------------------------------------------------------------------------------

class _Parser:
    def __init__(self, text: str, source: str):
        self.text, self.source = text, source
        self.toks = tokenize(text, source)
        self.i = 0

    # helpers
    @property
    def tok(self) -> Token:
        return self.toks[self.i]

    def peek(self, k: int = 1) -> Token:
        return self.toks[min(self.i + k, len(self.toks) - 1)]

    def advance(self) -> Token:
        t = self.tok
        self.i += 1
        return t

    def at_kw(self, *words: str) -> bool:
        return self.tok.kind == "kw" and self.tok.value in words

    def error(self, problem: str, pos: int | None = None) -> ExprError:
        return ExprError(problem, source=self.source, text=self.text, pos=self.tok.pos if pos is None else pos)

    def expect(self, kind: str, what: str) -> Token:
        if self.tok.kind != kind:
            raise self.error(f"expected {what}, found {self._desc(self.tok)}")
        return self.advance()

    def expect_kw(self, word: str) -> Token:
        if not self.at_kw(word):
            raise self.error(f"expected {word}, found {self._desc(self.tok)}")
        return self.advance()

    @staticmethod
    def _desc(t: Token) -> str:
        return "the end of the expression" if t.kind == "eof" else repr(t.raw)

    def node(self, cls, *args, pos: int, **kw):
        return cls(*args, pos=pos, text=self.text, **kw)

    # grammar
    def parse(self) -> Node:
        if self.tok.kind == "eof":
            raise self.error("empty expression")
        root = self.or_()
        if self.tok.kind != "eof":
            raise self.error(f"unexpected {self._desc(self.tok)} after the end of the expression")
        return root

    def or_(self) -> Node:
        left = self.and_()
        while self.at_kw("OR"):
            pos = self.advance().pos
            left = self.node(Binary, "OR", left, self.and_(), pos=pos)
        return left

    def and_(self) -> Node:
        left = self.not_()
        while self.at_kw("AND"):
            pos = self.advance().pos
            left = self.node(Binary, "AND", left, self.not_(), pos=pos)
        return left

    def not_(self) -> Node:
        if self.at_kw("NOT"):
            pos = self.advance().pos
            return self.node(Unary, "NOT", self.not_(), pos=pos)
        return self.predicate()

    def predicate(self) -> Node:
        left = self.additive()
        t = self.tok
        if t.kind == "op" and t.value in COMPARE_OPS:
            self.advance()
            right = self.additive()
            if self.tok.kind == "op" and self.tok.value in COMPARE_OPS:
                raise self.error("comparisons cannot be chained; combine them with AND (or use BETWEEN)")
            return self.node(Binary, COMPARE_OPS[t.value], left, right, pos=t.pos)
        negated = False
        if self.at_kw("NOT") and self.peek().kind == "kw" and self.peek().value in ("BETWEEN", "IN", "CONTAINS"):
            self.advance()
            negated = True
        if self.at_kw("BETWEEN"):
            pos = self.advance().pos
            low = self.additive()
            self.expect_kw("AND")
            high = self.additive()
            return self.node(Between, left, low, high, negated, pos=pos)
        if self.at_kw("IN"):
            pos = self.advance().pos
            if self.tok.kind != "(":
                raise self.error(f"IN takes a parenthesised list of literals, e.g. x IN ('a', 'b'); "
                                 f"for membership in an array field write <field> CONTAINS 'x'")
            self.advance()
            items = [self.literal_item()]
            while self.tok.kind == ",":
                self.advance()
                items.append(self.literal_item())
            self.expect(")", "',' or ')' in the IN list")
            return self.node(InList, left, items, negated, pos=pos)
        if self.at_kw("CONTAINS"):
            pos = self.advance().pos
            return self.node(Contains, left, self.additive(), negated, pos=pos)
        if self.at_kw("IS"):
            pos = self.advance().pos
            neg = False
            if self.at_kw("NOT"):
                self.advance()
                neg = True
            self.expect_kw("NULL")
            return self.node(IsNull, left, neg, pos=pos)
        return left

    def literal_item(self) -> Node:
        t = self.tok
        if t.kind == "op" and t.value == "-" and self.peek().kind == "num":
            self.advance()
            n = self.advance()
            return self.node(Literal, -n.value, NUMBER, pos=t.pos)
        if t.kind in ("num", "str") or self.at_kw("TRUE", "FALSE", "DATE"):
            return self.primary()
        raise self.error(f"IN lists hold literals (numbers, 'strings', DATE '...'), found {self._desc(t)}")

    def additive(self) -> Node:
        left = self.term()
        while self.tok.kind == "op" and self.tok.value in ("+", "-"):
            t = self.advance()
            left = self.node(Binary, t.value, left, self.term(), pos=t.pos)
        return left

    def term(self) -> Node:
        left = self.unary()
        while self.tok.kind == "op" and self.tok.value in ("*", "/"):
            t = self.advance()
            left = self.node(Binary, t.value, left, self.unary(), pos=t.pos)
        return left

    def unary(self) -> Node:
        if self.tok.kind == "op" and self.tok.value == "-":
            t = self.advance()
            operand = self.unary()
            if isinstance(operand, Literal) and operand.type == NUMBER:
                return self.node(Literal, -operand.value, NUMBER, pos=t.pos)
            return self.node(Unary, "-", operand, pos=t.pos)
        if self.tok.kind == "op" and self.tok.value == "+":
            self.advance()
            return self.unary()
        return self.postfix()

    def postfix(self) -> Node:
        base = self.primary()
        while self.tok.kind == "[":
            pos = self.advance().pos
            key = self.or_()
            self.expect("]", "']'")
            base = self.node(Index, base, key, pos=pos)
        return base

    def primary(self) -> Node:
        t = self.tok
        if t.kind == "num":
            self.advance()
            return self.node(Literal, t.value, NUMBER, pos=t.pos)
        if t.kind == "str":
            self.advance()
            return self.node(Literal, t.value, STRING, pos=t.pos)
        if t.kind == "kw":
            if t.value in ("TRUE", "FALSE"):
                self.advance()
                return self.node(Literal, t.value == "TRUE", BOOLEAN, pos=t.pos)
            if t.value == "DATE":
                self.advance()
                s = self.tok
                if s.kind != "str":
                    raise self.error("DATE must be followed by a quoted ISO date, e.g. DATE '2025-01-01'")
                self.advance()
                try:
                    value = dt.date.fromisoformat(s.value)
                except ValueError:
                    raise self.error(f"{s.raw} is not an ISO date (YYYY-MM-DD)", pos=s.pos) from None
                return self.node(Literal, value, DATE, pos=t.pos)
            if t.value == "NULL":
                raise self.error("NULL can only be tested with IS NULL / IS NOT NULL")
            raise self.error(f"unexpected keyword {t.raw!r}")
        if t.kind == "ident":
            self.advance()
            if self.tok.kind == "(":
                return self.call(t)
            return self.node(Field, t.value, pos=t.pos)
        if t.kind == "(":
            self.advance()
            inner = self.or_()
            self.expect(")", "')'")
            return inner
        if t.kind == "eof":
            raise self.error("the expression ends too early")
        raise self.error(f"unexpected {self._desc(t)}")

    def call(self, name_tok: Token) -> Node:
        name = name_tok.value
        if name.lower() not in FUNCTIONS:
            close = difflib.get_close_matches(name.lower(), FUNCTIONS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise self.error(f"unknown function {name!r}{hint}; functions: {', '.join(sorted(FUNCTIONS))}",
                             pos=name_tok.pos)
        self.advance()  # (
        args: list[Node] = []
        if self.tok.kind != ")":
            args.append(self.or_())
            while self.tok.kind == ",":
                self.advance()
                args.append(self.or_())
        self.expect(")", "',' or ')'")
        lo, hi = FUNCTIONS[name.lower()]
        if len(args) < lo or (hi is not None and len(args) > hi):
            want = f"{lo}" if lo == hi else f"at least {lo}"
            raise self.error(f"{name.lower()}() takes {want} argument(s), got {len(args)}", pos=name_tok.pos)
        return self.node(Call, name.lower(), args, pos=name_tok.pos)


def parse(text: str, source: str = "<expr>") -> Node:
    """The syntax tree of `text`; raises ExprError on anything that is not in the language."""
    if not isinstance(text, str):
        raise ExprError(f"an expression must be text, got {type(text).__name__}", source=source)
    return _Parser(text, source).parse()


# --- types ----------------------------------------------------------------------------------------

_NUMERIC = (T.ByteType, T.ShortType, T.IntegerType, T.LongType, T.FloatType, T.DoubleType, T.DecimalType)


def type_name(dtype: T.DataType) -> str:
    if isinstance(dtype, _NUMERIC):
        return NUMBER
    if isinstance(dtype, (T.StringType, T.VarcharType, T.CharType)):
        return STRING
    if isinstance(dtype, T.BooleanType):
        return BOOLEAN
    if isinstance(dtype, T.DateType):
        return DATE
    if isinstance(dtype, (T.TimestampType, T.TimestampNTZType)):
        return TIMESTAMP
    if isinstance(dtype, T.MapType) and isinstance(dtype.keyType, T.StringType):
        inner = type_name(dtype.valueType)
        if inner in (NUMBER, STRING):
            return f"map<string,{inner}>"
    if isinstance(dtype, T.ArrayType):
        inner = type_name(dtype.elementType)
        if inner in (NUMBER, STRING):
            return f"array<{inner}>"
    return f"unsupported({dtype.simpleString()})"


def fields_of(schema: T.StructType) -> dict[str, str]:
    """Field name -> expression type name ('number', 'string', 'map<string,number>', ...)."""
    return {f.name: type_name(f.dataType) for f in schema.fields}


def _err(node: Node, problem: str, source: str) -> ExprError:
    return ExprError(problem, source=source, text=node.text or None, pos=node.pos)


def _comparable(a: str, b: str) -> bool:
    temporal = {DATE, TIMESTAMP}
    return a == b or (a in temporal and b in temporal) or NULL in (a, b)


def _show(node: Node) -> str:
    """A short description of an operand for error messages."""
    if isinstance(node, Field):
        return f"field {node.name!r}"
    if isinstance(node, Literal):
        return f"literal {node.value!r}" if node.type != DATE else f"DATE '{node.value}'"
    return "expression"


def check(node: Node, fields: Mapping[str, str], source: str = "<expr>") -> str:
    """The result type of `node` over `fields` (name -> type name); ExprError when it is not valid."""
    return _Checker(fields, source).type_of(node)


class _Checker:
    def __init__(self, fields: Mapping[str, str], source: str):
        self.fields, self.source = fields, source

    def fail(self, node: Node, problem: str) -> ExprError:
        return _err(node, problem, self.source)

    def type_of(self, node: Node) -> str:
        node.rtype = getattr(self, f"t_{type(node).__name__}")(node)
        return node.rtype

    def want(self, node: Node, *types: str, role: str) -> str:
        t = self.type_of(node)
        if t not in types:
            raise self.fail(node, f"type mismatch: {role} must be {' or '.join(types)}, "
                                  f"but {_show(node)} is {t}")
        return t

    def t_Literal(self, node: Literal) -> str:
        return node.type

    def t_Field(self, node: Field) -> str:
        if node.name not in self.fields:
            names = list(self.fields)
            close = difflib.get_close_matches(node.name, names, n=3, cutoff=0.6)
            close += [n for n in names if n.lower() == node.name.lower() and n not in close]
            hint = f" (did you mean {', '.join(repr(c) for c in close[:3])}?)" if close else ""
            raise self.fail(node, f"unknown field {node.name!r}{hint}")
        t = self.fields[node.name]
        if t.startswith("unsupported("):
            raise self.fail(node, f"field {node.name!r} has type {t[12:-1]}, which expressions cannot use")
        return t

    def t_Index(self, node: Index) -> str:
        base = self.type_of(node.base)
        if base in (MAP_NUMBER, MAP_STRING):
            self.want(node.key, STRING, role="a map key")
            return NUMBER if base == MAP_NUMBER else STRING
        if base in (ARRAY_NUMBER, ARRAY_STRING):
            key = node.key
            if not (isinstance(key, Literal) and isinstance(key.value, int) and not isinstance(key.value, bool)
                    and key.value >= 0):
                raise self.fail(key, "an array index must be a whole number >= 0 (0-based), e.g. hour_share[20]")
            return NUMBER if base == ARRAY_NUMBER else STRING
        raise self.fail(node, f"type mismatch: [ ] reads a map or array field, but {_show(node.base)} is {base}")

    def t_Unary(self, node: Unary) -> str:
        if node.op == "NOT":
            self.want(node.operand, BOOLEAN, role="the operand of NOT")
            return BOOLEAN
        self.want(node.operand, NUMBER, role="the operand of unary -")
        return NUMBER

    def t_Binary(self, node: Binary) -> str:
        op = node.op
        if op in ("AND", "OR"):
            self.want(node.left, BOOLEAN, role=f"the left side of {op}")
            self.want(node.right, BOOLEAN, role=f"the right side of {op}")
            return BOOLEAN
        if op in "+-*/":
            self.want(node.left, NUMBER, role=f"the left side of {op}")
            self.want(node.right, NUMBER, role=f"the right side of {op}")
            return NUMBER
        lt, rt = self.type_of(node.left), self.type_of(node.right)
        for side, t in ((node.left, lt), (node.right, rt)):
            if t not in (NUMBER, STRING, DATE, TIMESTAMP, BOOLEAN):
                hint = " (read one entry with field['key'])" if t.startswith("map") else (
                    " (test membership with CONTAINS)" if t.startswith("array") else "")
                raise self.fail(side, f"type mismatch: cannot compare {_show(side)} of type {t} with {op}{hint}")
        if not _comparable(lt, rt):
            hint = " (write a date as DATE 'YYYY-MM-DD')" if {lt, rt} & {DATE, TIMESTAMP} and STRING in (lt, rt) else ""
            raise self.fail(node, f"type mismatch: cannot compare {lt} ({_show(node.left)}) "
                                  f"with {rt} ({_show(node.right)}) using {op}{hint}")
        if lt == BOOLEAN and op not in ("=", "!="):
            raise self.fail(node, f"type mismatch: booleans can only be compared with = or !=, not {op}")
        return BOOLEAN

    def t_Between(self, node: Between) -> str:
        t = self.type_of(node.value)
        if t not in (NUMBER, STRING, DATE, TIMESTAMP):
            raise self.fail(node.value, f"type mismatch: BETWEEN needs a number, string or date, "
                                        f"but {_show(node.value)} is {t}")
        for bound in (node.low, node.high):
            bt = self.type_of(bound)
            if not _comparable(t, bt):
                raise self.fail(bound, f"type mismatch: the bounds of BETWEEN must be {t} like "
                                       f"{_show(node.value)}, but {_show(bound)} is {bt}")
        return BOOLEAN

    def t_InList(self, node: InList) -> str:
        t = self.type_of(node.value)
        if t not in (NUMBER, STRING, DATE, TIMESTAMP, BOOLEAN):
            hint = "; for membership in an array field write <field> CONTAINS 'x'" if t.startswith("array") else ""
            raise self.fail(node.value, f"type mismatch: IN needs a number, string, date or boolean on its left, "
                                        f"but {_show(node.value)} is {t}{hint}")
        for item in node.items:
            it = self.type_of(item)
            if not _comparable(t, it):
                raise self.fail(item, f"type mismatch: {_show(node.value)} is {t} but the IN list holds {it} "
                                      f"{_show(item)}")
        return BOOLEAN

    def t_IsNull(self, node: IsNull) -> str:
        self.type_of(node.value)
        return BOOLEAN

    def t_Contains(self, node: Contains) -> str:
        at = self.type_of(node.array)
        if at not in (ARRAY_STRING, ARRAY_NUMBER):
            raise self.fail(node, f"type mismatch: CONTAINS tests membership in an array field, "
                                  f"but {_show(node.array)} is {at}")
        self.want(node.item, STRING if at == ARRAY_STRING else NUMBER, role=f"the item looked for in {at}")
        return BOOLEAN

    def t_Call(self, node: Call) -> str:
        name = node.name
        if name in ("abs", "least", "greatest"):
            for a in node.args:
                self.want(a, NUMBER, role=f"an argument of {name}()")
            return NUMBER
        if name in ("lower", "upper"):
            self.want(node.args[0], STRING, role=f"the argument of {name}()")
            return STRING
        if name == "size":
            self.want(node.args[0], ARRAY_STRING, ARRAY_NUMBER, MAP_NUMBER, MAP_STRING, role="the argument of size()")
            return NUMBER
        if name == "coalesce":
            types = [self.type_of(a) for a in node.args]
            first = types[0]
            for a, t in zip(node.args[1:], types[1:]):
                if not _comparable(first, t):
                    raise self.fail(a, f"type mismatch: coalesce() arguments must share one type, "
                                       f"got {first} and {t}")
            return first
        raise self.fail(node, f"unknown function {name!r}")  # unreachable: the parser checks names


# --- compilation ----------------------------------------------------------------------------------

def compile(text: str | Node, schema: T.StructType, *, source: str = "<expr>",
            extra: Mapping[str, tuple[str, Column | Callable[[], Column]]] | None = None,
            boolean: bool = True) -> Column:
    """`text` as a Column over a frame with `schema` (plus the named `extra` fields, e.g. tag ids as
    boolean columns: {"hotpot_fan": ("boolean", F.array_contains("tags", "hotpot_fan"))}; an extra
    name shadows a schema field of the same name; instead of a Column, a function returning one may be
    given, called only when the expression reads that name). With boolean=True the result must be a
    boolean condition and is never null (unknown -> false)."""
    node = parse(text, source) if isinstance(text, str) else text
    fields = fields_of(schema)
    columns: dict[str, Column] = {}
    for name, (t, col) in (extra or {}).items():
        fields[name] = t
        columns[name] = col
    result = check(node, fields, source)
    if boolean and result != BOOLEAN:
        raise _err(node, f"type mismatch: the expression must be a condition (boolean), but it is {result}",
                   source)
    col = _Compiler(columns).col(node)
    return F.coalesce(col, F.lit(False)) if boolean else col


class _Compiler:
    def __init__(self, columns: Mapping[str, Column]):
        self.columns = columns

    def col(self, node: Node) -> Column:
        return getattr(self, f"c_{type(node).__name__}")(node)

    def c_Literal(self, node: Literal) -> Column:
        return F.lit(node.value)

    def c_Field(self, node: Field) -> Column:
        if node.name not in self.columns:
            return F.col(node.name)
        col = self.columns[node.name]
        return col if isinstance(col, Column) else col()

    def c_Index(self, node: Index) -> Column:
        base_t = node.base.rtype
        base = self.col(node.base)
        if base_t in (MAP_NUMBER, MAP_STRING):
            value = F.try_element_at(base, self.col(node.key))
            return F.coalesce(value, F.lit(0.0)) if base_t == MAP_NUMBER else value
        value = F.try_element_at(base, F.lit(node.key.value + 1))
        return F.coalesce(value, F.lit(0.0)) if base_t == ARRAY_NUMBER else value

    def c_Unary(self, node: Unary) -> Column:
        return ~self.col(node.operand) if node.op == "NOT" else -self.col(node.operand)

    def c_Binary(self, node: Binary) -> Column:
        a, b = self.col(node.left), self.col(node.right)
        op = node.op
        if op == "AND":
            return a & b
        if op == "OR":
            return a | b
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        if op == "*":
            return a * b
        if op == "/":
            return F.try_divide(a, b)
        return {"=": a == b, "!=": a != b, "<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]

    def c_Between(self, node: Between) -> Column:
        v = self.col(node.value)
        inside = (v >= self.col(node.low)) & (v <= self.col(node.high))
        return ~inside if node.negated else inside

    def c_InList(self, node: InList) -> Column:
        inside = self.col(node.value).isin(*[item.value for item in node.items])
        return ~inside if node.negated else inside

    def c_IsNull(self, node: IsNull) -> Column:
        v = self.col(node.value)
        return v.isNotNull() if node.negated else v.isNull()

    def c_Contains(self, node: Contains) -> Column:
        hit = F.array_contains(self.col(node.array), self.col(node.item))
        return ~hit if node.negated else hit

    def c_Call(self, node: Call) -> Column:
        args = [self.col(a) for a in node.args]
        name = node.name
        if name == "abs":
            return F.abs(args[0])
        if name == "least":
            return F.least(*args)
        if name == "greatest":
            return F.greatest(*args)
        if name == "coalesce":
            return F.coalesce(*args)
        if name == "lower":
            return F.lower(args[0])
        if name == "upper":
            return F.upper(args[0])
        if name == "size":
            return F.when(args[0].isNull(), F.lit(0)).otherwise(F.size(args[0]))
        raise ExprError(f"unknown function {name!r}")
