"""Which uploaded paths a ``.gitignore`` excludes, for ``preupload``'s ``shouldIgnore``.

The rules are untrusted text (a request body, or a file any writer committed), so they are
bounded before matching: every pattern is a regular expression tried against every path of the
request, and the work is patterns times paths. Matching follows git's own semantics through
``pathspec`` (negations, anchored and directory patterns), never a hand-rolled glob.
"""

from __future__ import annotations

from collections.abc import Callable

from pathspec import GitIgnoreSpec
from pathspec.patterns.gitignore import GitIgnorePatternError

from dockyard.errors import BadRequestError

MAX_GITIGNORE_CHARS = 64 * 1024  # real .gitignore files are a few KiB
MAX_GITIGNORE_PATTERNS = 1000  # with preupload's 1,000 paths: at most a million regex tests


def ignore_rule(text: str | None) -> Callable[[str], bool]:
    """A predicate telling whether a repo path is ignored; nothing is ignored without rules."""
    if not text:
        return lambda path: False
    if len(text) > MAX_GITIGNORE_CHARS:
        raise BadRequestError(f".gitignore rules are limited to {MAX_GITIGNORE_CHARS} characters")
    patterns = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    if len(patterns) > MAX_GITIGNORE_PATTERNS:
        raise BadRequestError(f".gitignore rules are limited to {MAX_GITIGNORE_PATTERNS} patterns")
    try:
        spec = GitIgnoreSpec.from_lines(patterns)
    except (GitIgnorePatternError, ValueError) as error:
        raise BadRequestError(f"Invalid .gitignore pattern: {error}") from None
    return spec.match_file
