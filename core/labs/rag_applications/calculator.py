"""Give the model a calculator: program-aided arithmetic.

Instead of answering a word problem with a number, the model writes one arithmetic expression (`4 * 6 - 5`) and
this module computes it. Model output is never handed to Python's own evaluator: the expression is parsed into a
syntax tree and walked by a small interpreter that knows numbers, + - * / // % **, unary signs and parentheses,
and nothing else. Anything else (names, calls, attribute access, strings, ...) is refused with a sentence that
names what was found, before anything is computed.

Sizes are bounded so that no expression can make the page slow: at most MAX_CHARS characters, MAX_NODES numbers
and operators, MAX_DEPTH levels of nesting, exponents of at most MAX_EXPONENT, and no value (intermediate or
final) above MAX_MAGNITUDE in absolute value. A power is checked *before* it is computed (via logarithms), so
`9**9**9` is refused at once rather than after building a number with 370 million digits.

Also here: pulling the expression out of a chatty reply (`extract_expression`), reading the number a model wrote
when it answered directly (`parse_number`), and the two few-shot prompts the lab compares (`pal_messages`,
`direct_messages`).
"""
from __future__ import annotations

import ast
import math
import re
from collections.abc import Sequence

MAX_CHARS = 200
MAX_EXPONENT = 64
MAX_MAGNITUDE = 1e15
MAX_NODES = 60          # numbers and operators together
MAX_DEPTH = 32          # levels of nesting in the syntax tree
SIGNIFICANT_DIGITS = 10

PAL_INSTRUCTION = ("Write one Python arithmetic expression that computes the answer. "
                   "Reply with the expression only.")
DIRECT_INSTRUCTION = "Answer with the number only."

_ALLOWED = "Only numbers, the operators + - * / // % ** and parentheses are allowed"
_UNICODE_SIGNS = str.maketrans({"×": "*", "÷": "/", "−": "-"})
_BIN_OPS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow)
_UNARY_OPS = (ast.USub, ast.UAdd)
_OP_SYMBOLS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//", ast.Mod: "%",
               ast.Pow: "**", ast.BitAnd: "&", ast.BitOr: "|", ast.BitXor: "^", ast.LShift: "<<",
               ast.RShift: ">>", ast.MatMult: "@", ast.Invert: "~", ast.Not: "not"}


class CalculatorError(ValueError):
    """An expression the calculator will not compute (the message says why, for a learner)."""


# --------------------------------------------------------------------------------------------------- evaluate

def evaluate(expression: str) -> int | float:
    """The value of an arithmetic expression: an int when it is a whole number, else a float rounded to
    SIGNIFICANT_DIGITS significant digits. Raises CalculatorError for anything that is not plain arithmetic,
    or that is too big, or that divides by zero."""
    if not isinstance(expression, str):
        raise CalculatorError(f"The expression must be text, not {type(expression).__name__}.")
    if len(expression) > MAX_CHARS:
        raise CalculatorError(f"The expression is too long (at most {MAX_CHARS} characters; "
                              f"this one has {len(expression)}).")
    source = expression.translate(_UNICODE_SIGNS).strip()
    if not source:
        raise CalculatorError("The expression is empty.")
    try:
        tree = ast.parse(source, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        raise CalculatorError(f"That is not an arithmetic expression: `{_short(source)}` does not parse "
                              f"as one.") from None
    _check(tree.body, source)
    parts = sum(isinstance(node, (ast.Constant, ast.BinOp, ast.UnaryOp)) for node in ast.walk(tree.body))
    if parts > MAX_NODES:
        raise CalculatorError(f"The expression has too many parts (at most {MAX_NODES} numbers and operators; "
                              f"this one has {parts}).")
    if _depth(tree.body) > MAX_DEPTH:
        raise CalculatorError(f"The expression is nested too deeply (at most {MAX_DEPTH} levels).")
    value = _compute(tree.body)
    return _tidy(value)


def _check(node: ast.AST, source: str) -> None:
    """Refuse anything outside the whitelist, in reading order (outermost first), before computing anything.
    (Recursion is bounded: MAX_CHARS characters make at most a couple of hundred levels.)"""
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise CalculatorError(f"{_ALLOWED}; found {_describe(node, source)}.")
        if not _finite(value) or abs(value) > MAX_MAGNITUDE:
            raise CalculatorError(f"The number {_short(_segment(node, source))} is too large "
                                  f"(at most {_magnitude_text()} in absolute value).")
    elif isinstance(node, ast.BinOp) and isinstance(node.op, _BIN_OPS):
        pass
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, _UNARY_OPS):
        pass
    elif isinstance(node, ast.Tuple):
        raise CalculatorError(f"Commas are not allowed: write 1200, not 1,200 "
                              f"(found `{_short(_segment(node, source))}`).")
    else:
        raise CalculatorError(f"{_ALLOWED}; found {_describe(node, source)}.")
    if isinstance(node, ast.BinOp):
        _check(node.left, source)
        _check(node.right, source)
    elif isinstance(node, ast.UnaryOp):
        _check(node.operand, source)


def _depth(node: ast.AST) -> int:
    if isinstance(node, ast.BinOp):
        return 1 + max(_depth(node.left), _depth(node.right))
    if isinstance(node, ast.UnaryOp):
        return 1 + _depth(node.operand)
    return 1


def _compute(node: ast.AST) -> int | float:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.UnaryOp):
        operand = _compute(node.operand)
        return -operand if isinstance(node.op, ast.USub) else +operand
    assert isinstance(node, ast.BinOp)          # _check let nothing else through
    left, right = _compute(node.left), _compute(node.right)
    op = node.op
    try:
        if isinstance(op, ast.Pow):
            value = _power(left, right)
        elif isinstance(op, (ast.Div, ast.FloorDiv, ast.Mod)) and right == 0:
            raise CalculatorError("Division by zero: the expression divides by 0.")
        elif isinstance(op, ast.Add):
            value = left + right
        elif isinstance(op, ast.Sub):
            value = left - right
        elif isinstance(op, ast.Mult):
            value = left * right
        elif isinstance(op, ast.Div):
            value = left / right
        elif isinstance(op, ast.FloorDiv):
            value = left // right
        else:
            value = left % right
    except OverflowError:
        value = math.inf
    if isinstance(value, complex) or not _finite(value) or abs(value) > MAX_MAGNITUDE:
        raise CalculatorError(f"The result of {_num(left)} {_OP_SYMBOLS[type(op)]} {_num(right)} is too large "
                              f"(the calculator works with numbers up to {_magnitude_text()} "
                              f"in absolute value).")
    return value


def _power(base: int | float, exponent: int | float) -> int | float:
    """base ** exponent, refused before computing when it would be huge (so 9**9**9 costs nothing)."""
    if abs(exponent) > MAX_EXPONENT:
        raise CalculatorError(f"The exponent {_num(exponent)} is too large (at most {MAX_EXPONENT}).")
    if base == 0:
        if exponent < 0:
            raise CalculatorError("Division by zero: 0 cannot be raised to a negative power.")
        return base ** exponent
    if base < 0 and not float(exponent).is_integer():
        raise CalculatorError(f"A negative number cannot be raised to a fractional power: "
                              f"({_num(base)}) ** {_num(exponent)}.")
    # log10|result| = exponent * log10|base|; a little slack here, the exact bound is checked on the result.
    if exponent * math.log10(abs(base)) > math.log10(MAX_MAGNITUDE) + 1:
        raise CalculatorError(f"The result of {_num(base)} ** {_num(exponent)} is too large (the calculator "
                              f"works with numbers up to {_magnitude_text()} in absolute value).")
    return base ** exponent


def _finite(value: int | float) -> bool:
    return isinstance(value, int) or math.isfinite(value)


def _tidy(value: int | float) -> int | float:
    if isinstance(value, int):
        return value
    if value.is_integer():
        return int(value)
    rounded = float(f"{value:.{SIGNIFICANT_DIGITS}g}")
    return int(rounded) if rounded.is_integer() else rounded


def _describe(node: ast.AST, source: str) -> str:
    """What a refused node is, in words, with the text it came from."""
    text = _short(_segment(node, source))
    if isinstance(node, ast.Call):
        return f"a function call `{_short(_segment(node.func, source))}(...)`"
    if isinstance(node, ast.Name):
        return f"a name `{node.id}` (the calculator knows no variables)"
    if isinstance(node, ast.Attribute):
        return f"attribute access `{text}`"
    if isinstance(node, ast.Subscript):
        return f"indexing `{text}`"
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, bool):
            return f"a true/false value `{text}`"
        if isinstance(value, complex):
            return f"an imaginary number `{text}`"
        if isinstance(value, (str, bytes)):
            return f"text `{text}`"
        return f"the constant `{text}`"
    if isinstance(node, (ast.BinOp, ast.UnaryOp)):
        symbol = _OP_SYMBOLS.get(type(node.op), type(node.op).__name__)
        hint = " (powers are written **)" if symbol == "^" else ""
        return f"the operator `{symbol}`{hint} in `{text}`"
    if isinstance(node, (ast.JoinedStr, ast.FormattedValue)):
        return f"an f-string `{text}`"
    if isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
        return f"a comprehension `{text}`"
    kinds = {ast.List: "a list", ast.Set: "a set", ast.Dict: "a dictionary", ast.Lambda: "a lambda (a function)",
             ast.IfExp: "a conditional (if ... else)", ast.Compare: "a comparison",
             ast.BoolOp: "a logical operator (and/or)", ast.NamedExpr: "an assignment (:=)",
             ast.Starred: "a starred expression", ast.Slice: "a slice", ast.Await: "await",
             ast.Yield: "yield", ast.YieldFrom: "yield"}
    kind = kinds.get(type(node), f"a {type(node).__name__} expression")
    return f"{kind} `{text}`"


def _segment(node: ast.AST, source: str) -> str:
    return ast.get_source_segment(source, node) or type(node).__name__


def _short(text: str, limit: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _num(value: int | float) -> str:
    return str(value) if isinstance(value, int) else f"{value:.{SIGNIFICANT_DIGITS}g}"


def _magnitude_text() -> str:
    return f"10**{round(math.log10(MAX_MAGNITUDE))}"


# -------------------------------------------------------------------------------------------- reading replies

_FENCE = re.compile(r"```[ \t]*[\w+-]*[ \t]*\n?(.*?)```", re.DOTALL)
_INLINE_CODE = re.compile(r"`([^`\n]+)`")
_LABEL = re.compile(r"^[\s*_>#-]*(?:the\s+)?(?:final\s+)?(?:expression|answer|result|calculation)[\s*_]*[:=]"
                    r"(?!=)[\s*_]*(.+)$", re.IGNORECASE | re.MULTILINE)
_PRINT = re.compile(r"^\s*print\s*\((.*)\)\s*;?\s*$")
_ASSIGN = re.compile(r"^\s*[A-Za-z_]\w*\s*=(?!=)\s*(.*)$")
_EXPR_CHARS = "0-9.+\\-*/%() ×÷−"
_EXPR_RUN = re.compile(f"[{_EXPR_CHARS}]+")
_EXPR_ONLY = re.compile(f"^[{_EXPR_CHARS}]+$")
_DIGIT = re.compile(r"\d")
_OPERATOR = re.compile(r"[+\-*/%×÷−]")


def extract_expression(reply: str) -> str | None:
    """The arithmetic expression in a model's reply, or None. Prefers a fenced code block, then inline code, then
    a labelled line ("Expression: ...", "answer = ...", "print(...)"), else the longest run of arithmetic
    characters that holds a digit and an operator. Code the model wrote is returned even when it is more than
    arithmetic, so that `evaluate` can say what it refuses."""
    if not isinstance(reply, str) or not reply.strip():
        return None
    for block in _FENCE.findall(reply):
        found = _last_line_with_digit(block, require_arithmetic=False)
        if found:
            return found
    for code in reversed(_INLINE_CODE.findall(reply)):
        found = _clean_line(code)
        if found and _DIGIT.search(found) and _EXPR_ONLY.match(found):
            return found
    for match in reversed(list(_LABEL.finditer(reply))):
        found = _clean_line(match.group(1))
        if found and _DIGIT.search(found) and _EXPR_ONLY.match(found):
            return found
    found = _last_line_with_digit(reply, require_arithmetic=True, code_lines_only=True)
    if found:
        return found
    best = None
    for run in _EXPR_RUN.findall(reply):
        candidate = _trim(run)
        if candidate and _DIGIT.search(candidate) and _OPERATOR.search(candidate):
            if best is None or len(candidate) >= len(best):
                best = candidate
    return best


def _last_line_with_digit(text: str, require_arithmetic: bool, code_lines_only: bool = False) -> str | None:
    for line in reversed(text.splitlines()):
        if not line.strip() or line.strip().startswith("#"):
            continue
        if code_lines_only and not (_PRINT.match(line) or _ASSIGN.match(line)):
            continue
        found = _clean_line(line)
        if not found or not _DIGIT.search(found):
            continue
        if require_arithmetic and not _EXPR_ONLY.match(found):
            continue
        return found
    return None


def _clean_line(line: str) -> str | None:
    """Strip a print(...) wrapper, a `name =` assignment, a trailing comment, and anything after `=`."""
    line = line.split("#", 1)[0].strip()
    match = _PRINT.match(line)
    if match:
        line = match.group(1)
    match = _ASSIGN.match(line)
    if match:
        line = match.group(1)
    if "=" in line.replace("==", ""):
        line = re.split(r"(?<![=!<>])=(?!=)", line, maxsplit=1)[0]
    return _trim(line) or None


def _trim(text: str) -> str:
    """Trailing '=', '.', operators and whitespace off; unmatched parentheses at the ends off."""
    text = text.strip()
    previous = None
    while text != previous:
        previous = text
        text = text.strip().rstrip("=.,;:").strip()
        text = text.rstrip("+-*/%×÷−").strip()
        if text.count("(") > text.count(")") and text.startswith("("):
            text = text[1:]
        if text.count(")") > text.count("(") and text.endswith(")"):
            text = text[:-1]
        if text.startswith(")"):
            text = text[1:]
        if text.endswith("("):
            text = text[:-1]
    return text


_NUMBER = re.compile(r"(?P<neg>(?<![\w)\]])[-−]\s?)?\$?\s?(?<![\d.])"
                     r"(?P<num>\d{1,3}(?:,\d{3})+(?!\d)(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)")
_ANSWER_MARK = re.compile(r"\b(?:answer|result|total)\b[\s*_]*(?:is\b|:|=)", re.IGNORECASE)
_EQUALS_MARK = re.compile(r"(?<![=!<>])=(?!=)")


def parse_number(reply: str) -> float | None:
    """The final number a model wrote when answering directly: the first number after the last "answer is" /
    "Answer:", else after the last "=", else the last number in the text. "1,200" -> 1200, "$42" -> 42."""
    if not isinstance(reply, str):
        return None
    for marks in (_ANSWER_MARK, _EQUALS_MARK):
        for mark in reversed(list(marks.finditer(reply))):
            match = _NUMBER.search(reply, mark.end())
            if match:
                return _number_value(match)
    matches = list(_NUMBER.finditer(reply))
    return _number_value(matches[-1]) if matches else None


def _number_value(match: re.Match) -> float:
    value = float(match.group("num").replace(",", ""))
    return -value if match.group("neg") else value


# ---------------------------------------------------------------------------------------------------- prompts

def pal_messages(question: str, examples: Sequence[tuple[str, str]]) -> list[dict]:
    """Few-shot chat asking for an expression: each example is a user turn (the question) and an assistant turn
    (its expression), then the question. The instruction is repeated in every user turn (some chat templates
    have no system role)."""
    chat: list[dict] = []
    for example_question, expression in examples:
        chat += [{"role": "user", "content": _turn(PAL_INSTRUCTION, example_question)},
                 {"role": "assistant", "content": str(expression).strip()}]
    return chat + [{"role": "user", "content": _turn(PAL_INSTRUCTION, question)}]


def direct_messages(question: str, examples: Sequence[tuple[str, int | float]]) -> list[dict]:
    """The same few-shot chat, but each example is answered directly with its number."""
    chat: list[dict] = []
    for example_question, answer in examples:
        chat += [{"role": "user", "content": _turn(DIRECT_INSTRUCTION, example_question)},
                 {"role": "assistant", "content": _answer_text(answer)}]
    return chat + [{"role": "user", "content": _turn(DIRECT_INSTRUCTION, question)}]


def _turn(instruction: str, question: str) -> str:
    if not isinstance(question, str) or not question.strip():
        raise ValueError("The question must be non-empty text.")
    return f"{instruction}\n\nQuestion: {question.strip()}"


def _answer_text(answer) -> str:
    if isinstance(answer, float) and answer.is_integer():
        return str(int(answer))
    if isinstance(answer, float):
        return f"{answer:.{SIGNIFICANT_DIGITS}g}"
    return str(answer)
