"""One typed, immutable settings object, read from ``DOCKYARD_*`` environment variables.

Everything stateful is chosen here (database, blob storage, job execution) so that the
composition root (:func:`dockyard.app.create_app`) is the only place that turns settings into
engines and clients.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
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
    opentelemetry: bool = Field(
        default=False,
        description=(
            "FastAPI's OpenTelemetry bridge (request spans, metrics, logs to the providers an "
            "OpenTelemetry SDK configures in this process). Off, a request skips even the check "
            "for a configured provider: three environment reads per request."
        ),
    )
    max_request_body: int = Field(
        default=16 * MIB,
        description="Largest request body of a route that sets no limit of its own (API calls with JSON bodies).",
    )
    max_anonymous_body: int = Field(
        default=64 * 1024,
        description=(
            "Largest body of the small routes anyone may call: ask-access, Xet telemetry, "
            "the sign-in, join and reset forms."
        ),
    )
    max_query_body: int = Field(
        default=2 * MIB,
        description="Largest body of the read-only queries anyone may send: paths-info, validate-yaml.",
    )
    max_upload_pack_body: int = Field(
        default=64 * MIB,
        description="Largest git fetch/clone negotiation (upload-pack request body), in bytes.",
    )
    max_push_body: int = Field(
        default=100 * 1024 * MIB,
        description="Largest git push (receive-pack request body: the pack), in bytes.",
    )
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
    # -- hardening (issue 9: key rotation, client addresses behind proxies) --
    previous_secret_key: str | None = Field(
        default=None,
        description="With DOCKYARD_SECRET_KEY: the key it replaced, still accepted (never used to sign) "
        "so URLs signed before a rotation stay valid; remove it once they expired.",
    )
    trusted_proxies: str = Field(
        default="127.0.0.1,::1",
        description="Comma-separated proxy addresses or CIDRs whose X-Forwarded-For/-Proto `dockyard serve` "
        "believes; for other peers the socket address is the client ('' trusts none).",
    )

    # -- webhooks (issue 10) --
    webhook_allowed_targets: str = Field(
        default="",
        description="Comma-separated hosts and CIDRs webhooks may be delivered to even though they are "
        "loopback or private (e.g. 127.0.0.1/32,10.0.0.0/8); other such addresses are refused.",
    )
    webhook_disable_after: int = Field(
        default=20,
        ge=1,
        description="A webhook is disabled after this many failed delivery attempts in a row.",
    )

    # -- oauth (issue 11) --
    sso_issuer: str | None = Field(
        default=None,
        description="OpenID Connect issuer URL of the organisation's provider; set it to offer SSO log-in.",
    )
    sso_client_id: str | None = Field(default=None, description="Client ID of Dockyard at the SSO provider.")
    sso_client_secret: str | None = Field(default=None, description="Client secret of Dockyard at the SSO provider.")
    sso_button_label: str = Field(default="SSO", description="Shown on the log-in page as 'Log in with <label>'.")
    sso_auto_create: bool = Field(
        default=True,
        description="Create a Dockyard user on first SSO log-in (else only existing users may log in by SSO).",
    )
    sso_username_claim: str = Field(
        default="preferred_username",
        description="The id_token claim matched against Dockyard usernames at SSO log-in.",
    )

    # -- accounts (issue 11) --
    signup_policy: Literal["open", "invite", "admin"] = Field(
        default="invite",
        description="Who may create an account at /join: anyone (open), holders of an invite link "
        "(invite, the default) or nobody: admins create accounts with `dockyard user create` (admin).",
    )
    avatar_max_bytes: int = Field(
        default=1024 * 1024,
        ge=1024,
        description="Largest profile picture a user may upload (PNG, JPEG, WebP or GIF).",
    )

    # -- bucket ops (issue 12: live-follow events, quotas) --
    bucket_events_poll_seconds: float = Field(
        default=1.0,
        gt=0,
        description="How often an open bucket event stream asks the database for new changes.",
    )
    bucket_events_stream_seconds: float = Field(
        default=300.0,
        gt=0,
        description="How long one bucket event stream lasts before it tells the client to reconnect "
        "(so an API process never holds a connection forever).",
    )
    bucket_events_ping_seconds: float = Field(
        default=30.0,
        gt=0,
        description="Seconds between keep-alive comments on a quiet bucket event stream.",
    )
    bucket_events_retention_seconds: int = Field(
        default=7 * 24 * 3600,
        ge=60,
        description="How long bucket file changes are kept for replay; an older cursor gets `reset`.",
    )

    # -- viewer (issue 13) --
    viewer_max_files: int = Field(
        default=10_000, ge=1, description="A dataset revision with more files is not processed by the dataset viewer."
    )
    viewer_max_file_bytes: int = Field(
        default=20 * 1024 * MIB, ge=1, description="Largest single data file the dataset viewer reads, in bytes."
    )
    viewer_max_split_bytes: int = Field(
        default=100 * 1024 * MIB,
        ge=1,
        description="Largest split (sum of its data files, or of its archives' contents) the viewer converts.",
    )
    viewer_max_decompression_ratio: int = Field(
        default=100,
        ge=1,
        description="An archive or compressed file that expands more than this many times is refused (zip bomb).",
    )
    viewer_max_row_bytes: int = Field(
        default=64 * MIB, ge=1024, description="A row with a cell larger than this many bytes fails its split."
    )
    viewer_row_group_rows: int = Field(
        default=100_000, ge=100, description="Most rows in one row group of the converted Parquet files."
    )
    viewer_shard_bytes: int = Field(
        default=512 * MIB, ge=MIB, description="A converted Parquet file is closed past this size and a new one begun."
    )
    # -- viewer search index --
    viewer_search_max_text_bytes: int = Field(
        default=20 * 1024 * MIB,
        ge=1,
        description="A split with more text (its string columns, uncompressed) gets no search index; search scans it.",
    )
    viewer_search_cache_bytes: int = Field(
        default=20 * 1024 * MIB,
        ge=0,
        description="Local copies of search indexes kept under the data directory when blobs are remote (S3).",
    )

    @field_validator("trusted_proxies")
    @classmethod
    def _valid_proxies(cls, value: str) -> str:
        for entry in _split(value):
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(f"not an IP address or CIDR: {entry!r}") from None
        return value

    def trusted_proxy_list(self) -> list[str]:
        return _split(self.trusted_proxies)

    def signing_keys(self) -> list[bytes] | None:
        """The configured keys, newest first; None when the keys live in the database."""
        if not self.secret_key:
            return None
        return [self.secret_key.encode()] + ([self.previous_secret_key.encode()] if self.previous_secret_key else [])

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


def _split(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]
