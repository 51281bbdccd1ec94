"""The signing keys kept in the database: created once, rotated with the old key still accepted,
retired on request, and stored in a file only its owner can read."""

from __future__ import annotations

import stat
from pathlib import Path

from dockyard.app import build_hub
from dockyard.db.server_state import drop_previous_secret, get_signing_keys, rotate_secret
from dockyard.hub import Hub
from dockyard.settings import Settings


def test_rotation_keeps_the_old_key_for_verifying(hub: Hub) -> None:
    token = hub.signer.sign("upload", {"oid": "abc"}, ttl=60)
    (original,) = get_signing_keys(hub.db)
    rotate_secret(hub.db)
    new, previous = get_signing_keys(hub.db)
    assert previous == original
    assert new != original
    restarted = build_hub(hub.settings)
    try:
        assert restarted.signer.verify("upload", token)["oid"] == "abc"
        assert drop_previous_secret(hub.db)
        assert get_signing_keys(hub.db) == [new]
    finally:
        restarted.db.dispose()


def test_the_database_holding_the_keys_is_private(hub: Hub) -> None:
    database = Path(hub.settings.resolved_data_dir() / "dockyard.sqlite3")
    for path in [database, *database.parent.glob("dockyard.sqlite3-*")]:
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path


def test_configured_keys_rotate_through_settings(tmp_path: Path) -> None:
    from dockyard.signing import Signer

    token = Signer([b"old-key"]).sign("upload", {"n": 1}, ttl=60)
    settings = Settings(data_dir=tmp_path, secret_key="new-key", previous_secret_key="old-key")
    keys = settings.signing_keys()
    assert keys == [b"new-key", b"old-key"]
    assert keys is not None
    assert Signer(keys).verify("upload", token)["n"] == 1
