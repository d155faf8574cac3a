"""Mechanical mapping between AWS member names (PascalCase) and the services' dataclasses."""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from functools import cache
from typing import Any, TypeVar

T = TypeVar("T")


def _normal(name: str) -> str:
    return name.replace("_", "").lower()


def member_names(service_model: Any) -> dict[str, str]:
    """normalised name → AWS member name, over every structure shape of a service model."""
    table: dict[str, str] = {}
    for shape_name in service_model.shape_names:
        shape = service_model.shape_for(shape_name)
        # Error shapes are encoded elsewhere (and KMS's spell ``message`` in lower case).
        if shape.type_name != "structure" or shape.metadata.get("exception"):
            continue
        for member in shape.members:
            previous = table.setdefault(_normal(member), member)
            if previous != member:
                raise ValueError(f"ambiguous member names {previous!r} and {member!r}")
    return table


def _strip_optional(tp: Any) -> Any:
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return tp


def _converter(tp: Any) -> Callable[[Any], Any]:
    tp = _strip_optional(tp)
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        return lambda value: from_wire(tp, value)
    if origin is tuple:
        item = _converter(typing.get_args(tp)[0])
        return lambda value: tuple(item(v) for v in value)
    return lambda value: value


@cache
def _request_plan(cls: type[Any]) -> tuple[tuple[str, str, Callable[[Any], Any]], ...]:
    hints = typing.get_type_hints(cls)
    return tuple(
        (_normal(f.name), f.name, _converter(hints[f.name])) for f in dataclasses.fields(cls)
    )


def from_wire(cls: type[T], document: Mapping[str, Any]) -> T:
    """Build a request dataclass from a validated document (members matched by name)."""
    by_normal = {_normal(k): v for k, v in document.items()}
    kwargs = {}
    for normal, attribute, convert in _request_plan(cls):  # type: ignore[arg-type]
        if normal in by_normal and by_normal[normal] is not None:
            kwargs[attribute] = convert(by_normal[normal])
    return cls(**kwargs)


def to_wire(result: Any, names: Mapping[str, str]) -> Any:
    """A result dataclass as the document AWS would send (None members left out)."""
    kind = type(result)
    if kind in _SCALARS:  # most members: decided without the checks below
        return result
    if hasattr(kind, "__dataclass_fields__"):  # an instance (a class's type is ``type``)
        out: dict[str, Any] = {}
        for attribute, wire_name in _result_plan(type(result), names):
            value = getattr(result, attribute)
            if value is not None:
                out[wire_name] = to_wire(value, names)
        return out
    if isinstance(result, tuple | list):
        return [to_wire(v, names) for v in result]
    if isinstance(result, dict):
        return {k: to_wire(v, names) for k, v in result.items()}
    if isinstance(result, str | bytes | int | float | bool | datetime):
        return result
    raise TypeError(f"cannot put {type(result).__name__} on the wire")


_SCALARS = frozenset({str, bytes, int, float, bool, datetime})
_plans: dict[tuple[type[Any], int], tuple[tuple[str, str], ...]] = {}


def _result_plan(cls: type[Any], names: Mapping[str, str]) -> Iterable[tuple[str, str]]:
    key = (cls, id(names))
    plan = _plans.get(key)
    if plan is None:
        plan = tuple((f.name, names[_normal(f.name)]) for f in dataclasses.fields(cls))
        _plans[key] = plan
    return plan
