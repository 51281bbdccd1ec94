"""The ``pre-receive`` hook git runs for every push, while the pushed objects sit in quarantine.

It must start fast and must not need the server's configuration, database or blob store, so it
is stdlib only and run as ``python -E -s -S pre_receive.py``. It only *collects* facts about the
push (the ref updates, blobs too large for git, LFS pointers) and asks the server, through the
signed callback URL in ``DOCKYARD_PUSH_CHECK_URL``, whether to accept them; the rules live in
:mod:`dockyard.git_http.push_policy`. Whatever the server answers is printed on stderr, which
git relays to the pushing client as ``remote:`` lines. Any failure rejects the push.

The scanning functions are also imported by the server after a push, to record which LFS files
the new commits hold.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterable
from typing import Any, TextIO

ZERO_ID = "0" * 40
POINTER_SPEC = b"version https://git-lfs.github.com/spec/v1\n"
MAX_POINTER_SIZE = 1024
MAX_LARGE_REPORTED = 100
CALLBACK_TIMEOUT = 120.0


def read_updates(stream: TextIO) -> list[dict[str, str]]:
    """The ``<old> <new> <ref>`` lines git writes on the hook's stdin."""
    updates = []
    for line in stream:
        parts = line.strip().split(" ", 2)
        if len(parts) == 3:
            updates.append({"old": parts[0], "new": parts[1], "ref": parts[2]})
    return updates


class GitCommandError(Exception):
    """A git command failed; the message is its stderr."""


def _git(args: list[str], data: bytes = b"", git_dir: str | None = None) -> bytes:
    command = ["git", f"--git-dir={git_dir}", *args] if git_dir else ["git", *args]
    done = subprocess.run(command, input=data, capture_output=True, check=False)
    if done.returncode != 0:
        raise GitCommandError(f"git {args[0]}: {done.stderr.decode(errors='replace').strip()}")
    return done.stdout


def ref_tips(git_dir: str | None = None) -> list[str]:
    """Object ids the repository's refs point at (quarantined objects are not referenced yet)."""
    out = _git(["for-each-ref", "--format=%(objectname)"], git_dir=git_dir).decode()
    return sorted(set(out.split()))


def new_blobs(tips: Iterable[str], exclude: Iterable[str], git_dir: str | None = None) -> list[tuple[str, int, str]]:
    """``(blob id, size, path)`` of every blob reachable from ``tips`` but not from ``exclude``."""
    revs = [tip for tip in tips if tip != ZERO_ID]
    if not revs:
        return []
    stdin = "".join(f"{rev}\n" for rev in revs) + "".join(f"^{rev}\n" for rev in exclude if rev != ZERO_ID)
    listing = _git(["rev-list", "--objects", "--stdin"], stdin.encode(), git_dir)
    check = "--batch-check=%(objecttype) %(objectname) %(objectsize) %(rest)"
    checked = _git(["cat-file", check], listing, git_dir)
    blobs = []
    for line in checked.decode("utf-8", "surrogateescape").splitlines():
        kind, _, rest = line.partition(" ")
        if kind != "blob":
            continue
        fields = rest.split(" ", 2)
        blobs.append((fields[0], int(fields[1]), fields[2] if len(fields) > 2 else ""))
    return blobs


def peeled_types(object_ids: list[str], git_dir: str | None = None) -> dict[str, str]:
    """What each object is once annotated tags are peeled ("commit", "tree", "blob")."""
    wanted = [oid for oid in object_ids if oid != ZERO_ID]
    if not wanted:
        return {}
    out = _git(
        ["cat-file", "--batch-check=%(objecttype)"], "".join(f"{oid}^{{}}\n" for oid in wanted).encode(), git_dir
    )
    return dict(zip(wanted, out.decode().split(), strict=True))


def parse_pointer(data: bytes) -> tuple[str, int] | None:
    """``(oid, size)`` of a git-lfs pointer file, None for ordinary content (spec v1)."""
    if len(data) > MAX_POINTER_SIZE or not data.startswith(POINTER_SPEC):
        return None
    fields = {}
    for line in data[len(POINTER_SPEC) :].decode("utf-8", "replace").splitlines():
        key, _, value = line.partition(" ")
        fields[key] = value
    oid = fields.get("oid", "").removeprefix("sha256:")
    size = fields.get("size", "")
    if len(oid) != 64 or any(c not in "0123456789abcdef" for c in oid) or not size.isdigit():
        return None
    return oid, int(size)


def read_small_blobs(blob_ids: list[str], git_dir: str | None = None) -> dict[str, bytes]:
    """Contents of the given (small) blobs, with one ``git cat-file --batch``."""
    if not blob_ids:
        return {}
    out = _git(["cat-file", "--batch"], "".join(f"{b}\n" for b in blob_ids).encode(), git_dir)
    contents: dict[str, bytes] = {}
    pos = 0
    while pos < len(out):
        end = out.index(b"\n", pos)
        blob_id, _, size = out[pos:end].decode().split(" ")
        start = end + 1
        contents[blob_id] = out[start : start + int(size)]
        pos = start + int(size) + 1  # the content is followed by a newline
    return contents


def scan(
    tips: Iterable[str], exclude: Iterable[str], limit: int, *, git_dir: str | None = None
) -> dict[str, list[dict[str, Any]]]:
    """What the new objects hold: ``large`` blobs over ``limit`` bytes (never pointers) and LFS
    ``pointers`` (one entry per object id, with the first path seen). Inside the hook git's
    environment names the repository; elsewhere pass ``git_dir``."""
    blobs = new_blobs(tips, exclude, git_dir)
    large = [{"path": path, "size": size, "blob": blob} for blob, size, path in blobs if size > limit]
    candidates = {blob: path for blob, size, path in blobs if len(POINTER_SPEC) < size <= MAX_POINTER_SIZE}
    pointers: dict[str, dict[str, Any]] = {}
    for blob, data in read_small_blobs(sorted(candidates), git_dir).items():
        parsed = parse_pointer(data)
        if parsed is not None and parsed[0] not in pointers:
            oid, size = parsed
            pointers[oid] = {"path": candidates[blob], "oid": oid, "size": size, "blob": blob}
    return {"large": large, "pointers": sorted(pointers.values(), key=lambda p: p["path"])}


def ask_server(url: str, report: dict[str, Any]) -> dict[str, Any]:
    """POST the report to the server's signed callback; its JSON verdict."""
    request = urllib.request.Request(
        url, data=json.dumps(report).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never through a proxy
    with opener.open(request, timeout=CALLBACK_TIMEOUT) as response:
        verdict: dict[str, Any] = json.loads(response.read())
    return verdict


def main() -> int:
    updates = read_updates(sys.stdin)
    try:
        url = os.environ["DOCKYARD_PUSH_CHECK_URL"]
        limit = int(os.environ["DOCKYARD_REGULAR_FILE_LIMIT"])
        kinds = peeled_types([u["new"] for u in updates])
        for update in updates:
            update["type"] = kinds.get(update["new"], "")
        found = scan([u["new"] for u in updates], ref_tips(), limit)
        report = {"updates": updates, "large": found["large"][:MAX_LARGE_REPORTED], "pointers": found["pointers"]}
        verdict = ask_server(url, report)
    except (KeyError, ValueError, OSError, GitCommandError) as error:  # URLError is an OSError
        print(f"error: the server could not check this push ({error}); please retry", file=sys.stderr)
        return 1
    for line in verdict.get("messages", []):
        print(line, file=sys.stderr)
    return 0 if verdict.get("accepted") else 1


if __name__ == "__main__":
    sys.exit(main())
