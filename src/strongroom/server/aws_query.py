"""AWS query protocol: form-encoded requests decoded against botocore models, XML responses."""

# Conventions (each pinned by tests/unit/server/test_aws_query.py):
#
# * The form body is read exactly as botocore's QuerySerializer writes it: UTF-8, '+' is a
#   space, '%XX' escapes, '&'-separated 'name=value' pairs. A pair without '=', a broken '%'
#   escape, bytes that are not UTF-8 or a parameter given twice is MalformedQueryString;
#   nothing of the body is echoed.
# * Parameter names are dotted paths: structure members 'A.B', lists 'Name.member.N'
#   (N from 1; a flattened list has no '.member'), maps 'Name.entry.N.key' / '.value'. An
#   empty list is 'Name=' with nothing under it. Parameters the model does not know, and list
#   indexes that are not positive integers, are ignored as AWS ignores them.
# * Scalars become the JSON types aws_json's compiled decoders expect (integers, booleans
#   'true'/'false' in any case, floats; strings, ISO 8601 timestamps and base64 blobs stay
#   text), so the model constraints are checked by the very same code, with the same texts,
#   as the JSON services: a violation is ValidationError (the query services' code), a
#   scalar that is not of its type InvalidParameterValue.
# * Responses are '<{Op}Response xmlns=ns><{Op}Result>...</{Op}Result><ResponseMetadata>
#   <RequestId>id</RequestId></ResponseMetadata></{Op}Response>' as botocore's QueryParser
#   reads them. Every text is escaped with xml.sax.saxutils (and CR as '&#13;' so it survives
#   XML line-end normalisation); characters XML 1.0 cannot carry become U+FFFD.

from __future__ import annotations

import binascii
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import unquote_to_bytes
from xml.sax.saxutils import escape

from botocore.model import ServiceModel, Shape

from strongroom.errors import (
    InvalidParameterValue,
    MalformedQueryString,
    SerializationException,
    ValidationError,
    ValidationException,
)
from strongroom.server import aws_json

__all__ = [
    "FORM_CONTENT_TYPE",
    "XML_CONTENT_TYPE",
    "QueryCodec",
    "member_names",
    "parse_form",
    "xml_text",
]

FORM_CONTENT_TYPE: Final = "application/x-www-form-urlencoded"
XML_CONTENT_TYPE: Final = b"text/xml"

_BAD_ESCAPE: Final = re.compile(r"%(?![0-9A-Fa-f]{2})")
_INDEX: Final = re.compile(r"[1-9][0-9]{0,8}")
_INTEGER_TEXT: Final = re.compile(r"[+-]?[0-9]{1,40}")
_FLOAT_TEXT: Final = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_NOT_XML: Final = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_XML_ENTITIES: Final = {"\r": "&#13;", '"': "&quot;"}
_INTEGER_TYPES: Final = frozenset({"integer", "long", "short", "byte"})
_MALFORMED: Final = "The request body is not a valid form-encoded query string."


# --------------------------------------------------------------------------------------------
# Form body


def _unquote(text: str) -> str:
    if "%" in text:
        if _BAD_ESCAPE.search(text):
            raise MalformedQueryString(_MALFORMED)
        return unquote_to_bytes(text.replace("+", " ")).decode("utf-8")
    return text.replace("+", " ")


def parse_form(body: bytes) -> dict[str, str]:
    """The parameters of a form-encoded body; MalformedQueryString for anything else."""
    try:
        text = body.decode("utf-8")
        params: dict[str, str] = {}
        for part in text.split("&"):
            if not part:
                continue
            raw_name, equals, raw_value = part.partition("=")
            if not equals:
                raise MalformedQueryString(_MALFORMED)
            name = _unquote(raw_name)
            if not name or name in params:
                raise MalformedQueryString(
                    "The request body names a parameter twice, or has an empty name."
                )
            params[name] = _unquote(raw_value)
    except UnicodeDecodeError:
        raise MalformedQueryString("The request body is not valid UTF-8.") from None
    return params


class _Node:
    """One segment of the dotted parameter names: its value and the segments under it."""

    __slots__ = ("children", "value")

    def __init__(self) -> None:
        self.value: str | None = None
        self.children: dict[str, _Node] = {}


def _tree(params: Mapping[str, str]) -> _Node:
    root = _Node()
    for name, value in params.items():
        node = root
        for segment in name.split("."):
            child = node.children.get(segment)
            if child is None:
                child = node.children[segment] = _Node()
            node = child
        node.value = value
    return root


# --------------------------------------------------------------------------------------------
# Form parameters → the JSON-typed document aws_json's decoders validate


class _Absent:
    """Marks a member that the form does not carry."""


_ABSENT: Final = _Absent()


def _lower_camel(name: str) -> str:
    if len(name) > 1 and name[0].isupper() and name[1].isupper():
        return name
    return name[:1].lower() + name[1:]


def _form_key(member: Shape, name: str) -> str:
    """The segment a structure member is sent under (botocore's flattened-list rule too)."""
    if member.type_name == "list" and member.serialization.get("flattened"):
        item_name = member.member.serialization.get("name")
        if item_name:
            return str(item_name)
    return str(member.serialization.get("name", name))


def _indexed(parent: _Node | None) -> list[_Node]:
    if parent is None:
        return []
    found = [(int(key), node) for key, node in parent.children.items() if _INDEX.fullmatch(key)]
    found.sort(key=lambda pair: pair[0])
    return [node for _, node in found]


def _wrong_type(path: str, kind: str) -> InvalidParameterValue:
    return InvalidParameterValue(f"Value at '{path}' is not a valid {kind}.")


def _document(node: _Node, shape: Shape, path: str) -> Any:
    kind = shape.type_name
    if kind == "structure":
        if not node.children:
            return _ABSENT
        result: dict[str, Any] = {}
        for name, member in shape.members.items():
            child = node.children.get(_form_key(member, name))
            if child is None:
                continue
            camel = _lower_camel(name)
            value = _document(child, member, f"{path}.{camel}" if path else camel)
            if value is not _ABSENT:
                result[str(member.serialization.get("name", name))] = value
        return result
    if kind == "list":
        item_shape = shape.member
        if shape.serialization.get("flattened"):
            items = _indexed(node)
        else:
            items = _indexed(node.children.get(item_shape.serialization.get("name", "member")))
        if not items:
            return [] if node.value == "" else _ABSENT
        converted = []
        for index, item in enumerate(items, 1):
            value = _document(item, item_shape, f"{path}.{index}.member")
            converted.append(None if value is _ABSENT else value)
        return converted
    if kind == "map":
        entries = _indexed(
            node if shape.serialization.get("flattened") else node.children.get("entry")
        )
        key_name = shape.key.serialization.get("name", "key")
        value_name = shape.value.serialization.get("name", "value")
        mapping: dict[str, Any] = {}
        for entry in entries:
            key_node = entry.children.get(key_name)
            if key_node is None or key_node.value is None:
                continue
            value_node = entry.children.get(value_name)
            value = _ABSENT if value_node is None else _document(value_node, shape.value, path)
            mapping[key_node.value] = None if value is _ABSENT else value
        return mapping if mapping else _ABSENT
    text = node.value
    if text is None:
        return _ABSENT
    if kind in _INTEGER_TYPES:
        if not _INTEGER_TEXT.fullmatch(text):
            raise _wrong_type(path, "integer")
        return int(text)
    if kind == "boolean":
        lowered = text.lower()
        if lowered not in ("true", "false"):
            raise _wrong_type(path, "boolean")
        return lowered == "true"
    if kind in ("float", "double"):
        if not _FLOAT_TEXT.fullmatch(text) or not math.isfinite(float(text)):
            raise _wrong_type(path, "number")
        return float(text)
    return text  # string, blob (base64) and timestamp (ISO 8601): aws_json reads the text


# --------------------------------------------------------------------------------------------
# XML responses


def xml_text(value: str) -> str:
    """``value`` as XML character data: escaped, and with what XML 1.0 cannot carry replaced."""
    if _NOT_XML.search(value):
        value = _NOT_XML.sub("\ufffd", value)
    return escape(value, _XML_ENTITIES)


def _timestamp_text(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += f".{moment.microsecond // 1000:03d}"
    return text + "Z"


def _scalar_text(value: Any, kind: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return _timestamp_text(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return binascii.b2a_base64(value, newline=False).decode("ascii")
    if isinstance(value, str):
        return xml_text(value)
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        if not math.isfinite(value):
            raise TypeError(f"cannot encode a non-finite {kind} in a query response")
        return repr(value)
    raise TypeError(f"cannot encode {type(value).__name__} as a {kind} in a query response")


def _normal(name: str) -> str:
    return name.replace("_", "").lower()


class _XmlWriter:
    """Writes a document as the elements of a model shape (members matched by name)."""

    def __init__(self) -> None:
        # structure shape name → normalised member name → (member name, member shape)
        self._plans: dict[str, dict[str, tuple[str, Shape]]] = {}

    def _plan(self, shape: Shape) -> dict[str, tuple[str, Shape]]:
        plan = self._plans.get(shape.name)
        if plan is None:
            plan = {_normal(name): (name, member) for name, member in shape.members.items()}
            self._plans[shape.name] = plan
        return plan

    def structure(self, out: list[str], document: Mapping[str, Any], shape: Shape) -> None:
        plan = self._plan(shape)
        for key, value in document.items():
            if value is None:
                continue
            found = plan.get(_normal(key))
            if found is None:
                raise TypeError(f"{shape.name} has no member {key!r}")
            name, member = found
            if member.type_name == "list" and member.serialization.get("flattened"):
                tag = member.member.serialization.get("name", name)
                for item in value:
                    self.element(out, tag, item, member.member)
            elif member.type_name == "map" and member.serialization.get("flattened"):
                self._entries(out, member.serialization.get("name", name), value, member)
            else:
                self.element(out, member.serialization.get("name", name), value, member)

    def element(self, out: list[str], tag: str, value: Any, shape: Shape) -> None:
        kind = shape.type_name
        out.append(f"<{tag}>")
        if kind == "structure":
            self.structure(out, value, shape)
        elif kind == "list":
            item_tag = shape.member.serialization.get("name", "member")
            for item in value:
                self.element(out, item_tag, item, shape.member)
        elif kind == "map":
            self._entries(out, "entry", value, shape)
        else:
            out.append(_scalar_text(value, kind))
        out.append(f"</{tag}>")

    def _entries(self, out: list[str], tag: str, value: Mapping[str, Any], shape: Shape) -> None:
        key_tag = shape.key.serialization.get("name", "key")
        value_tag = shape.value.serialization.get("name", "value")
        for key, item in value.items():
            out.append(f"<{tag}>")
            self.element(out, key_tag, key, shape.key)
            self.element(out, value_tag, item, shape.value)
            out.append(f"</{tag}>")


# --------------------------------------------------------------------------------------------
# One service


def member_names(service_model: ServiceModel) -> dict[str, str]:
    """normalised name → a member name, for ``wire_mapping.to_wire``. Unlike
    ``wire_mapping.member_names`` it tolerates names differing only in case (IAM has
    'IsTruncated' and 'isTruncated'): the XML writer matches members by normalised name."""
    table: dict[str, str] = {}
    for shape_name in service_model.shape_names:
        shape = service_model.shape_for(shape_name)
        if shape.type_name == "structure" and not shape.metadata.get("exception"):
            for member in shape.members:
                table.setdefault(_normal(member), member)
    return table


class QueryCodec:
    """Decoders and encoders for every operation of one query-protocol service model."""

    def __init__(self, model: ServiceModel) -> None:
        self.api_version: str = model.metadata["apiVersion"]
        self.namespace: str = model.metadata["xmlNamespace"]
        self.operation_names = frozenset(model.operation_names)
        self._model = model
        self._decoders = aws_json.compile_service(model)
        self._writer = _XmlWriter()

    def decode(self, operation: str, params: Mapping[str, str]) -> dict[str, Any]:
        """The validated request document (member names → decoded values) of ``params``."""
        shape = self._model.operation_model(operation).input_shape
        document: Any = {} if shape is None else _document(_tree(params), shape, "")
        if document is _ABSENT:
            document = {}
        try:
            return self._decoders[operation].decode(document)
        except ValidationException as error:
            raise ValidationError(error.message) from None
        except SerializationException as error:
            raise InvalidParameterValue(error.message) from None

    def encode_response(
        self, operation: str, document: Mapping[str, Any] | None, request_id: str
    ) -> bytes:
        """The XML response; ``document`` is the ``to_wire`` form of the result (or None)."""
        shape = self._model.operation_model(operation).output_shape
        out = [f'<{operation}Response xmlns="{xml_text(self.namespace)}">']
        if shape is not None:
            wrapper = shape.serialization.get("resultWrapper", f"{operation}Result")
            out.append(f"<{wrapper}>")
            if document:
                self._writer.structure(out, document, shape)
            out.append(f"</{wrapper}>")
        out.append(
            f"<ResponseMetadata><RequestId>{xml_text(request_id)}</RequestId>"
            f"</ResponseMetadata></{operation}Response>"
        )
        return "".join(out).encode("utf-8")
