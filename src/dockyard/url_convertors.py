"""The path convertors every route module relies on, registered once on import.

Repo ids are ``namespace/name`` or a single canonical segment (``gpt2``): the ``repo`` convertor
matches both and the regex engine picks the two-segment reading first.
"""

from __future__ import annotations

from starlette.convertors import Convertor, register_url_convertor

from dockyard.identifiers import RepoType

_NAME = r"[A-Za-z0-9_.\-]+"


class RepoIdConvertor(Convertor[str]):
    regex = rf"{_NAME}(?:/{_NAME})?"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


class RepoTypeConvertor(Convertor[str]):
    regex = "|".join(t.plural for t in RepoType)

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


# Route modules compile their paths when imported, so the convertors must exist by then.
register_url_convertor("repo", RepoIdConvertor())
register_url_convertor("rtype", RepoTypeConvertor())
