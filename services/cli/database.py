"""``mjd db upgrade`` and ``mjd db current``: the job store's schema, for operators who migrate
before rolling out (every service also upgrades at start) or want to see where a database is."""

from __future__ import annotations

import argparse

from services.cli.args import Commands, command_group
from shared.errors import MjdError


def _revisions(upgrade: bool) -> tuple[str | None, str]:
    """The database's revision (after upgrading it when asked) and the newest one known."""
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from shared.platform.db.database import MIGRATIONS, Database, current_revision
    from shared.platform.settings import Settings

    url = Settings.from_env().store_url
    try:
        shown = make_url(url).render_as_string(hide_password=True)
    except SQLAlchemyError:
        raise MjdError(f"DATABASE_URL is not a database URL: {url[:100]!r}") from None
    try:
        store = Database(url, upgrade=upgrade)
        try:
            revision = current_revision(store.engine)
        finally:
            store.close()
    except (SQLAlchemyError, CommandError) as exc:  # unreachable, refused, unknown revision
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        raise MjdError(f"job store {shown}: {reason}") from None
    return revision, ScriptDirectory(str(MIGRATIONS)).get_current_head() or ""


def cmd_upgrade(args: argparse.Namespace) -> int:
    revision, _ = _revisions(upgrade=True)
    print(revision)
    return 0


def cmd_current(args: argparse.Namespace) -> int:
    revision, head = _revisions(upgrade=False)
    if revision == head:
        print(f"{revision} (head)")
    else:
        print(f"{revision or 'none'} (head is {head}: run mjd db upgrade)")
    return 0


def register(commands: Commands, formats: tuple[str, ...]) -> None:
    actions = command_group(
        commands, "db", "the job store's schema (DATABASE_URL)", "upgrade|current"
    )
    upgrade = actions.add_parser("upgrade", help="migrate the job store to the newest schema")
    upgrade.set_defaults(handler=cmd_upgrade)
    current = actions.add_parser("current", help="print the job store's schema revision")
    current.set_defaults(handler=cmd_current)
