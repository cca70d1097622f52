"""Which Host and Origin headers the API server takes as its own (desktop/server/hosts.py):
the loopback names and the bound address, with or without the port, IPv6 included; an
origin only as listed, never a wildcard."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from desktop.errors import ServerOptionInvalid
from desktop.server.hosts import (
    allowed_hosts,
    checked_origins,
    client_url,
    host_allowed,
    is_loopback,
    origin_of,
    split_host_header,
)
from desktop.server.options import ServerOptions

PORT = 8537
LOOPBACK_ONLY = allowed_hosts("127.0.0.1", machine_addresses=["192.168.1.20"])


@pytest.mark.parametrize(
    "header",
    [
        "localhost",
        "localhost:8537",
        "LocalHost:8537",
        "127.0.0.1",
        "127.0.0.1:8537",
        "[::1]",
        "[::1]:8537",
        "[0:0:0:0:0:0:0:1]:8537",  # ::1 written out
    ],
)
def test_the_loopback_names_with_or_without_the_port_are_allowed(header: str) -> None:
    assert host_allowed(header, LOOPBACK_ONLY, PORT)


@pytest.mark.parametrize(
    "header",
    [
        "",
        "evil.example",
        "evil.example:8537",  # DNS rebinding: the attacker's name, this computer's address
        "localhost:8538",  # another port
        "localhost.",
        "localhost.evil.example",
        "127.0.0.1.nip.io:8537",
        "127.1:8537",  # 127.0.0.1 to some resolvers; not a name this server goes by
        "192.168.1.20:8537",  # this machine's, but the server is bound to 127.0.0.1 only
        "::1",  # IPv6 without its brackets is no Host
        "::1:8537",
        "[::1",
        "[::1]8537",
        "[evil.example]:8537",
        "localhost:",
        "localhost:0",
        "localhost:99999",
        "localhost:\uff18\uff15\uff13\uff17",  # 8537 in fullwidth digits
        "localhost:8537:8537",
        "*",
    ],
)
def test_any_other_host_is_refused(header: str) -> None:
    assert not host_allowed(header, LOOPBACK_ONLY, PORT)


def test_bound_to_one_address_that_address_is_allowed_too() -> None:
    allowed = allowed_hosts("192.168.1.20", machine_addresses=["192.168.1.20", "10.0.0.5"])
    assert host_allowed("192.168.1.20:8537", allowed, PORT)
    assert not host_allowed("10.0.0.5:8537", allowed, PORT)


@pytest.mark.parametrize("bound", ["0.0.0.0", "::", "[::]"])
def test_bound_to_every_address_the_list_is_the_machines_own_never_a_wildcard(
    bound: str,
) -> None:
    addresses = ["192.168.1.20", "fe80::1", "127.0.0.1"]
    allowed = allowed_hosts(bound, addresses, extra=["Lighthouse.local"])
    assert allowed == {
        "localhost",
        "127.0.0.1",
        "::1",
        "192.168.1.20",
        "fe80::1",
        "lighthouse.local",
    }
    assert host_allowed("[fe80::1]:8537", allowed, PORT)
    assert host_allowed("lighthouse.local:8537", allowed, PORT)
    for refused in ("evil.example:8537", "0.0.0.0:8537", "[::]:8537", "10.9.9.9"):
        assert not host_allowed(refused, allowed, PORT)


def test_a_host_header_splits_into_name_and_port() -> None:
    assert split_host_header("[::1]:8537") == ("::1", 8537)
    assert split_host_header("Example.COM") == ("example.com", None)
    assert split_host_header("[::ffff:127.0.0.1]") == ("::ffff:7f00:1", None)


@settings(max_examples=500)
@given(st.text())
def test_no_header_is_taken_for_one_that_is_not_exactly_allowed(header: str) -> None:
    found = split_host_header(header)
    if host_allowed(header, LOOPBACK_ONLY, PORT):
        assert found is not None and found[0] in LOOPBACK_ONLY and found[1] in (None, PORT)


@given(
    st.sampled_from(["localhost", "127.0.0.1", "[::1]"]),
    st.one_of(st.none(), st.integers(1, 65535)),
)
def test_an_allowed_name_passes_with_the_servers_port_only(name: str, port: int | None) -> None:
    header = name if port is None else f"{name}:{port}"
    assert host_allowed(header, LOOPBACK_ONLY, PORT) == (port in (None, PORT))


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.0.0.2", True),
        ("localhost", True),
        ("::1", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.20", False),
        ("lighthouse.local", False),
    ],
)
def test_only_a_loopback_address_keeps_the_server_to_this_computer(
    host: str, loopback: bool
) -> None:
    assert is_loopback(host) == loopback
    assert ServerOptions(host=host).on_network != loopback


@pytest.mark.parametrize(
    ("given", "origin"),
    [
        ("http://localhost:3000", "http://localhost:3000"),
        ("HTTP://LocalHost:3000/", "http://localhost:3000"),
        ("https://app.example:443", "https://app.example"),
        ("http://app.example:80", "http://app.example"),
        ("http://[::1]:3000", "http://[::1]:3000"),
        ("chrome-extension://abcdef", "chrome-extension://abcdef"),
        ("http://localhost:3000/app", None),
        ("http://user@localhost:3000", None),
        ("http://localhost:3000?x=1", None),
        ("localhost:3000", None),
        ("null", None),
        ("http://localhost:99999", None),
        ("", None),
    ],
)
def test_an_origin_is_read_as_browsers_send_it(given: str, origin: str | None) -> None:
    assert origin_of(given) == origin


@given(st.text())
def test_reading_an_origin_again_changes_nothing(text: str) -> None:
    origin = origin_of(text)
    if origin is not None:
        assert origin_of(origin) == origin


def test_listed_origins_are_kept_as_browsers_send_them_a_wildcard_never() -> None:
    assert checked_origins(["HTTP://localhost:3000/", "http://localhost:3000"]) == (
        "http://localhost:3000",
    )
    with pytest.raises(ServerOptionInvalid, match="every web page"):
        checked_origins(["http://localhost:3000", " * "])
    with pytest.raises(ServerOptionInvalid, match="not an origin"):
        checked_origins(["http://localhost:3000/app"])
    with pytest.raises(ServerOptionInvalid, match="not an origin"):
        ServerOptions(cors_origins=("null",)).checked()


@pytest.mark.parametrize(
    ("bound", "url"),
    [
        ("127.0.0.1", "http://127.0.0.1:8537/v1"),
        ("localhost", "http://localhost:8537/v1"),
        ("0.0.0.0", "http://127.0.0.1:8537/v1"),  # every address: the loopback one
        ("::", "http://[::1]:8537/v1"),
        ("[::1]", "http://[::1]:8537/v1"),
        ("192.168.1.20", "http://192.168.1.20:8537/v1"),
    ],
)
def test_a_client_on_this_computer_reaches_the_server_at(bound: str, url: str) -> None:
    assert client_url(bound, PORT) == url
