"""Where the API server listens and whom it answers, from the settings and the command line's
flags, checked before it starts."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from desktop.errors import ServerOptionInvalid
from desktop.server.hosts import checked_origins, host_name, is_loopback
from desktop.settings import Settings


@dataclass(frozen=True)
class ServerOptions:
    host: str = "127.0.0.1"  # loopback: this computer only
    port: int = 8537  # 0: a free port, chosen as it starts
    # Web pages allowed to call it from a browser, as origins (http://localhost:3000).
    cors_origins: tuple[str, ...] = ()
    # More names a request's Host may give (the name other computers reach this one by).
    allowed_hosts: tuple[str, ...] = ()
    max_body_bytes: int = 4 * 2**20

    @classmethod
    def from_settings(cls, settings: Settings, **changes: Any) -> ServerOptions:
        """The settings' options, with `changes` (None: the setting's) over them; checked."""
        options = cls(
            host=settings.server_host,
            port=settings.server_port,
            cors_origins=settings.server_cors_origins,
            max_body_bytes=settings.server_max_body_bytes,
        )
        return replace(options, **{k: v for k, v in changes.items() if v is not None}).checked()

    def checked(self) -> ServerOptions:
        """These options, origins as browsers send them; ServerOptionInvalid for what cannot
        be used (a wildcard origin above all)."""
        if not host_name(self.host):
            raise ServerOptionInvalid("The address to listen on is empty.")
        if not 0 <= self.port < 65536:
            raise ServerOptionInvalid(f"{self.port} is not a port: use 1 to 65535 (0: any).")
        if any(not host_name(name) for name in self.allowed_hosts):
            raise ServerOptionInvalid("An allowed host name is empty.")
        return replace(self, cors_origins=checked_origins(self.cors_origins))

    @property
    def on_network(self) -> bool:
        """Other computers can reach it (it listens on more than the loopback address)."""
        return not is_loopback(self.host)
