"""The conditions of a data source query's filter, each compiled to a test of a plain value."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from firebell.testing.fake_notion.errors import _body_invalid
from firebell.testing.fake_notion.property_values import _TEXT_PROPERTIES


def _operator(prop_type: str, operator: str, operand: Any, where: str) -> Callable[[Any], bool]:
    if operator == "is_empty":
        return lambda value: value in (None, "", [])
    if operator == "is_not_empty":
        return lambda value: value not in (None, "", [])
    if prop_type in _TEXT_PROPERTIES or prop_type in ("select", "status"):
        text_ops: dict[str, Callable[[str, str], bool]] = {
            "equals": lambda v, o: v == o,
            "does_not_equal": lambda v, o: v != o,
        }
        if prop_type in _TEXT_PROPERTIES:
            text_ops.update(
                contains=lambda v, o: o in v,
                does_not_contain=lambda v, o: o not in v,
                starts_with=lambda v, o: v.startswith(o),
                ends_with=lambda v, o: v.endswith(o),
            )
        if operator in text_ops and isinstance(operand, str):
            op = text_ops[operator]
            return lambda value: op(value or "", operand)
    elif prop_type == "number" and isinstance(operand, int | float):
        number_ops: dict[str, Callable[[float, float], bool]] = {
            "equals": lambda v, o: v == o,
            "does_not_equal": lambda v, o: v != o,
            "greater_than": lambda v, o: v > o,
            "less_than": lambda v, o: v < o,
            "greater_than_or_equal_to": lambda v, o: v >= o,
            "less_than_or_equal_to": lambda v, o: v <= o,
        }
        if operator in number_ops:
            nop = number_ops[operator]
            return lambda value: value is not None and nop(value, operand)
    elif prop_type == "checkbox" and isinstance(operand, bool):
        if operator in ("equals", "does_not_equal"):
            return lambda value: (value == operand) == (operator == "equals")
    elif prop_type == "date" and isinstance(operand, str):
        date_ops: dict[str, Callable[[str, str], bool]] = {
            "equals": lambda v, o: v[: len(o)] == o,
            "before": lambda v, o: v < o,
            "after": lambda v, o: v > o,
            "on_or_before": lambda v, o: v <= o,
            "on_or_after": lambda v, o: v >= o,
        }
        if operator in date_ops:
            dop = date_ops[operator]
            return lambda value: value is not None and dop(value, operand)
    raise _body_invalid(
        f"{where}.{operator} is not a filter this fake supports for a {prop_type} property "
        f"(operand `{operand!r}`)."
    )
