"""Croissant (ML Commons) JSON-LD metadata for a dataset's converted Parquet files, in the shape
the Hub's ``/croissant`` gives: one FileSet per config, one RecordSet per config with a field per
column, typed from the ``datasets`` features."""

from __future__ import annotations

import json
from typing import Any

from dockyard.viewer.catalog import SplitEntry
from dockyard.viewer.features import kind_of

CONTEXT = {
    "@language": "en",
    "@vocab": "https://schema.org/",
    "citeAs": "cr:citeAs",
    "column": "cr:column",
    "conformsTo": "dct:conformsTo",
    "cr": "http://mlcommons.org/croissant/",
    "data": {"@id": "cr:data", "@type": "@json"},
    "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
    "dct": "http://purl.org/dc/terms/",
    "extract": "cr:extract",
    "field": "cr:field",
    "fileObject": "cr:fileObject",
    "fileProperty": "cr:fileProperty",
    "fileSet": "cr:fileSet",
    "format": "cr:format",
    "includes": "cr:includes",
    "isLiveDataset": "cr:isLiveDataset",
    "jsonPath": "cr:jsonPath",
    "key": "cr:key",
    "md5": "cr:md5",
    "parentField": "cr:parentField",
    "path": "cr:path",
    "recordSet": "cr:recordSet",
    "references": "cr:references",
    "regex": "cr:regex",
    "repeated": "cr:repeated",
    "replace": "cr:replace",
    "sc": "https://schema.org/",
    "separator": "cr:separator",
    "source": "cr:source",
    "subField": "cr:subField",
    "transform": "cr:transform",
}

_DATA_TYPES = {
    "Value:bool": "sc:Boolean",
    "Value:string": "sc:Text",
    "Value:large_string": "sc:Text",
    "Image": "sc:ImageObject",
}


def _data_type(feature: Any) -> str:
    kind = kind_of(feature)
    if kind in _DATA_TYPES:
        return _DATA_TYPES[kind]
    if kind.startswith("Value:int") or kind.startswith("Value:uint") or kind == "ClassLabel":
        return "sc:Integer"
    if kind.startswith("Value:float"):
        return "sc:Float"
    if kind.startswith("Value:timestamp") or kind.startswith("Value:date"):
        return "sc:Date"
    return "sc:Text"


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)


def document(*, name: str, url: str, parquet_base: str, entries: list[SplitEntry]) -> dict[str, Any]:
    """The Croissant document for the converted splits ``entries``."""
    distribution: list[dict[str, Any]] = [
        {
            "@type": "cr:FileObject",
            "@id": "repo",
            "name": "repo",
            "description": "The Hugging Face git repository.",
            "contentUrl": url + "/tree/refs%2Fconvert%2Fparquet",
            "encodingFormat": "git+https",
            "sha256": "https://github.com/mlcommons/croissant/issues/80",
        }
    ]
    record_sets = []
    for config in dict.fromkeys(e.config for e in entries):
        file_set = f"parquet-files-for-config-{_safe(config)}"
        distribution.append(
            {
                "@type": "cr:FileSet",
                "@id": file_set,
                "name": file_set,
                "description": "The underlying Parquet files as converted by the viewer.",
                "containedIn": {"@id": "repo"},
                "encodingFormat": "application/x-parquet",
                "includes": f"{config}/*/*.parquet",
            }
        )
        features = next((e.features for e in entries if e.config == config and e.features), {}) or {}
        record_id = _safe(config)
        fields = [
            {
                "@type": "cr:Field",
                "@id": f"{record_id}/{_safe(column)}",
                "name": f"{record_id}/{column}",
                "dataType": _data_type(feature),
                "source": {"fileSet": {"@id": file_set}, "extract": {"column": column}},
            }
            for column, feature in features.items()
        ]
        record_sets.append(
            {"@type": "cr:RecordSet", "@id": record_id, "name": record_id, "description": config, "field": fields}
        )
    return {
        "@context": CONTEXT,
        "@type": "sc:Dataset",
        "conformsTo": "http://mlcommons.org/croissant/1.1",
        "name": name.replace("/", "_"),
        "description": f"{name} (Parquet export at {parquet_base})",
        "url": url,
        "distribution": distribution,
        "recordSet": record_sets,
    }


def dumps(document: dict[str, Any]) -> str:
    return json.dumps(document, separators=(",", ":"))
