"""Plans compiled: one generated Python function per plan, doing what
``engine.plans.run_plan`` does on its steps, without interpreting them.

``run_plan`` loops over a plan's steps for every object: unpack the step, read
the attribute, call the step's completion (a leaf's coercion wrapped in checks,
an object's checks then ``run_plan`` again, a list's loop). On a page of 50
objects with ten fields that is hundreds of calls whose only work is to dispatch.
:func:`compiled` writes the same steps out as straight-line code, once per plan
(plans are kept across requests: ``engine.context``), from the same plan data:

- each step in the plan's order: the attribute read (``source.name``), None
  answered or ``Bail`` raised as the step's ``non_null`` says, then the
  completion; the result a dict display of the response names;
- a leaf (``plans.Leaf``): its checks and coercion inline; a value whose Python
  type is the scalar's own result (``str`` for String and ID, ``bool`` for
  Boolean, an ``int`` within Int's 32 bits) is answered as it is, as the
  coercion would; an enum member's name is read from the enum's table
  (``plans.enum_coercion``) inline;
- a list (``plans.Many``): the loop inline, its item completed inline;
- an object (``plans.Whole``): what that plan's compiled function for a
  whole object (:func:`compiled_whole`) does, written inline: the error and
  ``is_type_of`` checks, the fields at hand checked (``NotAtHand``), then the
  object's own steps, or ``plans.rendered`` with its compiled plan when what is
  read from it is kept (an immutable type, and its ``kept_if`` attribute true
  if it names one). Inline, an edge of a page and its node cost no call of
  their own; past a depth Python's compiler refuses, a call of
  ``compiled_whole``'s function;
- any other completion: called as the step holds it.

Every check raises what the interpreted road raises, in the same order, so the
caller falls back to graphql-core exactly as before. The tests compare the two
roads field by field (``tests/engine/test_compiled.py``). Only plans kept across
requests are compiled (``engine.context``); a plan made for one request (an
operation with directives) is interpreted: compiling costs more than one run.
For the same reason a list a resolver returns (``complete_list_value``, whose
completion is made per request) is interpreted, its objects' plans compiled.
"""

from __future__ import annotations

import keyword
from collections.abc import Callable
from typing import Any

from graphql.pyutils import Undefined, is_iterable

from engine.plans import (
    _IMMUTABLE,
    Bail,
    Leaf,
    Many,
    NotAtHand,
    Step,
    Whole,
    rendered,
    shape_of,
)

Render = Callable[[Any], dict[str, Any]]

_NEVER = object()  # a type that is not immutable (no entry in ``_IMMUTABLE``)

INT_MIN, INT_MAX = -(2**31), 2**31 - 1


class _Writer:
    """The lines of one generated function and the objects they name."""

    def __init__(self) -> None:
        self.names: dict[str, Any] = {
            "Bail": Bail,
            "NotAtHand": NotAtHand,
            "Undefined": Undefined,
            "is_iterable": is_iterable,
            "IMMUTABLE": _IMMUTABLE,
            "rendered": rendered,
            "NEVER": _NEVER,
        }
        self.lines: list[str] = []
        self._count = 0
        self.loops = 0  # the loops around the lines being written

    def name(self, value: Any, hint: str) -> str:
        """A global of the generated code holding ``value``."""
        self._count += 1
        key = f"{hint}{self._count}"
        self.names[key] = value
        return key

    def fresh(self, hint: str) -> str:
        self._count += 1
        return f"{hint}{self._count}"

    def add(self, indent: int, line: str) -> None:
        self.lines.append("    " * indent + line)

    def function(self, name: str) -> Any:
        source = "\n".join(self.lines)
        exec(compile(source, f"<plan {name}>", "exec"), self.names)
        # Not kept in its own globals: no reference cycle to free.
        return self.names.pop(name)


def _read(source: str, attribute: str) -> str:
    if attribute.isidentifier() and not keyword.iskeyword(attribute):
        return f"{source}.{attribute}"
    return f"getattr({source}, {attribute!r})"


def _complete(
    w: _Writer, complete: Callable[[Any], Any], var: str, indent: int
) -> None:
    """Lines completing the non-null value in ``var`` in place."""
    shape = shape_of(complete)
    if isinstance(shape, Leaf):
        coerce = w.name(shape.coerce, "coerce")
        if shape.members is not None:  # an enum member: its name, from the table
            wrapped = w.name(shape.members[0], "enum")
            table, name = w.name(shape.members[1], "names"), w.fresh("name")
            w.add(indent, f"if type({var}) is {wrapped} and (")
            w.add(indent + 1, f"{name} := {table}.get(id({var}))")
            w.add(indent, ") is not None:")
            w.add(indent + 1, f"{var} = {name}")
            w.add(indent, "else:")
            indent += 1
        if shape.own is str or shape.own is bool:
            w.add(indent, f"if type({var}) is not {shape.own.__name__}:")
            indent += 1
        elif shape.own is int:
            w.add(
                indent,
                f"if not (type({var}) is int and {INT_MIN} <= {var} <= {INT_MAX}):",
            )
            indent += 1
        w.add(indent, f"if isinstance({var}, Exception):")
        w.add(indent + 1, "raise Bail")
        w.add(indent, f"{var} = {coerce}({var})")
        w.add(indent, f"if {var} is None or {var} is Undefined:")
        w.add(indent + 1, "raise Bail")
    elif isinstance(shape, Many):
        items, one = w.fresh("items"), w.fresh("one")
        w.add(indent, f"if not is_iterable({var}):")
        w.add(indent + 1, "raise Bail")
        w.add(indent, f"{items} = []")
        w.add(indent, f"for {one} in {var}:")
        w.add(indent + 1, f"if {one} is None:")
        if shape.item_non_null:
            w.add(indent + 2, "raise Bail")
        else:
            w.add(indent + 2, f"{items}.append(None)")
            w.add(indent + 2, "continue")
        w.loops += 1
        _complete(w, shape.item, one, indent + 1)
        w.loops -= 1
        w.add(indent + 1, f"{items}.append({one})")
        w.add(indent, f"{var} = {items}")
    elif isinstance(shape, Whole):
        if indent > _INLINE_INDENT or w.loops > _INLINE_LOOPS:
            whole = w.name(compiled_whole(shape), "whole")
            w.add(indent, f"{var} = {whole}({var})")
        else:
            _whole_inline(w, shape, var, indent)
    else:
        call = w.name(complete, "complete")
        w.add(indent, f"{var} = {call}({var})")


def _steps(w: _Writer, steps: tuple[Step, ...], source: str, indent: int) -> str:
    """Lines completing each step on the object in ``source``; answers the dict
    display of their results."""
    results: list[str] = []
    for response_name, attribute, complete, non_null, typename in steps:
        if attribute is None:
            results.append(f"{response_name!r}: {typename!r}")
            continue
        var = w.fresh("v")
        w.add(indent, f"{var} = {_read(source, attribute)}")
        w.add(indent, f"if {var} is None:")
        w.add(indent + 1, "raise Bail" if non_null else "pass")
        w.add(indent, "else:")
        _complete(w, complete, var, indent + 1)  # type: ignore[arg-type]
        results.append(f"{response_name!r}: {var}")
    return "{" + ", ".join(results) + "}"


def compiled(steps: tuple[Step, ...]) -> Render:
    """A function answering what ``run_plan(steps, source)`` answers."""
    w = _Writer()
    w.add(0, "def render(source):")
    w.add(1, f"return {_steps(w, steps, 'source', 1)}")
    render: Render = w.function("render")
    return render


# An object inside another is completed inline up to this depth (beyond it, by
# a call of its compiled function): Python refuses more than 20 nested blocks
# (a list's loop is one) and about a hundred levels of indentation.
_INLINE_INDENT = 40
_INLINE_LOOPS = 10


def _whole_inline(w: _Writer, shape: Whole, var: str, indent: int) -> None:
    """What ``compiled_whole(shape)`` does to ``var``, written inline: the
    object's own steps completed where it is read (no call of its whole
    function nor of its render) unless what is read from it is kept, which
    ``rendered`` looks up with the plan compiled."""
    render = w.name(shape.render or compiled(shape.steps), "render")
    steps = w.name(shape.steps, "steps")
    kept_if = w.fresh("kept_if")
    w.add(indent, f"if isinstance({var}, Exception):")
    w.add(indent + 1, "raise Bail")
    if shape.is_type_of is not None:
        is_type_of = w.name(shape.is_type_of, "is_type_of")
        w.add(indent, f"if {is_type_of}({var}, None) is not True:")
        w.add(indent + 1, "raise Bail")
    for attribute in shape.needed:
        w.add(indent, f"if {_read(var, attribute)} is None:")
        w.add(indent + 1, "raise NotAtHand")
    w.add(indent, f"{kept_if} = IMMUTABLE.get(type({var}), NEVER)")
    w.add(indent, f"if {kept_if} is NEVER or (")
    w.add(indent + 1, f"{kept_if} is not None and not getattr({var}, {kept_if})")
    w.add(indent, "):")
    # read from the object itself before its variable takes the result
    source = w.fresh("source")
    w.add(indent + 1, f"{source} = {var}")
    w.add(indent + 1, f"{var} = {_steps(w, shape.steps, source, indent + 1)}")
    w.add(indent, "else:")
    w.add(indent + 1, f"{var} = rendered({steps}, {var}, {render})")


def compiled_whole(shape: Whole) -> Callable[[Any], Any]:
    """What ``plans.whole_object`` does for ``shape``, compiled."""
    w = _Writer()
    render = w.name(shape.render or compiled(shape.steps), "render")
    steps = w.name(shape.steps, "steps")
    w.add(0, "def whole(value):")
    w.add(1, "if isinstance(value, Exception):")
    w.add(2, "raise Bail")
    if shape.is_type_of is not None:
        is_type_of = w.name(shape.is_type_of, "is_type_of")
        w.add(1, f"if {is_type_of}(value, None) is not True:")
        w.add(2, "raise Bail")
    for attribute in shape.needed:
        w.add(1, f"if {_read('value', attribute)} is None:")
        w.add(2, "raise NotAtHand")
    # What ``rendered`` does first: an object that is never kept is rendered.
    w.add(1, "kept_if = IMMUTABLE.get(type(value), NEVER)")
    w.add(1, "if kept_if is NEVER or (")
    w.add(2, "kept_if is not None and not getattr(value, kept_if)")
    w.add(1, "):")
    w.add(2, f"return {render}(value)")
    w.add(1, f"return rendered({steps}, value, {render})")
    whole: Callable[[Any], Any] = w.function("whole")
    return whole
