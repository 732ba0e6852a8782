"""Giving the model tools: program-aided arithmetic and a ReAct-style loop (page 11).

Program-aided (PAL): the model writes an arithmetic expression, `calculator.evaluate` computes it (an AST
whitelist, never Python's eval), and the answer is compared with the model answering the same problem alone.
The problems are page 3's arithmetic set (lessons/data/arithmetic.yaml); its three worked examples are shown to
the model as expressions for PAL and as bare numbers for the direct answer.

ReAct: the model writes "Thought: … / Action: search[…] or calculate[…]"; the application runs the action and
appends "Observation: …"; the model continues until it writes "Answer: …" or the step limit is reached. The
model proposes, the application executes: nothing the model writes is run as code.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import yaml

from core.labs.rag_applications import calculator
from core.serving.settings import PROJECT_ROOT

ARITHMETIC = PROJECT_ROOT / "lessons" / "data" / "arithmetic.yaml"
# The worked examples of arithmetic.yaml, written as the expressions a program-aided answer would use.
EXAMPLE_EXPRESSIONS = ("4 * 6 - 5", "15 - 9 + 12", "8 * 5 + 10")


@dataclass(frozen=True)
class Problem:
    question: str
    answer: float


@dataclass(frozen=True)
class ArithmeticSet:
    examples: tuple[tuple[str, str, float], ...]      # (question, expression, answer)
    problems: tuple[Problem, ...]


def load_arithmetic(path=ARITHMETIC) -> ArithmeticSet:
    data = yaml.safe_load(open(path, encoding="utf-8"))
    examples = tuple((e["input"], expr, float(e["answer"]))
                     for e, expr in zip(data["examples"], EXAMPLE_EXPRESSIONS))
    return ArithmeticSet(examples, tuple(Problem(i["input"], float(i["answer"])) for i in data["items"]))


def pal_chat(data: ArithmeticSet, question: str) -> list[dict]:
    return calculator.pal_messages(question, [(q, e) for q, e, _ in data.examples])


def direct_chat(data: ArithmeticSet, question: str) -> list[dict]:
    return calculator.direct_messages(question, [(q, int(a)) for q, _, a in data.examples])


@dataclass(frozen=True)
class PalResult:
    question: str
    gold: float | None
    direct_reply: str
    direct_value: float | None
    pal_reply: str
    expression: str | None
    pal_value: float | None
    error: str                  # why the calculator refused (empty when it computed)

    @property
    def direct_correct(self) -> bool:
        return self.gold is not None and self.direct_value is not None and abs(self.direct_value - self.gold) < 1e-6

    @property
    def pal_correct(self) -> bool:
        return self.gold is not None and self.pal_value is not None and abs(self.pal_value - self.gold) < 1e-6


def grade(question: str, gold: float | None, direct_reply: str, pal_reply: str) -> PalResult:
    expression = calculator.extract_expression(pal_reply)
    value, error = None, ""
    if expression is None:
        error = "The reply holds no arithmetic expression."
    else:
        try:
            value = float(calculator.evaluate(expression))
        except calculator.CalculatorError as exc:
            error = str(exc)
    return PalResult(question, gold, direct_reply, calculator.parse_number(direct_reply), pal_reply, expression,
                     value, error)


# ---- ReAct ---------------------------------------------------------------------------------------------------

REACT_INSTRUCTION = (
    "Answer the question about the Halvard Island staff handbook. You can use two tools:\n"
    "search[words] looks up the handbook and returns the most relevant passage.\n"
    "calculate[expression] computes an arithmetic expression.\n"
    "Work in steps, one per line: Thought, then Action, then wait for the Observation. "
    "When you know the answer, write: Answer: <the answer>.")
REACT_EXAMPLE = (
    "Question: How many kroner does a replacement badge cost for 3 lost badges?\n"
    "Thought: I need the price of a replacement badge.\n"
    "Action: search[replacement badge cost]\n"
    "Observation: A replacement costs 25 kroner and is ready the next working day.\n"
    "Thought: Three badges cost 3 times 25 kroner.\n"
    "Action: calculate[3 * 25]\n"
    "Observation: 75\n"
    "Answer: 75 kroner")
STOP = "Observation:"
_ACTION = re.compile(r"Action:\s*(search|calculate)\s*\[([^\]\n]{0,300})\]?", re.IGNORECASE)
_ANSWER = re.compile(r"Answer:\s*(.+)", re.IGNORECASE)


@dataclass
class Step:
    model_text: str                 # what the model wrote in this step
    action: str = ""                # "search", "calculate" or "" (none)
    argument: str = ""
    observation: str = ""           # what the application returned


@dataclass
class Trace:
    question: str
    steps: list[Step] = field(default_factory=list)
    answer: str | None = None
    stopped: str = ""               # why the loop ended: "answer", "no action", "step limit"

    def transcript(self) -> str:
        """The text the model has seen so far after the question (what the next step continues)."""
        parts = []
        for s in self.steps:
            parts.append(s.model_text.rstrip())
            if s.action:
                parts.append(f"Observation: {s.observation}")
        return "\n".join(parts)


def react_messages(question: str) -> list[dict]:
    """The user message: the instruction, the worked example and the question."""
    return [{"role": "user", "content": f"{REACT_INSTRUCTION}\n\nExample:\n{REACT_EXAMPLE}\n\nQuestion: {question}"}]


def react_prefill(trace: Trace) -> str:
    """The start of the model's reply for its next step: every step so far with its observation, then "Thought:".
    The model continues its own turn, as a ReAct runner does with a completion model."""
    so_far = trace.transcript()
    return (so_far + "\n" if so_far else "") + "Thought:"


def parse_step(text: str) -> tuple[str, str, str | None]:
    """(action, argument, answer) from one step of the model's text; the first action or answer counts."""
    action = _ACTION.search(text)
    answer = _ANSWER.search(text)
    if answer and (not action or answer.start() < action.start()):
        return "", "", answer.group(1).strip()
    if action:
        return action.group(1).lower(), action.group(2).strip(), None
    return "", "", None


def run_react(question: str, generate: Callable[[list[dict], str], str], search: Callable[[str], str],
              max_steps: int = 4) -> Trace:
    """The loop: the model writes until "Observation:", the application runs the action it named.
    `generate(messages, prefill)` returns the model's continuation of `prefill`."""
    trace = Trace(question)
    for _ in range(max_steps):
        text = "Thought:" + generate(react_messages(question), react_prefill(trace))
        action, argument, answer = parse_step(text)
        step = Step(text, action, argument)
        trace.steps.append(step)
        if answer is not None:
            trace.answer, trace.stopped = answer, "answer"
            return trace
        if not action:
            trace.stopped = "no action"
            return trace
        if action == "search":
            step.observation = search(argument) if argument else "(empty search)"
        else:
            try:
                step.observation = str(calculator.evaluate(argument))
            except calculator.CalculatorError as exc:
                step.observation = f"error: {exc}"
        # keep only the step up to its action, as a real ReAct runner does
        end = _ACTION.search(text)
        step.model_text = text[:end.end()] if end else text
    trace.stopped = "step limit"
    return trace
