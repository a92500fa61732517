"""The student bootstrap (``mjd up`` asks for one when no student is promoted)."""

from __future__ import annotations

from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from services.api import urls
from services.api.controllers import Calling, located, route
from services.api.domain.bootstrap import BootstrapService
from services.api.schemas import BootstrapIn, BootstrapView
from shared.platform.auth import Scope

Bootstrapper = NamedDependency[BootstrapService]


class BootstrapController(Controller):
    tags = ("models",)

    @route(
        get,
        urls.BOOTSTRAP,
        "getBootstrap",
        "The latest student bootstrap",
        404,
        503,
        scope=Scope.READ,
    )
    def get_bootstrap(self, bootstrap: Bootstrapper) -> BootstrapView:
        return bootstrap.current()

    @route(
        post,
        urls.BOOTSTRAP,
        "startBootstrap",
        "Bootstrap a student, or go on with the one in flight",
        400,
        409,
        413,
        422,
        503,
        scope=Scope.ADMIN,
        status_code=202,
    )
    def start_bootstrap(
        self, data: JSONBody[BootstrapIn], bootstrap: Bootstrapper, caller: Calling
    ) -> Response[BootstrapView]:
        """One at a time: while one is in flight this answers it (and queues its training
        once its MJDs are done) instead of starting another. Its MJD job runs in the
        background, giving way to other MJD jobs between items."""
        return located(bootstrap.ensure(data, caller), urls.BOOTSTRAP, 202)
