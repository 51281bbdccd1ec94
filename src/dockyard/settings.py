"""One typed, immutable settings object, read from ``DOCKYARD_*`` environment variables.

Everything stateful is chosen here (database, blob storage, job execution) so that the
composition root (:func:`dockyard.app.create_app`) is the only place that turns settings into
engines and clients.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

MIB = 1024 * 1024


class Settings(BaseSettings):
    """Runtime configuration; every field maps to ``DOCKYARD_<FIELD>`` in the environment."""

    model_config = SettingsConfigDict(env_prefix="DOCKYARD_", frozen=True, extra="ignore")

    data_dir: Path = Field(
        default=Path("./data"),
        description="Root of the embedded state: SQLite file, git repositories, blobs, secret key.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the metadata database; default: SQLite file in the data dir.",
    )
    storage_url: str | None = Field(
        default=None,
        description="Where large-file content lives: file:///path or s3://bucket/prefix; default: data dir.",
    )
    repos_dir: Path | None = Field(
        default=None,
        description="Where the bare git repositories live (a shared volume when scaled out).",
    )
    public_url: str | None = Field(
        default=None,
        description="Absolute base URL clients use (https://hub.example.org); default: the Host header.",
    )
    secret_key: str | None = Field(
        default=None,
        description="Key that signs upload URLs and Xet tokens; default: generated once, kept in the DB.",
    )
    jobs: str = Field(
        default="inprocess",
        description="'inprocess' runs jobs in the server; 'external' leaves them to `dockyard worker`.",
    )
    lfs_multipart_threshold: int = Field(
        default=512 * MIB,
        description="LFS uploads at least this large are offered the multipart transfer.",
    )
    lfs_multipart_chunk_size: int = Field(default=64 * MIB, description="Part size of multipart LFS uploads.")
    regular_file_limit: int = Field(
        default=10 * MIB, description="Largest file stored directly in git; bigger files must use LFS/Xet."
    )
    max_commit_body: int = Field(default=1024 * MIB, description="Largest NDJSON commit payload accepted, in bytes.")
    xet_cas_url: str | None = Field(
        default=None,
        description="Base URL of the Xet CAS handed to clients; default: /-/cas on this server.",
    )
    crash_at: str | None = Field(
        default=None, description="Testing only: exit abruptly at this named step (see dockyard.faults)."
    )
    gc_grace_seconds: int = Field(
        default=24 * 3600,
        description="Unreferenced content younger than this is kept (protects uploads in flight).",
    )
    ref_lock_stale_seconds: float = Field(
        default=300.0,
        description="A git ref lock older than this was left by a dead writer and is removed (ref updates take ms).",
    )
    upload_url_ttl: int = Field(default=3600, description="Seconds a signed upload URL stays valid.")
    file_chunk_size: int = Field(
        default=1 * MIB,
        description="Read size when streaming files to clients (Starlette's 64 KiB default is 5x slower).",
    )

    def resolved_data_dir(self) -> Path:
        return self.data_dir.expanduser().resolve()

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.resolved_data_dir() / 'dockyard.sqlite3'}"

    def resolved_storage_url(self) -> str:
        if self.storage_url:
            return self.storage_url
        return (self.resolved_data_dir() / "blobs").as_uri()

    def resolved_repos_dir(self) -> Path:
        return (self.repos_dir or self.resolved_data_dir() / "repos").expanduser().resolve()
