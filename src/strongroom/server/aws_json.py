"""AWS JSON 1.1 bodies: parse and validate requests against botocore models, encode responses."""

# Conventions (each pinned by tests/unit/server/test_aws_json.py):
#
# * Member paths in ValidationException messages are the lowerCamelCase member names
#   (java.beans.Introspector.decapitalize: "SecretId" -> "secretId", "ARN" stays "ARN"), joined
#   with ".". An element of a list of structures (or of lists/maps) is "<list>.<n>.member" with n
#   counted from 1, e.g. "tags.2.member.key", "filters.1.member.values".
# * Lists of scalars, and map keys/values that are scalars, are reported the way AWS reports them:
#   one error at the list or map path listing every constraint of the element shape, e.g.
#   "Value at 'filters.1.member.values' failed to satisfy constraint: Member must satisfy
#   constraint: [Member must have length less than or equal to 512, ..., Member must not be null]",
#   "Value at 'encryptionContext' failed to satisfy constraint: Map value must satisfy
#   constraint: [Member must not be null]", "... Map keys must satisfy constraint: [...]".
#   So map keys never appear in a path. A non-scalar map value (none in the models we serve)
#   is reported under "<map>.<key>", or "<map>.*" when the map is in a sensitive context.
# * Errors are sorted by path (list indexes numerically); several errors at one path keep the
#   order max, min, pattern, enum. A wrong JSON type anywhere is a SerializationException, which
#   wins over any constraint violation (AWS deserializes before it validates).
# * Values are echoed ("Value 'v' at ...", truncated to 100 characters) only for strings, numbers,
#   booleans and lists of those, and never when the shape or anything enclosing it is sensitive.
#   Blobs, timestamps, structures and maps are never echoed. "Value null" is not an echo.
# * JSON null for a member means "absent". A required member absent or null is
#   "Value null at 'p' failed to satisfy constraint: Member must not be null".
# * Patterns are Java regexes, full-match semantics (Java's String.matches), compiled with
#   re.ASCII so that \w, \d and \s mean what they mean in Java.

from __future__ import annotations

import base64
import binascii
import json
import math
import re
import warnings
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Final, NoReturn

from botocore.model import OperationModel, ServiceModel, Shape

from strongroom.errors import SerializationException, ValidationException

__all__ = [
    "MAX_JSON_DEPTH",
    "SKIPPED_PATTERNS",
    "OperationDecoder",
    "compile_service",
    "encode_response",
    "parse_json_body",
]

MAX_JSON_DEPTH: Final = 32

# Model patterns that Python's `re` cannot compile (or would read differently from Java, which
# `re` flags with a FutureWarning, e.g. nested sets or "&&" intersections). Their values are
# then not pattern-checked here. Java-only syntax that would land here: \p{...} classes, \Q..\E,
# (?<name>...) groups, set intersections.
# For botocore's secretsmanager 2017-10-17 and kms 2014-11-01 models the list is empty: every
# pattern in both compiles (the tests check this, so a botocore upgrade that adds one fails loudly
# and the pattern must be listed here).
SKIPPED_PATTERNS: Final[frozenset[str]] = frozenset()

_ECHO_LIMIT: Final = 100
_INT_RANGES: Final[dict[str, tuple[int, int, str]]] = {
    "byte": (-(2**7), 2**7 - 1, "a Byte"),
    "short": (-(2**15), 2**15 - 1, "a Short"),
    "integer": (-(2**31), 2**31 - 1, "an Integer"),
    "long": (-(2**63), 2**63 - 1, "a Long"),
}
_SCALAR_TYPES: Final = frozenset(
    {"string", "boolean", "blob", "timestamp", "float", "double", *_INT_RANGES}
)

_Errors = list[tuple[str, str]]  # (member path, constraint message)
_Decoder = Callable[[Any, str, _Errors], Any]


# --------------------------------------------------------------------------------------------
# Request body parsing


class _BadJson(ValueError):
    """Raised by the json hooks; always turned into a SerializationException."""


def _reject_constant(_name: str) -> NoReturn:
    raise _BadJson("NaN and Infinity are not JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # "1e400" parses to inf
        raise _BadJson("number out of range")
    return value


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise _BadJson("duplicate member name")
    return result


_JSON_DECODER: Final = json.JSONDecoder(
    object_pairs_hook=_unique_pairs,
    parse_float=_finite_float,
    parse_constant=_reject_constant,
)


def _too_deep(document: dict[str, Any]) -> bool:
    """True if containers nest deeper than MAX_JSON_DEPTH (the top-level object is depth 1)."""
    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            return True
        children: Iterable[Any] = node.values() if type(node) is dict else node
        for child in children:
            if type(child) is dict or type(child) is list:
                stack.append((child, depth + 1))
    return False


def parse_json_body(body: bytes) -> dict[str, Any]:
    """Parse a JSON 1.1 request body; an empty (or all-whitespace) body is ``{}``.

    Strict where the standard is loose: UTF-8 only, no NaN/Infinity or out-of-range floats,
    no duplicate member names, at most 32 levels of nesting. Every failure is a
    SerializationException whose message never quotes the body.
    """
    if not body or body.isspace():
        return {}
    try:
        document = _JSON_DECODER.decode(body.decode("utf-8"))
    except (ValueError, RecursionError):  # JSONDecodeError, UnicodeDecodeError, _BadJson, ...
        raise SerializationException("The request body is not a valid JSON document.") from None
    if type(document) is not dict:
        raise SerializationException("The request body must be a JSON object.")
    # Cheap exact bound first: depth can never exceed the number of opening brackets.
    if body.count(b"{") + body.count(b"[") > MAX_JSON_DEPTH and _too_deep(document):
        raise SerializationException(
            f"The request body nests more than {MAX_JSON_DEPTH} levels deep."
        )
    return document


# --------------------------------------------------------------------------------------------
# Error texts


def _token(value: Any) -> str:
    """Jackson's name for the JSON token a value came from."""
    if value is True:
        return "TRUE_VALUE"
    if value is False:
        return "FALSE_VALUE"
    if isinstance(value, str):
        return "STRING_VALUE"
    if isinstance(value, int):
        return "NUMBER_VALUE"
    if isinstance(value, float):
        return "DECIMAL_VALUE"
    return "VALUE"


def _wrong_scalar(value: Any, target: str) -> NoReturn:
    """A scalar member got the wrong JSON type; `target` is e.g. "an Integer"."""
    if isinstance(value, Mapping):
        raise SerializationException("Start of structure or map found where not expected.")
    if isinstance(value, list | tuple):
        raise SerializationException("Start of list found where not expected.")
    raise SerializationException(f"{_token(value)} can not be converted to {target}")


def _wrong_container(value: Any, *, is_list: bool) -> NoReturn:
    """A list, map or structure member got the wrong JSON type."""
    if is_list and isinstance(value, Mapping):
        raise SerializationException("Start of structure or map found where not expected.")
    if not is_list and isinstance(value, list | tuple):
        raise SerializationException("Start of list found where not expected.")
    raise SerializationException("Unexpected field type")


def _bad_unicode(value: str) -> None:
    """Reject lone surrogates ("\\ud800" is valid JSON but not a Unicode string)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise SerializationException("Invalid Unicode string value.") from None


def _quote(text: str) -> str:
    if len(text) > _ECHO_LIMIT:
        text = text[:_ECHO_LIMIT] + "..."
    return f"'{text}' "


def _violation(echo: str, path: str, constraint: str) -> tuple[str, str]:
    return path, f"Value {echo}at '{path}' failed to satisfy constraint: {constraint}"


def _not_null(path: str) -> tuple[str, str]:
    return _violation("null ", path, "Member must not be null")


def _format_number(number: float) -> str:
    if isinstance(number, float) and number.is_integer():
        return str(int(number))
    return str(number)


def _path_key(path: str) -> tuple[tuple[int, int, str], ...]:
    """Sort key of a member path: list indexes compare as numbers ("tags.2" < "tags.10")."""
    return tuple(
        (0, int(part), "") if part.isascii() and part.isdigit() and len(part) < 19 else (1, 0, part)
        for part in path.split(".")
    )


def _validation_message(errors: _Errors) -> str:
    ordered = sorted(errors, key=lambda error: _path_key(error[0]))  # stable within one path
    count = len(ordered)
    noun = "error" if count == 1 else "errors"
    return f"{count} validation {noun} detected: " + "; ".join(text for _, text in ordered)


# --------------------------------------------------------------------------------------------
# Compilation: one closure per shape, built once


def _lower_camel(name: str) -> str:
    if len(name) > 1 and name[0].isupper() and name[1].isupper():
        return name  # java.beans.Introspector.decapitalize
    return name[:1].lower() + name[1:]


def _compile_pattern(pattern: str) -> re.Pattern[str] | None:
    """Compile a model pattern, or None if it is in SKIPPED_PATTERNS or does not compile."""
    if pattern in SKIPPED_PATTERNS:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            return re.compile(pattern, re.ASCII)
    except (re.error, FutureWarning, DeprecationWarning):
        return None


def _constraint_texts(shape: Any) -> list[str]:
    """Every constraint of a scalar shape, in the order AWS lists them."""
    meta = shape.metadata
    texts: list[str] = []
    kind = "length" if shape.type_name in ("string", "blob") else "value"
    if "max" in meta:
        texts.append(f"Member must have {kind} less than or equal to {_format_number(meta['max'])}")
    if "min" in meta:
        texts.append(
            f"Member must have {kind} greater than or equal to {_format_number(meta['min'])}"
        )
    pattern = meta.get("pattern")
    if pattern is not None and _compile_pattern(pattern) is not None:
        texts.append(f"Member must satisfy regular expression pattern: {pattern}")
    enum = getattr(shape, "enum", None) or meta.get("enum")
    if shape.type_name == "string" and enum:
        texts.append(f"Member must satisfy enum value set: [{', '.join(enum)}]")
    return texts


class _Compiler:
    """Builds decoders for one service model, sharing them between operations."""

    def __init__(self) -> None:
        self._cells: dict[tuple[Any, ...], list[_Decoder]] = {}

    def decoder(self, shape: Shape, sensitive: bool) -> _Decoder:
        sensitive = sensitive or bool(shape.metadata.get("sensitive"))
        meta = shape.metadata
        key = (
            shape.name,
            shape.type_name,
            sensitive,
            meta.get("min"),
            meta.get("max"),
            meta.get("pattern"),
            tuple(meta.get("enum") or ()),
        )
        pending = self._cells.get(key)
        if pending is not None:
            if pending:
                return pending[0]

            def late(value: Any, path: str, errors: _Errors) -> Any:  # a recursive shape
                return pending[0](value, path, errors)

            return late
        cell: list[_Decoder] = []
        self._cells[key] = cell
        built = self._build(shape, sensitive)
        cell.append(built)
        return built

    def _build(self, shape: Any, sensitive: bool) -> _Decoder:
        type_name = shape.type_name
        if type_name == "structure":
            if shape.metadata.get("document"):
                return _decode_document
            return self._structure(shape, sensitive)
        if type_name == "list":
            return self._list(shape, sensitive)
        if type_name == "map":
            return self._map(shape, sensitive)
        if type_name == "string":
            return _string_decoder(shape, sensitive)
        if type_name in _INT_RANGES:
            return _integer_decoder(shape, sensitive)
        if type_name in ("float", "double"):
            return _float_decoder(shape, sensitive)
        if type_name == "boolean":
            return _decode_boolean
        if type_name == "blob":
            return _blob_decoder(shape)
        if type_name == "timestamp":
            return _decode_timestamp
        raise ValueError(f"shape {shape.name} has unsupported type {type_name!r}")

    def _structure(self, shape: Any, sensitive: bool) -> _Decoder:
        members: dict[str, tuple[str, str, _Decoder]] = {}
        for name, member in shape.members.items():
            wire = member.serialization.get("name", name)
            members[wire] = (name, _lower_camel(name), self.decoder(member, sensitive))
        required = tuple((name, _lower_camel(name)) for name in shape.required_members)

        def decode_structure(value: Any, path: str, errors: _Errors) -> dict[str, Any]:
            if type(value) is not dict:
                _wrong_container(value, is_list=False)
            result: dict[str, Any] = {}
            for wire, item in value.items():
                member = members.get(wire)
                if member is None or item is None:
                    continue  # unknown members are dropped; null means absent
                name, camel, decode = member
                result[name] = decode(item, f"{path}.{camel}" if path else camel, errors)
            for name, camel in required:
                if name not in result:
                    errors.append(_not_null(f"{path}.{camel}" if path else camel))
            return result

        return decode_structure

    def _list(self, shape: Any, sensitive: bool) -> _Decoder:
        member_shape = shape.member
        decode_item = self.decoder(member_shape, sensitive)
        length_check = _length_checker(shape, "length", echo=False)
        if member_shape.type_name not in _SCALAR_TYPES:

            def decode_list(value: Any, path: str, errors: _Errors) -> list[Any]:
                if type(value) is not list:
                    _wrong_container(value, is_list=True)
                if length_check is not None:
                    length_check(len(value), value, path, errors)
                result: list[Any] = []
                for index, item in enumerate(value, 1):
                    item_path = f"{path}.{index}.member"
                    if item is None:
                        errors.append(_not_null(item_path))
                        result.append(None)
                    else:
                        result.append(decode_item(item, item_path, errors))
                return result

            return decode_list

        aggregate = (
            "Member must satisfy constraint: ["
            + ", ".join([*_constraint_texts(member_shape), "Member must not be null"])
            + "]"
        )
        may_echo = not sensitive and not member_shape.metadata.get("sensitive")
        may_echo = may_echo and member_shape.type_name in ("string", "boolean", *_INT_RANGES)

        def decode_scalar_list(value: Any, path: str, errors: _Errors) -> list[Any]:
            if type(value) is not list:
                _wrong_container(value, is_list=True)
            item_errors: _Errors = []
            saw_null = False
            result: list[Any] = []
            for item in value:
                if item is None:
                    saw_null = True
                    result.append(None)
                else:
                    result.append(decode_item(item, path, item_errors))
            if length_check is not None:
                length_check(len(value), value, path, errors)
            if item_errors or saw_null:
                echo = _echo_list(value) if may_echo else ""
                errors.append(_violation(echo, path, aggregate))
            return result

        return decode_scalar_list

    def _map(self, shape: Any, sensitive: bool) -> _Decoder:
        key_shape, value_shape = shape.key, shape.value
        decode_key = self.decoder(key_shape, sensitive)
        decode_value = self.decoder(value_shape, sensitive)
        length_check = _length_checker(shape, "length", echo=False)
        key_aggregate = (
            f"Map keys must satisfy constraint: [{', '.join(_constraint_texts(key_shape))}]"
        )
        value_texts = _constraint_texts(value_shape)
        scalar_values = value_shape.type_name in _SCALAR_TYPES

        def decode_map(value: Any, path: str, errors: _Errors) -> dict[str, Any]:
            if type(value) is not dict:
                _wrong_container(value, is_list=False)
            if length_check is not None:
                length_check(len(value), value, path, errors)
            key_errors: _Errors = []
            value_errors: _Errors = []
            saw_null = False
            result: dict[str, Any] = {}
            for raw_key, item in value.items():
                key = decode_key(raw_key, path, key_errors)
                if item is None:
                    saw_null = True
                    result[key] = None
                elif scalar_values:
                    result[key] = decode_value(item, path, value_errors)
                else:
                    item_path = f"{path}.*" if sensitive else f"{path}.{key}"
                    result[key] = decode_value(item, item_path, errors)
            if key_errors:
                errors.append(_violation("", path, key_aggregate))
            if value_errors or saw_null:
                texts = value_texts if scalar_values else []
                if saw_null:
                    texts = [*texts, "Member must not be null"]
                message = f"Map value must satisfy constraint: [{', '.join(texts)}]"
                errors.append(_violation("", path, message))
            return result

        return decode_map


def _echo_list(value: list[Any]) -> str:
    parts = [_java_string(item) for item in value]
    return _quote("[" + ", ".join(parts) + "]")


def _java_string(item: Any) -> str:
    if item is None:
        return "null"
    if isinstance(item, bool):
        return "true" if item else "false"
    return str(item)


_LengthCheck = Callable[[float, Any, str, _Errors], None]


def _length_checker(shape: Any, kind: str, *, echo: bool) -> _LengthCheck | None:
    """A check of a size (string/blob/list/map length, or a number's value) against min/max."""
    meta = shape.metadata
    low = meta.get("min")
    high = meta.get("max")
    if low is None and high is None:
        return None
    lowest = -math.inf if low is None else low
    highest = math.inf if high is None else high
    too_high = f"Member must have {kind} less than or equal to {_format_number(high or 0)}"
    too_low = f"Member must have {kind} greater than or equal to {_format_number(low or 0)}"

    def check(size: float, value: Any, path: str, errors: _Errors) -> None:
        if lowest <= size <= highest:
            return
        shown = _quote(str(value)) if echo else ""
        errors.append(_violation(shown, path, too_high if size > highest else too_low))

    return check


def _string_decoder(shape: Any, sensitive: bool) -> _Decoder:
    meta = shape.metadata
    low: int = meta.get("min", 0)
    high: float = meta.get("max", math.inf)
    pattern_text = meta.get("pattern")
    regex = None if pattern_text is None else _compile_pattern(pattern_text)
    enum_values = tuple(getattr(shape, "enum", None) or meta.get("enum") or ())
    enum_set = frozenset(enum_values)
    echo_allowed = not sensitive
    texts = {
        "max": f"Member must have length less than or equal to {_format_number(high)}",
        "min": f"Member must have length greater than or equal to {low}",
        "pattern": f"Member must satisfy regular expression pattern: {pattern_text}",
        "enum": f"Member must satisfy enum value set: [{', '.join(enum_values)}]",
    }

    def report(value: str, path: str, errors: _Errors) -> None:
        echo = _quote(value) if echo_allowed else ""
        size = len(value)
        if size > high:
            errors.append(_violation(echo, path, texts["max"]))
        if size < low:
            errors.append(_violation(echo, path, texts["min"]))
        if regex is not None and regex.fullmatch(value) is None:
            errors.append(_violation(echo, path, texts["pattern"]))
        if enum_set and value not in enum_set:
            errors.append(_violation(echo, path, texts["enum"]))

    if low == 0 and high == math.inf and regex is None and not enum_set:

        def decode_plain_string(value: Any, path: str, errors: _Errors) -> str:
            if type(value) is not str:
                _wrong_scalar(value, "a String")
            if not value.isascii():
                _bad_unicode(value)
            return value

        return decode_plain_string

    if regex is None and not enum_set:

        def decode_sized_string(value: Any, path: str, errors: _Errors) -> str:
            if type(value) is not str:
                _wrong_scalar(value, "a String")
            if not value.isascii():
                _bad_unicode(value)
            if not low <= len(value) <= high:
                report(value, path, errors)
            return value

        return decode_sized_string

    def decode_string(value: Any, path: str, errors: _Errors) -> str:
        if type(value) is not str:
            _wrong_scalar(value, "a String")
        if not value.isascii():
            _bad_unicode(value)
        if (
            not low <= len(value) <= high
            or (enum_set and value not in enum_set)
            or (regex is not None and regex.fullmatch(value) is None)
        ):
            report(value, path, errors)
        return value

    return decode_string


def _integer_decoder(shape: Any, sensitive: bool) -> _Decoder:
    smallest, largest, target = _INT_RANGES[shape.type_name]
    check = _length_checker(shape, "value", echo=not sensitive)

    def decode_integer(value: Any, path: str, errors: _Errors) -> int:
        if type(value) is not int:  # bool is not an integer here
            _wrong_scalar(value, target)
        if not smallest <= value <= largest:
            raise SerializationException(f"NUMBER_VALUE can not be converted to {target}")
        if check is not None:
            check(value, value, path, errors)
        return value

    return decode_integer


def _float_decoder(shape: Any, sensitive: bool) -> _Decoder:
    target = "a Float" if shape.type_name == "float" else "a Double"
    check = _length_checker(shape, "value", echo=not sensitive)

    def decode_float(value: Any, path: str, errors: _Errors) -> float:
        kind = type(value)
        if kind is not float and kind is not int:
            _wrong_scalar(value, target)
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if not math.isfinite(number):
            raise SerializationException(f"NUMBER_VALUE can not be converted to {target}")
        if check is not None:
            check(number, number, path, errors)
        return number

    return decode_float


def _decode_boolean(value: Any, path: str, errors: _Errors) -> bool:
    if type(value) is not bool:
        _wrong_scalar(value, "a Boolean")
    return value


def _decode_document(value: Any, path: str, errors: _Errors) -> Any:
    return value


def _blob_decoder(shape: Any) -> _Decoder:
    check = _length_checker(shape, "length", echo=False)  # blobs are never echoed

    def decode_blob(value: Any, path: str, errors: _Errors) -> bytes:
        if type(value) is not str:
            if isinstance(value, Mapping):
                raise SerializationException("Start of structure or map found where not expected.")
            raise SerializationException("only base-64-encoded strings are convertible to bytes")
        if len(value) % 4:
            raise SerializationException(
                f"Base64 encoded length is expected a multiple of 4 bytes but found: {len(value)}"
            )
        try:
            data = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise SerializationException("Invalid Base64 character detected.") from None
        if check is not None:
            check(len(data), data, path, errors)
        return data

    return decode_blob


def _decode_timestamp(value: Any, path: str, errors: _Errors) -> datetime:
    kind = type(value)
    try:
        if kind is int or kind is float:
            return datetime.fromtimestamp(value, UTC)
        if kind is str:
            parsed = datetime.fromisoformat(value)
            return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
    except (ValueError, OverflowError, OSError):
        raise SerializationException(
            f"{_token(value)} can not be converted to a Timestamp"
        ) from None
    _wrong_scalar(value, "a Timestamp")


def _decode_nothing(value: Any, path: str, errors: _Errors) -> dict[str, Any]:
    if type(value) is not dict:
        _wrong_container(value, is_list=False)
    return {}


class OperationDecoder:
    """Compiled once per operation from botocore's OperationModel input shape."""

    __slots__ = ("_root", "name")

    def __init__(self, name: str, root: _Decoder) -> None:
        self.name = name
        self._root = root

    def decode(self, document: dict[str, Any]) -> dict[str, Any]:
        """Validate a parsed request body (plain JSON types, as parse_json_body returns).

        Returns it decoded: blobs become bytes, timestamps tz-aware datetimes; unknown members
        and JSON nulls are dropped. Raises SerializationException for a wrong JSON type, and
        ValidationException, listing every violation, for broken model constraints.
        """
        errors: _Errors = []
        try:
            result: dict[str, Any] = self._root(document, "", errors)
        except RecursionError:  # only reachable through a recursive shape
            raise SerializationException("The request nests too deeply.") from None
        if errors:
            raise ValidationException(_validation_message(errors))
        return result

    def __repr__(self) -> str:
        return f"OperationDecoder({self.name!r})"


def _compile_operation(operation: OperationModel, compiler: _Compiler) -> OperationDecoder:
    shape = operation.input_shape
    root = _decode_nothing if shape is None else compiler.decoder(shape, sensitive=False)
    return OperationDecoder(operation.name, root)


def compile_service(service_model: ServiceModel) -> dict[str, OperationDecoder]:
    """Compile a decoder for every operation of a service model, keyed by operation name."""
    compiler = _Compiler()
    return {
        name: _compile_operation(service_model.operation_model(name), compiler)
        for name in service_model.operation_names
    }


# --------------------------------------------------------------------------------------------
# Responses


def _epoch_seconds(moment: datetime) -> float:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


_PLAIN_TYPES: Final = frozenset({str, int, bool, float})


def _clean_mapping(document: Mapping[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in document.items():
        if type(value) in _PLAIN_TYPES:
            result[key] = value
        elif value is not None:
            result[key] = _clean_value(value)
    return result


def _clean_value(value: Any) -> Any:
    kind = type(value)
    if kind in _PLAIN_TYPES or value is None:
        return value
    if kind is list or kind is tuple:
        return [item if type(item) in _PLAIN_TYPES else _clean_value(item) for item in value]
    if kind is dict:
        return _clean_mapping(value)
    if kind is datetime:
        return _epoch_seconds(value)
    if kind is bytes or kind is bytearray or kind is memoryview:
        return binascii.b2a_base64(value, newline=False).decode("ascii")
    # Subclasses: str/int enums, OrderedDict, MappingProxyType, datetime subclasses, ...
    if isinstance(value, str | int | float):
        return value
    if isinstance(value, datetime):
        return _epoch_seconds(value)
    if isinstance(value, Mapping):
        return _clean_mapping(value)
    if isinstance(value, list | tuple):
        return [_clean_value(item) for item in value]
    raise TypeError(f"cannot encode {kind.__name__} in an AWS JSON response")


def _encoder(*, ensure_ascii: bool) -> Callable[[dict[str, Any]], str]:
    """The C encoder called directly: json.dumps would rebuild it on every call."""
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # pragma: no cover - CPython always has the C accelerator
        encoder = json.JSONEncoder(
            ensure_ascii=ensure_ascii, allow_nan=False, separators=(",", ":")
        )
        return encoder.encode
    escape = (
        json.encoder.encode_basestring_ascii if ensure_ascii else json.encoder.encode_basestring
    )

    def refuse(value: Any) -> NoReturn:
        raise TypeError(f"cannot encode {type(value).__name__} in an AWS JSON response")

    # (markers, default, encoder, indent, key_separator, item_separator, sort_keys, skipkeys,
    # allow_nan); no circular-reference markers: _clean_mapping already built a fresh tree.
    iterencode = make(None, refuse, escape, None, ":", ",", False, False, False)

    def encode(document: dict[str, Any]) -> str:
        return "".join(iterencode(document, 0))

    return encode


_encode_unicode: Final = _encoder(ensure_ascii=False)
_encode_ascii: Final = _encoder(ensure_ascii=True)


def encode_response(document: Mapping[str, Any]) -> bytes:
    """Encode a JSON 1.1 response body.

    bytes become base64 text, datetimes epoch seconds (a float, as botocore reads "timestamp"
    members of the json protocol), members whose value is None are left out at every level.
    """
    cleaned = _clean_mapping(document)
    try:
        return _encode_unicode(cleaned).encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: escape it rather than fail
        return _encode_ascii(cleaned).encode("ascii")
