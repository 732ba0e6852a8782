import ast
import inspect
import time

import pytest

from core.labs.rag_applications import calculator
from core.labs.rag_applications.calculator import (
    MAX_CHARS,
    MAX_DEPTH,
    MAX_EXPONENT,
    MAX_MAGNITUDE,
    MAX_NODES,
    CalculatorError,
    direct_messages,
    evaluate,
    extract_expression,
    pal_messages,
    parse_number,
)

# ------------------------------------------------------------------------------------------- evaluate: values

@pytest.mark.parametrize("expression, expected", [
    ("4 * 6 - 5", 19),
    ("2 + 3 * 4", 14),
    ("(2 + 3) * 4", 20),
    ("2 ** 3 ** 2", 512),            # right-associative
    ("-2 ** 2", -4),                 # ** binds tighter than unary minus
    ("(-2) ** 2", 4),
    ("-3 + 5", 2),
    ("--3", 3),
    ("+7", 7),
    ("-(4 - 10)", 6),
    ("17 // 5", 3),
    ("17 % 5", 2),
    ("-7 // 2", -4),
    ("10 - 4 - 3", 3),               # left-associative
    ("100 / 10 / 2", 5),
    ("1_000 + 1", 1001),
    ("  12 + 3  ", 15),
    ("((((1))))", 1),
    ("(1 +\n 2)", 3),
])
def test_arithmetic(expression, expected):
    assert evaluate(expression) == expected


@pytest.mark.parametrize("expression, expected", [
    ("7 / 7", 1), ("2.5 * 2", 5), ("10 / 2", 5), ("1.0", 1), ("6 / 3 * 1.5", 3), ("-0.0", 0), ("0.1 * 3 * 10", 3)])
def test_integral_results_are_ints(expression, expected):
    value = evaluate(expression)
    assert type(value) is int
    assert value == expected


def test_seven_over_seven_is_int_one():
    assert evaluate("7/7") == 1 and type(evaluate("7/7")) is int


@pytest.mark.parametrize("expression, expected", [
    ("7 / 2", 3.5),
    ("1 / 3", 0.3333333333),
    ("2 / 3", 0.6666666667),
    ("0.1 + 0.2", 0.3),
    ("2 ** 0.5", 1.414213562),
    ("2 ** -2", 0.25),
    ("12.5 - 0.25", 12.25),
    ("-1 / 8", -0.125),
])
def test_float_results_rounded_to_ten_significant_digits(expression, expected):
    value = evaluate(expression)
    assert type(value) is float
    assert value == expected


@pytest.mark.parametrize("expression, expected", [
    ("6 × 7", 42), ("84 ÷ 2", 42), ("50 − 8", 42), ("(50 − 8) × 2 ÷ 4", 21), ("−3 × 2", -6)])
def test_unicode_signs(expression, expected):
    assert evaluate(expression) == expected


def test_limits_are_exported():
    assert MAX_CHARS == 200 and MAX_EXPONENT == 64 and MAX_MAGNITUDE == 1e15
    assert MAX_NODES >= 30 and MAX_DEPTH >= 10


def test_boundaries_that_are_allowed():
    assert evaluate("10 ** 15") == 10 ** 15
    assert evaluate("-(10 ** 15)") == -10 ** 15
    assert evaluate("1 ** 64") == 1
    assert evaluate("2 ** -64") == pytest.approx(2 ** -64)
    assert evaluate("0 ** 0") == 1
    assert evaluate("1" + "+1" * 29) == 30         # 59 parts
    assert evaluate("1" + " " * (MAX_CHARS - 1)) == 1   # exactly MAX_CHARS characters


# --------------------------------------------------------------------------------------- evaluate: refusals

def _refused(expression) -> str:
    with pytest.raises(CalculatorError) as info:
        evaluate(expression)
    message = str(info.value)
    assert message and message[0].isupper() and message.endswith("."), message
    return message


def test_calculator_error_is_a_value_error():
    assert issubclass(CalculatorError, ValueError)


@pytest.mark.parametrize("expression", ["1 / 0", "5 // 0", "3 % 0", "1 / (2 - 2)", "1 / 0.0", "0 ** -1"])
def test_division_by_zero(expression):
    assert "zero" in _refused(expression).lower()


@pytest.mark.parametrize("expression, words", [
    ("__import__('os')", ["function call", "__import__(...)"]),
    ("__import__('os').system('ls')", ["function call"]),
    ("().__class__", ["attribute access", "__class__"]),
    ("().__class__.__bases__[0].__subclasses__()", ["function call"]),
    ("open('x')", ["function call", "open(...)"]),
    ("abs(-3)", ["function call", "abs(...)"]),
    ("x + 1", ["a name `x`"]),
    ("1 + pi", ["a name `pi`"]),
    ("'a' * 3", ["text"]),
    ("b'a' * 3", ["text"]),
    ("[1] * 3", ["a list"]),
    ("{1} ", ["a set"]),
    ("{1: 2}", ["a dictionary"]),
    ("[i for i in range(3)]", ["comprehension"]),
    ("1 if 1 else 2", ["conditional"]),
    ("2 < 3", ["comparison"]),
    ("1 and 2", ["and/or"]),
    ("not 1", ["operator `not`"]),
    ("~1", ["operator `~`"]),
    ("2 ^ 3", ["operator `^`", "**"]),
    ("1 << 70", ["operator `<<`"]),
    ("True + 1", ["true/false"]),
    ("None", ["None"]),
    ("1j", ["imaginary"]),
    ("2 + 3j", ["imaginary"]),
    ("lambda: 1", ["lambda"]),
    ("(lambda: 1)()", ["function call"]),
    ("f'{1 + 1}'", ["f-string"]),
    ("(y := 3)", ["assignment"]),
    ("a[0]", ["indexing"]),
])
def test_refuses_everything_but_arithmetic(expression, words):
    message = _refused(expression)
    assert message.startswith("Only numbers")
    for word in words:
        assert word in message, message


def test_refusal_happens_before_any_computation():
    # The division by zero comes first in reading order, but the call is reported: nothing is computed early.
    assert "function call" in _refused("1 / 0 + __import__('os')")


@pytest.mark.parametrize("expression", ["1,200", "1,200 + 5", "(1, 2)"])
def test_commas_refused_with_a_hint(expression):
    message = _refused(expression)
    assert "Commas are not allowed" in message and "1200" in message


@pytest.mark.parametrize("expression", ["1 +", "answer = 7 * 6", "4 * 6 - 5 = 19", "print 5", "3 4", "(1 + 2",
                                        "*a", "1 ==", "import os", "x\x00"])
def test_not_an_expression(expression):
    assert "not an arithmetic expression" in _refused(expression)


def test_nine_to_the_nine_to_the_nine_is_refused_fast():
    start = time.perf_counter()
    message = _refused("9**9**9")
    elapsed = time.perf_counter() - start
    assert message == "The exponent 387420489 is too large (at most 64)."
    assert elapsed < 5  # loose: computing it would take far longer (and gigabytes)


@pytest.mark.parametrize("expression", ["10**100", "2**-1000", "2 ** 65", "(-2) ** 100", "1.5 ** 1e10",
                                        "9**9**9**9", "2**2**2**2**2"])
def test_huge_exponents(expression):
    assert "exponent" in _refused(expression)


@pytest.mark.parametrize("expression", ["10 ** 16", "10 ** 20", "99 ** 60", "0.5 ** -60", "2 ** 0.5 ** -60",
                                        "(1e308) * 10", "1e308", "1e400", "10**15 + 1", "10**15 * 10**15",
                                        "-(10**15) - 1", "1 / 1e-300", "1 / 1e-320", "9" * 30,
                                        "0x" + "f" * 100, "1e15 * 2"])
def test_magnitudes_above_the_limit(expression):
    message = _refused(expression)
    assert "too large" in message and "10**15" in message


def test_negative_base_fractional_power():
    assert "fractional power" in _refused("(-8) ** (1 / 3)")


def test_too_long():
    message = _refused("1+" * 5000)
    assert message.startswith("The expression is too long (at most 200 characters")
    _refused("1" + " " * MAX_CHARS)            # 201 characters, even if most are spaces


def test_too_many_parts_and_too_deep():
    assert "too many parts" in _refused("+".join(["1"] * 31))
    assert "too many parts" in _refused("-" * 150 + "1")
    assert "nested too deeply" in _refused("-" * 40 + "1")


@pytest.mark.parametrize("expression", ["", "   ", "\n\t"])
def test_empty(expression):
    assert _refused(expression) == "The expression is empty."


@pytest.mark.parametrize("value, kind", [(None, "NoneType"), (5, "int"), (2.5, "float"), (b"1+1", "bytes"),
                                         (["1+1"], "list")])
def test_non_text_input(value, kind):
    assert _refused(value) == f"The expression must be text, not {kind}."


def test_module_never_calls_eval_exec_or_compile():
    tree = ast.parse(inspect.getsource(calculator))
    forbidden = {"eval", "exec", "compile", "__import__"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            func = node.func
            allowed_regex = func.attr == "compile" and isinstance(func.value, ast.Name) and func.value.id == "re"
            assert func.attr not in forbidden or allowed_regex, f"calculator.py calls .{func.attr}() at {node.lineno}"
        if isinstance(node, ast.Name):
            assert node.id not in forbidden, f"calculator.py refers to {node.id} on line {node.lineno}"


def test_module_does_not_import_streamlit():
    assert "streamlit" not in inspect.getsource(calculator)


# ------------------------------------------------------------------------------------------ extract_expression

@pytest.mark.parametrize("reply, expected", [
    ("4 * 6 - 5", "4 * 6 - 5"),
    ("```python\n4*6-5\n```", "4*6-5"),
    ("```\n4*6-5\n```", "4*6-5"),
    ("Here you go:\n```py\n(20 - 4) / 2\n```\nThat is 8.", "(20 - 4) / 2"),
    ("The expression is 15 - 9 + 12.", "15 - 9 + 12"),
    ("print(8 * 5 + 10)", "8 * 5 + 10"),
    ("answer = 7 * 6", "7 * 6"),
    ("Expression: 4 * 6 - 5", "4 * 6 - 5"),
    ("Expression: 4*6-5 = 19", "4*6-5"),
    ("**Answer:** 5 × 3 − 2", "5 × 3 − 2"),
    ("Use `(20 - 4) / 2` to get it.", "(20 - 4) / 2"),
    ("12 - 3 =", "12 - 3"),
    ("She has 12 apples and eats 3, so 12 - 3 = 9 left.", "12 - 3"),
    ("It costs (4 + 6) * 2 dollars.", "(4 + 6) * 2"),
    ("```python\ntotal = 3 * 12 + 4  # apples\n```", "3 * 12 + 4"),
    ("```python\nresult = 3 * 12 + 4\nprint(result)\n```", "3 * 12 + 4"),
    ("Hmm (2+3", "2+3"),
])
def test_extract_expression(reply, expected):
    assert extract_expression(reply) == expected


@pytest.mark.parametrize("reply", ["I don't know", "", "   ", None, 42, "The result is forty-two.",
                                   "a 3-day trip", "The result is 42."])
def test_extract_expression_none(reply):
    assert extract_expression(reply) is None


def test_extracted_code_is_returned_even_when_not_arithmetic_so_evaluate_can_explain():
    expression = extract_expression("```python\nround(17 / 3, 2)\n```")
    assert expression == "round(17 / 3, 2)"
    assert "function call `round(...)`" in _refused(expression)


@pytest.mark.parametrize("reply, value", [
    ("4 * 6 - 5", 19),
    ("```python\n(12 + 8) * 3\n```", 60),
    ("The expression is 15 - 9 + 12.", 18),
    ("print(8 * 5 + 10)", 50),
    ("answer = 7 * 6", 42),
    ("6 × 7", 42),
])
def test_extract_then_evaluate(reply, value):
    assert evaluate(extract_expression(reply)) == value


# ------------------------------------------------------------------------------------------------ parse_number

@pytest.mark.parametrize("reply, expected", [
    ("42", 42),
    ("The answer is 42.", 42),
    ("1,200", 1200),
    ("$42", 42),
    ("-3", -3),
    ("12.5", 12.5),
    ("Answer: -3", -3),
    ("-$42", -42),
    ("x = −4", -4),
    ("The answer is $1,200.50 in total", 1200.5),
    ("It is 19, because 4*6 = 24 and 24-5 = 19", 19),
    ("4 * 6 - 5 = 19", 19),
    ("**Answer:** 7", 7),
    ("Final answer: 2,500 people, i.e. 25 groups of 100", 2500),
    ("Answer: 19. Work: 4*6=24, minus 5.", 19),
    ("In 2023 the answer is 12", 12),
    ("She had 10-5 apples", 5),
    ("She bought 3 packs of 12 eggs, so 36 eggs", 36),
    ("0.5", 0.5),
    ("up 25%", 25),
])
def test_parse_number(reply, expected):
    assert parse_number(reply) == expected


@pytest.mark.parametrize("reply", ["no idea", "", None, 7, "The answer is unknown"])
def test_parse_number_none(reply):
    assert parse_number(reply) is None


# ----------------------------------------------------------------------------------------------------- prompts

EXAMPLES_PAL = [("Tom has 3 boxes of 4 pens. How many pens?", "3 * 4"),
                ("A $20 shirt is half price. What does it cost?", "20 / 2")]
EXAMPLES_DIRECT = [("Tom has 3 boxes of 4 pens. How many pens?", 12),
                   ("A $20 shirt is half price. What does it cost?", 10)]
QUESTION = "Ann had 24 apples and gave away 5. How many are left?"


def test_pal_messages():
    messages = pal_messages(QUESTION, EXAMPLES_PAL)
    assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant", "user"]
    assert all(set(m) == {"role", "content"} for m in messages)
    for m in messages[::2]:
        assert "Write one Python arithmetic expression that computes the answer." in m["content"]
        assert "Reply with the expression only." in m["content"]
    assert EXAMPLES_PAL[0][0] in messages[0]["content"]
    assert messages[1]["content"] == "3 * 4" and messages[3]["content"] == "20 / 2"
    assert messages[-1]["content"].endswith(QUESTION)


def test_direct_messages():
    messages = direct_messages(QUESTION, EXAMPLES_DIRECT)
    assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant", "user"]
    for m in messages[::2]:
        assert "Answer with the number only." in m["content"]
        assert "expression" not in m["content"].lower()
    assert messages[1]["content"] == "12" and messages[3]["content"] == "10"
    assert messages[-1]["content"].endswith(QUESTION)


def test_prompts_without_examples_and_same_questions():
    assert len(pal_messages(QUESTION, [])) == 1
    assert len(direct_messages(QUESTION, [])) == 1
    pal, direct = pal_messages(QUESTION, EXAMPLES_PAL), direct_messages(QUESTION, EXAMPLES_DIRECT)
    for a, b in zip(pal[::2], direct[::2]):
        assert a["content"].split("Question:")[1] == b["content"].split("Question:")[1]


@pytest.mark.parametrize("question", ["", "   ", None])
def test_prompts_refuse_empty_question(question):
    with pytest.raises(ValueError):
        pal_messages(question, EXAMPLES_PAL)
    with pytest.raises(ValueError):
        direct_messages(question, EXAMPLES_DIRECT)
