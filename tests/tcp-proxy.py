#!/usr/bin/env python3
"""tests/tcp-proxy.py: a TCP proxy to PostgreSQL's Unix socket that can go silent like a NAT
or firewall that dropped a flow: on SIGUSR1 it stops forwarding, in both directions, every
open flow that sent LISTEN (the listeners), without closing it; flows opened later are
forwarded as usual.

usage: tcp-proxy.py UNIX-SOCKET LOG
Prints the listening port on stdout, then logs one line per event to LOG:
"accept N", "listen N" (flow N sent LISTEN), "freeze N", "close N"."""
import selectors
import signal
import socket
import sys

target, log_path = sys.argv[1], sys.argv[2]
log = open(log_path, "a", buffering=1)
sel = selectors.DefaultSelector()
flows = {}  # id -> dict(client, server, listen, frozen)
next_id = 0

listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen(64)
listener.setblocking(False)
sel.register(listener, selectors.EVENT_READ, ("accept", None))

wake_r, wake_w = socket.socketpair()
wake_r.setblocking(False)
wake_w.setblocking(False)
signal.set_wakeup_fd(wake_w.fileno())
freeze_asked = False


def on_usr1(signum, frame):
    global freeze_asked
    freeze_asked = True


signal.signal(signal.SIGUSR1, on_usr1)
signal.signal(signal.SIGTERM, lambda s, f: sys.exit(0))
sel.register(wake_r, selectors.EVENT_READ, ("wake", None))

print(listener.getsockname()[1], flush=True)


def close_flow(fid):
    flow = flows.pop(fid, None)
    if not flow:
        return
    for s in (flow["client"], flow["server"]):
        try:
            sel.unregister(s)
        except (KeyError, ValueError):
            pass
        s.close()
    log.write("close %d\n" % fid)


def freeze():
    for fid, flow in flows.items():
        if flow["listen"] and not flow["frozen"]:
            flow["frozen"] = True
            for s in (flow["client"], flow["server"]):
                sel.unregister(s)
            log.write("freeze %d\n" % fid)


while True:
    for key, _ in sel.select():
        kind, fid = key.data
        if kind == "accept":
            client, _ = listener.accept()
            server = socket.socket(socket.AF_UNIX)
            server.connect(target)
            next_id += 1
            flows[next_id] = {"client": client, "server": server, "listen": False, "frozen": False}
            sel.register(client, selectors.EVENT_READ, ("client", next_id))
            sel.register(server, selectors.EVENT_READ, ("server", next_id))
            log.write("accept %d\n" % next_id)
        elif kind == "wake":
            try:
                wake_r.recv(64)
            except BlockingIOError:
                pass
            if freeze_asked:
                freeze_asked = False
                freeze()
        else:
            flow = flows.get(fid)
            if not flow or flow["frozen"]:
                continue
            src = flow[kind]
            dst = flow["server" if kind == "client" else "client"]
            try:
                data = src.recv(65536)
            except OSError:
                data = b""
            if not data:
                close_flow(fid)
                continue
            if kind == "client" and not flow["listen"] and b"LISTEN " in data:
                flow["listen"] = True
                log.write("listen %d\n" % fid)
            try:
                dst.sendall(data)
            except OSError:
                close_flow(fid)
