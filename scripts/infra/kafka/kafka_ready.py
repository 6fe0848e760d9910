#!/usr/bin/env python3
"""Readiness probe for the local Kafka broker, without starting a JVM.

Sends one Metadata request (v1, no topics) and exits 0 only if the broker
answers and lists at least one live (unfenced) broker, i.e. clients can
produce/consume and auto-create topics. Usage: kafka_ready.py [host] [port]
"""
import socket
import struct
import sys

host = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1"
port = int(sys.argv[2]) if len(sys.argv) > 2 else 9092


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("connection closed")
        buf += chunk
    return buf


def main():
    client_id = b"shop-infra-probe"
    # request header v1: api_key=3 (Metadata), api_version=1, correlation_id, client_id
    # body v1: topics = empty array (0 topics; -1 would mean "all topics")
    body = struct.pack(">hhih", 3, 1, 42, len(client_id)) + client_id + struct.pack(">i", 0)
    with socket.create_connection((host, port), timeout=2) as sock:
        sock.settimeout(2)
        sock.sendall(struct.pack(">i", len(body)) + body)
        size = struct.unpack(">i", recv_exact(sock, 4))[0]
        resp = recv_exact(sock, size)
    correlation_id, broker_count = struct.unpack(">ii", resp[:8])
    if correlation_id != 42:
        return 1
    return 0 if broker_count > 0 else 1


try:
    sys.exit(main())
except (OSError, ConnectionError, struct.error):
    sys.exit(1)
