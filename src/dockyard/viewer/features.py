"""The split's features in the Hub's shapes. Files written by ``datasets`` (and by the converter)
carry their ``datasets.Features`` in the schema's ``huggingface`` metadata; other Parquet files get
features derived from their Arrow types, as ``datasets`` itself would."""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa  # type: ignore[import-untyped]

_ARROW_DTYPES = {
    "bool": "bool",
    "int8": "int8",
    "int16": "int16",
    "int32": "int32",
    "int64": "int64",
    "uint8": "uint8",
    "uint16": "uint16",
    "uint32": "uint32",
    "uint64": "uint64",
    "halffloat": "float16",
    "float": "float32",
    "double": "float64",
    "string": "string",
    "large_string": "large_string",
    "binary": "binary",
    "large_binary": "large_binary",
    "date32[day]": "date32",
    "date64[ms]": "date64",
}


def _feature_of(arrow_type: pa.DataType) -> dict[str, Any]:
    if pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type):
        return {"feature": _feature_of(arrow_type.value_type), "_type": "List"}
    if pa.types.is_struct(arrow_type):
        return {field.name: _feature_of(field.type) for field in arrow_type}
    if pa.types.is_timestamp(arrow_type):
        dtype = f"timestamp[{arrow_type.unit}" + (f", tz={arrow_type.tz}]" if arrow_type.tz else "]")
        return {"dtype": dtype, "_type": "Value"}
    return {"dtype": _ARROW_DTYPES.get(str(arrow_type), str(arrow_type)), "_type": "Value"}


def features_of(schema: pa.Schema) -> dict[str, Any]:
    """``{column: feature}`` in column order, as ``datasets`` serialises ``Features``."""
    meta = (schema.metadata or {}).get(b"huggingface")
    if meta:
        try:
            declared = json.loads(meta)["info"]["features"]
        except (ValueError, KeyError, TypeError):
            declared = None
        if isinstance(declared, dict) and set(declared) == set(schema.names):
            return {name: declared[name] for name in schema.names}
    return {field.name: _feature_of(field.type) for field in schema}


def feature_list(features: dict[str, Any]) -> list[dict[str, Any]]:
    """The viewer's ``features`` array: ``[{feature_idx, name, type}]``."""
    return [{"feature_idx": i, "name": name, "type": ftype} for i, (name, ftype) in enumerate(features.items())]


def kind_of(feature: Any) -> str:
    """A short name for how the viewer treats a column: ``Image``, ``Audio``, ``ClassLabel``,
    ``List``, ``Value:<dtype>``, or ``other``."""
    if isinstance(feature, list):
        return "List"
    if not isinstance(feature, dict):
        return "other"
    ftype = feature.get("_type")
    if ftype in ("Image", "Audio", "ClassLabel", "List", "Sequence", "LargeList"):
        return "List" if ftype in ("Sequence", "LargeList") else str(ftype)
    if ftype == "Value":
        return f"Value:{feature.get('dtype')}"
    return "other"
