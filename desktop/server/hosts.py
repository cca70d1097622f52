"""Which Host and Origin headers are this server's: pure functions, checked at each request.

The Host allow-list stops DNS rebinding (a web page whose name is made to point at
127.0.0.1 still sends its own name as the Host): only the loopback names, the address the
server is bound to, and the names the user adds are answered, each with or without the
server's port. Bound to every address (0.0.0.0 or ::), the list is the loopback names plus
this machine's own addresses plus the user's names: never a wildcard.

Origins are compared as browsers send them: scheme, host and port (the default one left
out), lower case, nothing else.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from urllib.parse import urlsplit

from desktop.errors import ServerOptionInvalid

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
EVERY_ADDRESS = frozenset({"0.0.0.0", "::"})
_DEFAULT_PORTS = {"http": 80, "https": 443}


def host_name(text: str) -> str:
    """A host as the allow-list keeps it: lower case, an IP address in its short form,
    without the brackets of an IPv6 address."""
    name = text.strip().lower()
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    try:
        return ipaddress.ip_address(name).compressed
    except ValueError:
        return name


def is_loopback(host: str) -> bool:
    """Whether binding to `host` keeps the server to this computer."""
    name = host_name(host)
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def client_url(bound: str, port: int) -> str:
    """Where a client on this computer reaches a server bound to `bound`:`port` (its base
    URL, ending in /v1): bound to every address, through the loopback one."""
    host = host_name(bound)
    host = "127.0.0.1" if host == "0.0.0.0" else "::1" if host == "::" else host
    return f"http://{f'[{host}]' if ':' in host else host}:{port}/v1"


def allowed_hosts(
    bound: str, machine_addresses: Iterable[str], extra: Iterable[str] = ()
) -> frozenset[str]:
    """The host names a request's Host header may give, for a server bound to `bound`."""
    names = set(LOOPBACK_NAMES) | {host_name(name) for name in extra}
    if host_name(bound) in EVERY_ADDRESS:
        names |= {host_name(address) for address in machine_addresses}
    else:
        names.add(host_name(bound))
    return frozenset(names)


def split_host_header(header: str) -> tuple[str, int | None] | None:
    """A Host header's name and port (None: no port); None when it is not one."""
    if header.startswith("["):  # an IPv6 address: [::1] or [::1]:8537
        address, bracket, rest = header[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            return None
        try:
            ipaddress.IPv6Address(address)
        except ValueError:
            return None
        name, port_text = address, rest[1:] if rest else None
    else:
        name, colon, port_text_or_empty = header.partition(":")
        port_text = port_text_or_empty if colon else None
        if not name or ":" in port_text_or_empty:
            return None
    if port_text is None:
        return host_name(name), None
    if not port_text.isascii() or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        return None
    return host_name(name), int(port_text)


def host_allowed(header: str, allowed: frozenset[str], port: int) -> bool:
    """Whether a Host header names this server: an allowed name, with its port or none."""
    found = split_host_header(header)
    return found is not None and found[0] in allowed and found[1] in (None, port)


def origin_of(text: str) -> str | None:
    """An origin as browsers write it (`http://localhost:3000`); None when `text` is not an
    origin alone (a path, a query, credentials, no host...)."""
    try:
        parts = urlsplit(text.strip())
        port = parts.port
    except ValueError:
        return None
    if (
        not parts.scheme
        or not parts.hostname
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or parts.username is not None
        or parts.password is not None
    ):
        return None
    scheme = parts.scheme.lower()
    host = parts.hostname.lower()
    host = f"[{host}]" if ":" in host else host
    shown_port = "" if port is None or port == _DEFAULT_PORTS.get(scheme) else f":{port}"
    return f"{scheme}://{host}{shown_port}"


def checked_origins(origins: Iterable[str]) -> tuple[str, ...]:
    """The origins allowed to call the server from a web page, each as browsers send it.
    ServerOptionInvalid for '*' (every web page: never) and for what is not an origin."""
    checked = []
    for text in origins:
        if text.strip() == "*":
            raise ServerOptionInvalid(
                "'*' as a CORS origin would let every web page you visit use this server. "
                "List each origin allowed instead, e.g. http://localhost:3000."
            )
        origin = origin_of(text)
        if origin is None:
            raise ServerOptionInvalid(
                f"{text!r} is not an origin: give a scheme, a host and a port if it has one, "
                "nothing more (e.g. http://localhost:3000)."
            )
        checked.append(origin)
    return tuple(dict.fromkeys(checked))
