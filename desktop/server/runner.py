"""The API server running in a thread of its own (uvicorn), for `lantern serve` and the
window: `start()` returns once it listens, `stop()` ends what it serves and shuts it down."""

from __future__ import annotations

import dataclasses
import errno
import logging
import socket
import threading
from collections.abc import Callable

import psutil
import uvicorn

from desktop.errors import ServerStartFailed
from desktop.server.app import create_app
from desktop.server.hosts import EVERY_ADDRESS, client_url, host_name
from desktop.server.options import ServerOptions
from desktop.services.serving import ServingService

log = logging.getLogger(__name__)

START_TIMEOUT_S = 30.0
# Requests still open at stop() are cancelled by then (their generations already are).
GRACEFUL_STOP_S = 3


class ServerHandle:
    """Start it, use `url`, stop it (or use it as a context manager). Both block a moment
    (the keyring is read, the socket bound; requests under way are ended): the window calls
    them off its own thread."""

    def __init__(
        self,
        service: ServingService,
        options: ServerOptions,
        *,
        api_key: Callable[[], str] | None = None,
    ) -> None:
        self.service = service
        self.options = options.checked()
        # The key each request must carry: the keyring's, or one given for this run.
        self._api_key = api_key or service.keys.current
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self._port: int | None = None
        self._failure: BaseException | None = None

    @property
    def port(self) -> int:
        """The port it listens on (the one chosen, when asked for port 0)."""
        assert self._port is not None, "start() it first"
        return self._port

    @property
    def url(self) -> str:
        """Where a client on this computer reaches the API (its base URL ends in /v1)."""
        return client_url(self.options.host, self.port)

    def start(self) -> ServerHandle:
        self._api_key()  # SecretStoreUnavailable now, rather than at each request
        self._socket = _listening_socket(self.options.host, self.options.port)
        self._port = int(self._socket.getsockname()[1])
        options = dataclasses.replace(self.options, port=self._port)
        addresses = _machine_addresses() if host_name(options.host) in EVERY_ADDRESS else []
        app = create_app(self.service, options, self._api_key, machine_addresses=addresses)
        config = uvicorn.Config(
            app,
            log_config=None,  # Lantern's own logging: nothing on the terminal
            log_level="warning",
            access_log=False,
            lifespan="off",
            server_header=False,
            timeout_graceful_shutdown=GRACEFUL_STOP_S,
        )
        self._server = _Server(config)
        self._thread = threading.Thread(target=self._serve, name="api-server", daemon=True)
        self._thread.start()
        self._server.up.wait(START_TIMEOUT_S)
        if not self._server.started:
            self.stop()
            raise ServerStartFailed(f"The API server did not start: {self._failure!r}.")
        where = "other computers can reach it" if options.on_network else "this computer only"
        log.log(
            logging.WARNING if options.on_network else logging.INFO,
            "The API server listens on %s port %d: %s",
            options.host,
            self.port,
            where,
        )
        return self

    def _serve(self) -> None:
        assert self._server is not None and self._socket is not None
        try:
            self._server.run(sockets=[self._socket])
        except BaseException as exc:  # reported by start()
            self._failure = exc
        finally:
            self._server.up.set()

    def stop(self) -> None:
        """Cancel what is being served, shut the server down, let the port go."""
        self.service.cancel_all()
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join()
        if self._socket is not None:
            self._socket.close()

    def __enter__(self) -> ServerHandle:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _Server(uvicorn.Server):
    """uvicorn's server, which says when it has started."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.up = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        self.up.set()


def _listening_socket(host: str, port: int) -> socket.socket:
    """A socket listening on `host`:`port` (connections queue from now on);
    ServerStartFailed when that cannot be."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host_name(host), port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as exc:
        raise ServerStartFailed(f"{host} is not an address this computer knows ({exc}).") from exc
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise ServerStartFailed(
                f"Port {port} on {host} is in use by another program. Choose another port, "
                "or stop that program."
            ) from exc
        raise ServerStartFailed(f"Cannot listen on {host} port {port}: {exc.strerror}.") from exc
    return sock


def _machine_addresses() -> list[str]:
    """This computer's own addresses, on every network interface."""
    families = (socket.AF_INET, socket.AF_INET6)
    return [
        address.address.split("%")[0]  # an IPv6 link-local address's zone
        for addresses in psutil.net_if_addrs().values()
        for address in addresses
        if address.family in families
    ]
