from __future__ import annotations

from pathlib import Path

from dockyard.config_reference import render
from dockyard.settings import Settings


def test_docs_match_the_settings_object() -> None:
    documented = (Path(__file__).parents[2] / "docs" / "configuration.md").read_text()
    assert documented == render(), "run: dockyard config reference > docs/configuration.md"


def test_every_setting_is_described() -> None:
    assert all(field.description for field in Settings.model_fields.values())
