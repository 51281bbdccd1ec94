"""The one rule for where a file's content goes: into git, or into large-file storage.

The preupload answer (which tells the client to send bytes inline or through LFS/Xet), inline
commit content, folder imports and the git push policy must agree, or a file committed one way
is refused or stored differently the other way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dockyard.repos.git_repo import GitRepo


def goes_to_lfs(git: GitRepo, head: str | None, path: str, size: int, *, regular_file_limit: int) -> bool:
    """As on the Hub: empty files stay in git; files over the limit, or matched by an LFS rule of
    ``.gitattributes`` at ``head``, go to large-file storage."""
    return size > 0 and (size > regular_file_limit or git.is_lfs_path(head, path))
