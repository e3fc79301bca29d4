"""Mutants of correct learners' code, made by AST edits inside one method's backward rule.

Each mutant changes one thing inside the derivative rule (the nested function) of one method
of the class: ``+=`` becomes ``*=`` (the gradient not accumulated), a product becomes a sum
(``other.data * out.grad`` -> ``other.data + out.grad``), or a sign flips (``-`` -> ``+``).
The oracle is the corpus one: the mutant is blamed in the mutated method and nowhere else, or
it gives no failure at all (an equivalent mutant, or a method no check reaches); it is never
blamed elsewhere. Read by tests/test_learner_mutants.py and benchmarks/bench_learner_mutants.py.
"""

from __future__ import annotations

import ast
import copy
from collections.abc import Iterator
from dataclasses import dataclass

from gradcli.learner.programs import op_of_method

OPERATORS = ("assign", "drop_factor", "flip_sign")


@dataclass
class Mutant:
    method: str
    operator: str
    source: str


def _nested(fn: ast.FunctionDef) -> list[ast.AST]:
    """The derivative rules of a method: its nested functions and lambdas."""
    out: list[ast.AST] = []
    for node in ast.walk(fn):
        if node is not fn and isinstance(node, (ast.FunctionDef, ast.Lambda)):
            out.append(node)
    return out


def _apply(rule: ast.AST, operator: str) -> bool:
    """Edit the first place in ``rule`` the operator applies to; False when there is none."""
    for node in ast.walk(rule):
        if (
            operator == "assign"
            and isinstance(node, ast.AugAssign)
            and isinstance(node.op, ast.Add)
        ):
            node.op = ast.Mult()  # x.grad *= ...: neither accumulates nor keeps the old value
            return True
        if (
            operator == "drop_factor"
            and isinstance(node, ast.BinOp)
            and isinstance(node.op, ast.Mult)
        ):
            node.op = ast.Add()  # a * b -> a + b: the product rule gone
            return True
        if (
            operator == "flip_sign"
            and isinstance(node, ast.UnaryOp)
            and isinstance(node.op, ast.USub)
        ):
            node.op = ast.UAdd()
            return True
        if operator == "flip_sign" and isinstance(node, ast.BinOp) and isinstance(node.op, ast.Sub):
            node.op = ast.Add()
            return True
    return False


def mutants(source: str, class_name: str) -> Iterator[Mutant]:
    """Every mutant of ``class_name``'s operator methods in ``source``, one edit each."""
    tree = ast.parse(source)
    for ci, cls in enumerate(tree.body):
        if not (isinstance(cls, ast.ClassDef) and cls.name == class_name):
            continue
        for mi, fn in enumerate(cls.body):
            if not isinstance(fn, ast.FunctionDef) or op_of_method(fn.name) is None:
                continue
            if not _nested(fn):
                continue
            for operator in OPERATORS:
                new = copy.deepcopy(tree)
                new_cls = new.body[ci]
                assert isinstance(new_cls, ast.ClassDef)
                new_fn = new_cls.body[mi]
                assert isinstance(new_fn, ast.FunctionDef)
                if any(_apply(rule, operator) for rule in _nested(new_fn)):
                    yield Mutant(fn.name, operator, ast.unparse(new))
