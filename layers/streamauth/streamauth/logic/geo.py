"""A client's country without a network call (README "Access policies"). Pure.

The one rule: the CDN's country header where the enforcement point has one it trusts
(`CloudFront-Viewer-Country`, read by models/policies.py `country_of`) wins; else the client's
address is looked up in an offline database, the `iptocc` package (PyPI; MIT OR Apache-2.0): the
five Regional Internet Registries' delegation files compiled into its Rust extension, so a lookup
opens no file and no socket. It names the country a registry ASSIGNED an address block to, not
where the block is used (a VPN, a mobile carrier's or a cloud's address abroad says its home
country); the package states that this agrees with MaxMind for ~95% of IPv4 addresses.

It is imported on first use only: a cold start that judges no country rule never loads it (the
callers ask only when a policy names countries, or detects sharing: its evidence counts them).
Its own nightly job republishes it whenever a registry's file changed; `sam build` takes the
newest 3.x that layers/streamauth/requirements.txt admits (pin it there to freeze the data).
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from functools import cache

from streamauth.models.policies import Address, Client, parse_address


def client_country(client: Client, address: Address | None = None) -> str | None:
    """The client's country: its trusted header's, else its address's (`address`: as the caller
    parsed it already) in the database. None: unknown; an allow list then refuses it and a deny
    list cannot match it."""
    if client.country is not None:
        return client.country
    return address_country(address if address is not None else parse_address(client.address))


def address_country(address: Address | None) -> str | None:
    """The ISO 3166-1 alpha-2 code the database gives an address; None for no address and one no
    registry lists, which is every address that is not globally routable (private, loopback,
    link-local, documentation, CGNAT: tests/unit/test_geo.py holds the database to it; asking
    `is_global` instead costs 13 us a new address, the lookup 2)."""
    if address is None:
        return None
    # inet_ntop: the address's text at a third of str()'s cost (the lookup itself is ~0.2 us)
    code = _lookup()(socket.inet_ntop(socket.AF_INET if address.version == 4 else socket.AF_INET6, address.packed))
    return code.upper() if code is not None and len(code) == 2 and code.isascii() and code.isalpha() else None


@cache
def _lookup() -> Callable[[str], str | None]:
    from iptocc import country_code  # ~1.8 MB extension with its data: loaded here, once

    return country_code
