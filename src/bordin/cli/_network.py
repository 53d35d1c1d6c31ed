"""Where ``bordin serve`` listens: is the port free, and which address goes in the links.

``--host 0.0.0.0`` listens on every interface, so a phone on the same network can open the
demo; the printed links then carry the machine's LAN address, not ``0.0.0.0`` (which a
phone cannot open).
"""

from __future__ import annotations

import socket

from bordin.errors import InputError

__all__ = ["check_port_free", "lan_address", "link_host"]

_EVERY_INTERFACE = frozenset({"0.0.0.0", "::", ""})


def check_port_free(host: str, port: int) -> None:
    """Raise a one-line :class:`InputError` when ``host:port`` cannot be listened on.

    Called before anything is created (no demo database, no password), so a second
    ``bordin demo`` on a busy port fails at once and says why.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # the same option uvicorn sets, so a port in TIME_WAIT is not reported as busy
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise InputError(
                f"cannot listen on {host}:{port} ({reason}); is another bordin running? "
                "Stop it or choose another port with --port"
            ) from None


def lan_address() -> str:
    """The machine's address on its local network (127.0.0.1 when it has none).

    Connecting a UDP socket only chooses the outgoing interface; no packet is sent.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 1))
            address = str(probe.getsockname()[0])
        except OSError:
            return "127.0.0.1"
    return address if address != "0.0.0.0" else "127.0.0.1"


def link_host(host: str) -> str:
    """The host name to put in printed links for a server listening on ``host``."""
    if host in _EVERY_INTERFACE:
        return lan_address()
    return f"[{host}]" if ":" in host else host
