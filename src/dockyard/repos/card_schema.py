"""The Hub's metadata schema for repo cards, as ``/api/validate-yaml`` checks it.

Only the card's already-bounded data is inspected (``cards.load_yaml`` limits size, depth and
node count), so these checks walk a small JSON-like value. Errors are what the Hub refuses
(an unknown license id, tags that are not a list, a malformed ``model-index``); warnings are
what it accepts but flags (no metadata at all).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# The Hub's license ids (hub-docs, repositories-licenses.md).
LICENSES = frozenset(
    [
        "apache-2.0",
        "mit",
        "openrail",
        "bigscience-openrail-m",
        "creativeml-openrail-m",
        "bigscience-bloom-rail-1.0",
        "bigcode-openrail-m",
        "afl-3.0",
        "artistic-2.0",
        "bsl-1.0",
        "bsd",
        "bsd-2-clause",
        "bsd-3-clause",
        "bsd-3-clause-clear",
        "c-uda",
        "cc",
        "cc0-1.0",
        "cc-by-2.0",
        "cc-by-2.5",
        "cc-by-3.0",
        "cc-by-4.0",
        "cc-by-sa-3.0",
        "cc-by-sa-4.0",
        "cc-by-nc-2.0",
        "cc-by-nc-3.0",
        "cc-by-nc-4.0",
        "cc-by-nd-4.0",
        "cc-by-nc-nd-3.0",
        "cc-by-nc-nd-4.0",
        "cc-by-nc-sa-2.0",
        "cc-by-nc-sa-3.0",
        "cc-by-nc-sa-4.0",
        "cdla-sharing-1.0",
        "cdla-permissive-1.0",
        "cdla-permissive-2.0",
        "wtfpl",
        "ecl-2.0",
        "epl-1.0",
        "epl-2.0",
        "etalab-2.0",
        "eupl-1.1",
        "eupl-1.2",
        "agpl-3.0",
        "gfdl",
        "gpl",
        "gpl-2.0",
        "gpl-3.0",
        "lgpl",
        "lgpl-2.1",
        "lgpl-3.0",
        "isc",
        "h-research",
        "intel-research",
        "lppl-1.3c",
        "ms-pl",
        "apple-ascl",
        "apple-amlr",
        "mpl-2.0",
        "odc-by",
        "odbl",
        "openmdw-1.0",
        "openrail++",
        "osl-3.0",
        "postgresql",
        "ofl-1.1",
        "ncsa",
        "unlicense",
        "zlib",
        "pddl",
        "lgpl-lr",
        "deepfloyd-if-license",
        "fair-noncommercial-research-license",
        "llama2",
        "llama3",
        "llama3.1",
        "llama3.2",
        "llama3.3",
        "llama4",
        "grok2-community",
        "gemma",
        "unknown",
        "other",
    ]
)
EMPTY_CARD_WARNING = "Empty or missing yaml metadata in repo card"
EMPTY_CARD_HELP = "https://huggingface.co/docs/hub/model-cards#model-card-metadata"
_STRING_ARRAYS = ("tags",)  # the Hub wants these as YAML lists
_MAX_REPORTED = 50  # a card with thousands of mistakes gets the first ones, not a megabyte of text


@dataclass
class SchemaReport:
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def error(self, message: str) -> None:
        if len(self.errors) < _MAX_REPORTED:
            self.errors.append(message)


def check_metadata(data: dict[str, Any]) -> SchemaReport:
    """Check parsed card metadata against the Hub's schema."""
    report = SchemaReport()
    if not data:
        report.warnings.append(EMPTY_CARD_WARNING)
        return report
    _check_license(data.get("license"), report)
    for key in _STRING_ARRAYS:
        value = data.get(key)
        if value is not None and not _is_string_list(value):
            report.error(f'"{key}" must be an array of strings')
    if "model-index" in data:
        _check_model_index(data["model-index"], report)
    return report


def _is_string_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _check_license(value: Any, report: SchemaReport) -> None:
    if value is None:
        return
    ids = value if isinstance(value, list) else [value]
    for item in ids:
        if not isinstance(item, str) or item.lower() not in LICENSES:
            report.error(f'"license" must be one of the Hub\'s license identifiers, got {_short(item)}')


def _check_model_index(value: Any, report: SchemaReport) -> None:
    """``model-index: [{name, results: [{task{type}, dataset{type,name}, metrics[{type,value}]}]}]``."""
    if not isinstance(value, list):
        report.error('"model-index" must be an array')
        return
    for i, model in enumerate(value):
        where = f"model-index[{i}]"
        if not isinstance(model, dict):
            report.error(f'"{where}" must be an object')
            continue
        if not isinstance(model.get("name"), str):
            report.error(f'"{where}.name" is required and must be a string')
        results = model.get("results")
        if not isinstance(results, list):
            report.error(f'"{where}.results" is required and must be an array')
            continue
        for j, result in enumerate(results):
            _check_result(result, f"{where}.results[{j}]", report)


def _check_result(result: Any, where: str, report: SchemaReport) -> None:
    if not isinstance(result, dict):
        report.error(f'"{where}" must be an object')
        return
    _require_strings(result.get("task"), f"{where}.task", ("type",), report)
    _require_strings(result.get("dataset"), f"{where}.dataset", ("type", "name"), report)
    metrics = result.get("metrics")
    if not isinstance(metrics, list):
        report.error(f'"{where}.metrics" is required and must be an array')
        return
    for k, metric in enumerate(metrics):
        _require_strings(metric, f"{where}.metrics[{k}]", ("type",), report)
        if isinstance(metric, dict) and "value" not in metric:
            report.error(f'"{where}.metrics[{k}].value" is required')


def _require_strings(value: Any, where: str, keys: tuple[str, ...], report: SchemaReport) -> None:
    if not isinstance(value, dict):
        report.error(f'"{where}" is required and must be an object')
        return
    for key in keys:
        if not isinstance(value.get(key), str):
            report.error(f'"{where}.{key}" is required and must be a string')


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
