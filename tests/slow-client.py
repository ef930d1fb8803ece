#!/usr/bin/env python3
"""tests/slow-client.py: a slowloris client for tests/limits-*.sh.

    slow-client.py HOST PORT SOURCE INTERVAL DEADLINE

Connects from SOURCE (a 127.0.0.x address) and starts a request header that it never
finishes: its first line at once, then one more byte every INTERVAL seconds (INTERVAL 0:
nothing more). Stops when the server closes the connection or after DEADLINE seconds, and
prints one JSON line: closed (whether the server closed it), after (seconds since connect),
sent (bytes), answer (the first line the server wrote, if any).
"""
import json
import socket
import sys
import time


def main():
    host, port, source = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    interval, deadline = float(sys.argv[4]), float(sys.argv[5])
    sock = socket.create_connection((host, port), timeout=5, source_address=(source, 0))
    start = time.monotonic()
    head = b"GET /push/status HTTP/1.1\r\n"
    trickle = b"Host: 127.0.0.1\r\nX-Slow: " + b"a" * 100000
    sent, closed, answer = 0, False, ""
    try:
        sock.sendall(head)
        sent = len(head)
        while True:
            left = deadline - (time.monotonic() - start)
            if left <= 0:
                break
            sock.settimeout(min(interval, left) if interval > 0 else left)
            try:
                data = sock.recv(4096)
                closed = True
                answer = data.split(b"\r\n", 1)[0].decode("latin-1")
                break
            except socket.timeout:
                pass
            if interval > 0 and sent - len(head) < len(trickle):
                sock.sendall(trickle[sent - len(head):sent - len(head) + 1])
                sent += 1
    except OSError:
        closed = True
    after = time.monotonic() - start
    sock.close()
    print(json.dumps({"closed": closed, "after": round(after, 1), "sent": sent, "answer": answer}))


if __name__ == "__main__":
    main()
