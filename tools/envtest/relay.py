"""The kwok nodes' kubelet address as the API server sees it: a mutual-TLS relay to kwok.

    python3 tools/envtest/relay.py LISTEN_IP LISTEN_PORT TARGET_PORT CERT KEY CA

The API server proxies `nodes/NAME/proxy` only to non-loopback node addresses, so the nodes
advertise this host's own address. kwok authenticates nobody and its exec runs commands on this
host, so it listens on 127.0.0.1 only; this relay listens on LISTEN_IP:LISTEN_PORT, accepts only
clients with a certificate signed by CA (the API server's kubelet client certificate), and passes
the bytes of each connection to kwok on 127.0.0.1:TARGET_PORT. Started and stopped by envtest.py.
"""

from __future__ import annotations

import socket
import ssl
import sys
import threading


def main(argv: list[str]) -> int:
    listen_ip, listen_port, target_port, cert, key, ca = argv
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.load_verify_locations(ca)
    context.verify_mode = ssl.CERT_REQUIRED
    with socket.create_server((listen_ip, int(listen_port))) as server:
        while True:
            conn, _ = server.accept()
            threading.Thread(target=_serve, args=(context, conn, int(target_port)), daemon=True).start()


def _serve(context: ssl.SSLContext, conn: socket.socket, target_port: int) -> None:
    try:
        client = context.wrap_socket(conn, server_side=True)
        backend = socket.create_connection(("127.0.0.1", target_port))
    except OSError as exc:  # a failed handshake (no or a foreign certificate) or kwok gone
        print(f"relay: connection refused: {exc}", file=sys.stderr, flush=True)
        conn.close()
        return
    with client, backend:
        threading.Thread(target=_pipe, args=(backend, client), daemon=True).start()
        _pipe(client, backend)


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    """Copy until either side closes, then close both (which also ends the opposite pipe)."""
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    for s in (source, sink):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
