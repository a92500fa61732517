"""``mjd keys create|list|revoke``: API keys in the job store (DATABASE_URL). A key is shown
once, as the last line ``create`` prints; the store keeps only its digest."""

from __future__ import annotations

import argparse
import time
from typing import TYPE_CHECKING

from services.cli.args import Commands, command_group
from shared.errors import MjdError
from shared.platform.auth import Scope

if TYPE_CHECKING:
    from shared.platform.db.database import Database


def _store() -> Database:
    """The job store, imported late (the CLI starts fast)."""
    from shared.platform.db.database import Database
    from shared.platform.settings import Settings

    return Database(Settings.from_env().store_url)


def cmd_create(args: argparse.Namespace) -> int:
    from shared.platform.auth import digest, new_key

    key_id, secret, token = new_key()
    scopes = sorted(set(args.scope))
    _store().keys.add_key(key_id, args.name, scopes, digest(secret))
    print(f"key {key_id} ({args.name}): {', '.join(scopes)}; shown once, store it now:")
    print(token)
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    for key in _store().keys.list_keys():
        made = time.strftime("%Y-%m-%d %H:%M", time.gmtime(key.created))
        state = "revoked" if key.revoked else "active"
        print(f"{key.id}  {state:7}  {made}  {','.join(key.scopes):22}  {key.name}")
    return 0


def cmd_revoke(args: argparse.Namespace) -> int:
    if not _store().keys.revoke_key(args.key_id):
        raise MjdError(f"no active key {args.key_id[:16]!r}")
    print(f"revoked {args.key_id} (servers stop taking it within seconds)")
    return 0


def register(commands: Commands, formats: tuple[str, ...]) -> None:
    actions = command_group(commands, "keys", "API keys", "create|list|revoke")
    create = actions.add_parser("create", help="make a key; its last line of output is the key")
    create.add_argument("--name", required=True, help="who or what uses it")
    create.add_argument(
        "--scope", required=True, action="append", choices=[str(s) for s in Scope],
        help="what it may do (repeat for several): read, predict, submit or admin",
    )  # fmt: skip
    create.set_defaults(handler=cmd_create)
    listed = actions.add_parser("list", help="every key: id, state, created, scopes, name")
    listed.set_defaults(handler=cmd_list)
    revoke = actions.add_parser("revoke", help="stop a key working")
    revoke.add_argument("key_id", help="the 8-character id keys list shows")
    revoke.set_defaults(handler=cmd_revoke)
