"""Which local addresses a port is listening on, as the kernel reports them: a server bound to
127.0.0.1 cannot be reached from another machine, one bound to 0.0.0.0 can."""

from __future__ import annotations

from pathlib import Path


def listening_addresses(port: int) -> set[str]:
    """The local addresses of the sockets listening on ``port`` (Linux /proc/net/tcp*)."""
    found = set()
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        for line in Path(table).read_text().splitlines()[1:]:
            local, _remote, state = line.split()[1:4]
            address, hex_port = local.split(":")
            if state != "0A" or int(hex_port, 16) != port:  # 0A: LISTEN
                continue
            raw = bytes.fromhex(address)
            # The kernel prints each 32-bit word in host (little-endian) order.
            words = b"".join(raw[i : i + 4][::-1] for i in range(0, width // 2, 4))
            found.add(
                ".".join(str(b) for b in words)
                if width == 8
                else ":".join(words[i : i + 2].hex() for i in range(0, 16, 2))
            )
    return found
