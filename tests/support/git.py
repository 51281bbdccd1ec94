"""Running the real ``git`` and ``git-lfs`` binaries against a live server.

Each :class:`GitClient` has its own HOME (identity, ``git lfs install`` filters, no credential
helper) and never prompts: credentials travel in the remote URL (``http://user:token@host/...``),
which git and git-lfs both use for Basic authentication.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit


def have_git_lfs() -> bool:
    if shutil.which("git") is None:
        return False
    done = subprocess.run(["git", "lfs", "version"], capture_output=True, check=False)
    return done.returncode == 0


def repo_url(server_url: str, repo_id: str, *, repo_type: str = "model", token: str | None = None) -> str:
    """``http://[hf_user:token@]host/[datasets/|spaces/]ns/name``."""
    prefix = "" if repo_type == "model" else f"{repo_type}s/"
    parts = urlsplit(f"{server_url}/{prefix}{repo_id}")
    netloc = f"hf_user:{token}@{parts.netloc}" if token else parts.netloc
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


@dataclass
class GitClient:
    home: Path

    @classmethod
    def create(cls, home: Path) -> GitClient:
        home.mkdir(parents=True, exist_ok=True)
        client = cls(home)
        client.run("config", "--global", "user.name", "Git Tester")
        client.run("config", "--global", "user.email", "tester@example.org")
        client.run("config", "--global", "init.defaultBranch", "main")
        client.run("config", "--global", "advice.detachedHead", "false")
        client.run("lfs", "install", "--skip-repo")
        return client

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "HF_"))}
        env.update(
            HOME=str(self.home),
            XDG_CONFIG_HOME=str(self.home / ".config"),
            GIT_CONFIG_NOSYSTEM="1",
            GIT_TERMINAL_PROMPT="0",
            GIT_ASKPASS="",
            SSH_ASKPASS="",
        )
        env.pop("http_proxy", None)
        env.pop("HTTP_PROXY", None)
        return env

    def run(
        self,
        *args: str,
        cwd: Path | None = None,
        check: bool = True,
        input: bytes | None = None,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            ["git", *args],
            cwd=cwd,
            env={**self.env(), **(env or {})},
            input=input.decode() if input is not None else None,
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )
        if check and done.returncode != 0:
            raise AssertionError(f"git {' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
        return done

    def clone(self, url: str, target: Path, *extra: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run("clone", *extra, url, str(target), check=check)

    def commit_all(self, repo: Path, message: str) -> str:
        self.run("add", "-A", cwd=repo)
        self.run("commit", "-q", "-m", message, cwd=repo)
        return self.head(repo)

    def head(self, repo: Path, rev: str = "HEAD") -> str:
        return self.run("rev-parse", rev, cwd=repo).stdout.strip()
