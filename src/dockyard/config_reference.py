"""The configuration reference, generated from the Settings object (docs/configuration.md)."""

from __future__ import annotations

from dockyard.settings import Settings

HEADER = """# Configuration reference

Generated from `dockyard.settings.Settings` by `dockyard config reference`; do not edit by hand
(a test keeps this file and the settings in step). Every setting is an environment variable; the
S3 backend also reads the standard AWS variables (`AWS_ENDPOINT_URL`, `AWS_ACCESS_KEY_ID`,
`AWS_SECRET_ACCESS_KEY`, `AWS_DEFAULT_REGION`).

| variable | type | default | what it does |
| --- | --- | --- | --- |
"""


def render() -> str:
    rows = []
    for name, field in Settings.model_fields.items():
        annotation = getattr(field.annotation, "__name__", None) or str(field.annotation)
        annotation = annotation.replace("pathlib.", "").replace("NoneType", "None").replace(" | ", " or ")
        default = "—" if field.default is None else f"`{field.default}`"
        rows.append(f"| `DOCKYARD_{name.upper()}` | {annotation} | {default} | {field.description or ''} |")
    return HEADER + "\n".join(rows) + "\n"
