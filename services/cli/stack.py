"""``mjd api``, ``mjd worker`` and ``mjd up``: the service processes. The container images
run the first two (one service each); ``mjd up`` runs them all on one machine through
:mod:`services.cli.launcher`."""

from __future__ import annotations

import argparse
import os

from services.cli.args import Commands, positive_int
from services.cli.launcher import API_PORT, WORKERS, fresh_metrics_dir, run, run_worker
from shared.errors import MjdError
from shared.platform.settings import env_setting


def cmd_api(args: argparse.Namespace) -> int:
    """The API alone (containers): uvicorn in this process."""
    import uvicorn

    refuse_open_exposure(args.host)
    if args.metrics_port is not None:  # for the app's Settings, read in create_app
        os.environ["MJD_API_METRICS_PORT"] = str(args.metrics_port)
    metrics_dir = env_setting("prometheus_multiproc_dir")
    if metrics_dir:  # before any metric is created
        fresh_metrics_dir(metrics_dir)

    uvicorn.run(
        "services.api.app:create_app", factory=True, host=args.host, port=args.port,
        log_level="info", access_log=False, proxy_headers=True,
    )  # fmt: skip
    return 0


def refuse_open_exposure(host: str) -> None:
    """An API listening beyond this machine must check keys: with MJD_AUTH=required (the
    default) at least one key must exist; MJD_AUTH=off must be set explicitly."""
    import ipaddress

    from shared.platform.db.database import Database
    from shared.platform.settings import Settings

    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if loopback or env_setting("auth") == "off":
        return
    settings = Settings.from_env()
    if settings.auth == "required" and Database(settings.store_url).keys.active_keys() == 0:
        raise MjdError(
            f"refusing to listen on {host} with no API key: make one (mjd keys create --name "
            "N --scope admin) or set MJD_AUTH=off explicitly"
        )


def cmd_worker(args: argparse.Namespace) -> int:
    run_worker(args.queue, args.metrics_port)
    return 0  # not reached: the process became the worker


def cmd_up(args: argparse.Namespace) -> int:
    return run(args.port, bootstrap=not args.no_bootstrap, bootstrap_items=args.bootstrap_items)


def register(commands: Commands, formats: tuple[str, ...]) -> None:
    api = commands.add_parser("api", help="run the API alone (one service of a deployment)")
    api.add_argument("--host", default="127.0.0.1", help="0.0.0.0 in a container")
    api.add_argument("--port", type=positive_int, default=API_PORT)
    api.add_argument(
        "--metrics-port", type=positive_int,
        help="also serve /metrics here without a key, for Prometheus (keep it unpublished)",
    )  # fmt: skip
    api.set_defaults(handler=cmd_api)

    worker = commands.add_parser("worker", help="run the Celery worker of one queue")
    worker.add_argument("queue", choices=[queue for _, queue in WORKERS])
    worker.add_argument(
        "--metrics-port", type=positive_int, help="serve this worker's /metrics on this port"
    )
    worker.set_defaults(handler=cmd_worker)

    up = commands.add_parser("up", help="run Redis (embedded if no REDIS_URL), the API and workers")
    up.add_argument("--port", type=positive_int, default=API_PORT)
    up.add_argument(
        "--no-bootstrap", action="store_true", help="do not train a student when none is promoted"
    )
    up.add_argument(
        "--bootstrap-items",
        type=positive_int,
        help="train the first student on the first N explained items (default: all 341)",
    )
    up.set_defaults(handler=cmd_up)
