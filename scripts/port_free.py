"""`python scripts/port_free.py HOST PORT`: exit 1, saying what to do, when HOST:PORT cannot be served.

`make run` calls it first, so that a port already in use stops it before it
migrates, seeds or prints anything (the server's own error would come only after).
"""

import errno
import socket
import sys


def bind_error(host: str, port: int) -> OSError | None:
    """Why a server could not listen on host:port now (None: it could)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as error:
        return error
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as sock:
        # As gunicorn does: a just-stopped server's connections in TIME_WAIT do not hold the port.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError as error:
            return error
    return None


def main(host: str, raw_port: str) -> str | None:
    """The message to stop with, or None when the port is free."""
    port = int(raw_port) if raw_port.isdigit() else 0
    if not 0 < port < 65536:
        return f"PORT must be a port number from 1 to 65535, not {raw_port!r}; for example: PORT=8001 make run"
    error = bind_error(host, port)
    if error is None:
        return None
    if error.errno != errno.EADDRINUSE:  # an unknown HOST, a port below 1024 without root …
        return (
            f"Cannot listen on {host}:{port}: {error.strerror or error}. "
            f"Serve on this machine above port 1023, for example: HOST=127.0.0.1 PORT=8001 make run"
        )
    free = next((p for p in range(port + 1, min(port + 100, 65536)) if bind_error(host, p) is None), None)
    return (
        f"Port {port} on {host} is already in use (another `make run`, or another server, is listening there). "
        f"Stop that one, or pick another port: PORT={free or 8001} make run"
    )


if __name__ == "__main__":
    message = main(*sys.argv[1:3])
    if message:
        sys.exit(message)
