"""tests/ws_client.py: WebSocket helpers for the push-ws tests (python3-websockets, asyncio)."""
import asyncio
import base64
import json
import os
import socket
import sys
import time

import websockets


def run(coro):
    return asyncio.run(coro)


async def connect(url, origin=None, **kw):
    """Opens a connection that reads everything the server sends as it comes (a deep queue:
    the test decides when to look) and sends no pings of its own."""
    return await websockets.connect(url, origin=origin, ping_interval=None, max_size=None,
                                    max_queue=100000, close_timeout=2, open_timeout=10, **kw)


class SseStream:
    """One GET /push/sse request to where (host, port); events() reads what arrives."""

    def __init__(self, where, query, headers=None):
        import http.client
        self.conn = http.client.HTTPConnection(*where, timeout=1)
        self.conn.request("GET", "/push/sse?" + query, headers=headers or {})
        self.resp = self.conn.getresponse()
        self.subscribed = []   # the data of each "event: subscribed" read so far

    def events(self, want, timeout=10, subscribed=0):
        """Up to want message events (others skipped; subscribed ones noted) as (id, data) pairs,
        read until there are want of them and subscribed subscribed events in all, or timeout."""
        got, event, deadline = [], {}, time.monotonic() + timeout
        while (len(got) < want or len(self.subscribed) < subscribed) and time.monotonic() < deadline:
            try:
                line = self.resp.readline()
            except (TimeoutError, OSError):
                continue
            if not line:
                break
            line = line.decode().rstrip("\n")
            if line == "":
                kind = event.get("event", "message")
                if "data" in event and kind == "message":
                    got.append((event.get("id"), json.loads(event["data"])))
                elif kind == "subscribed":
                    self.subscribed.append(event.get("data"))
                event = {}
            elif not line.startswith(":"):
                name, _, value = line.partition(": ")
                event[name] = value
        return got

    def close(self):
        self.conn.close()


async def send(ws, obj):
    await ws.send(obj if isinstance(obj, str) else json.dumps(obj))


async def recv(ws, timeout=10):
    """The next frame as a dict, or None on timeout."""
    try:
        return json.loads(await asyncio.wait_for(ws.recv(), timeout))
    except asyncio.TimeoutError:
        return None


async def until(ws, pred, timeout=10):
    """Frames up to and including the first that matches pred, or None on timeout."""
    seen = []
    deadline = time.monotonic() + timeout
    while True:
        frame = await recv(ws, max(0.01, deadline - time.monotonic()))
        if frame is None:
            return None
        seen.append(frame)
        if pred(frame):
            return seen


async def request(ws, obj, timeout=10):
    """Sends obj (with its id) and returns the reply carrying that id."""
    await send(ws, obj)
    frames = await until(ws, lambda f: f.get("id") == obj.get("id") and f.get("op") != "message", timeout)
    return frames[-1] if frames else None


async def subscribe(ws, channel, since=None, token=None, req_id=None):
    msg = {"op": "subscribe", "channel": channel, "id": req_id or ("sub-" + channel)}
    if since is not None:
        msg["since"] = since
    if token is not None:
        msg["token"] = token
    return await request(ws, msg)


async def messages(ws, channel, count, timeout=20):
    """The next count messages of channel (other frames skipped); fewer on timeout."""
    got = []
    deadline = time.monotonic() + timeout
    while len(got) < count:
        frame = await recv(ws, max(0.01, deadline - time.monotonic()))
        if frame is None:
            break
        if frame.get("op") == "message" and frame.get("channel") == channel:
            got.append(frame)
    return got


def raw_connect(host, port, path, rcvbuf=None):
    """A plain socket taken through the WebSocket handshake (a 101 is asserted), for clients
    that never read: nothing after the reply's headers is read. rcvbuf sets SO_RCVBUF first."""
    s = socket.socket()
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.connect((host, port))
    s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n"
               % (path, base64.b64encode(os.urandom(16)).decode())).encode())
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        head += s.recv(1)
    assert b" 101 " in head.split(b"\r\n")[0], head
    return s


def raw_read(s, timeout=10, until=None):
    """What the server sends on raw socket s until it closes (True), or until(data) holds or
    timeout seconds pass (False): (closed, data)."""
    s.settimeout(timeout)
    data = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return True, data
            data += chunk
            if until and until(data):
                return False, data
    except ConnectionResetError:
        return True, data
    except socket.timeout:
        return False, data


def raw_frames(data):
    """The complete server frames in data (unmasked, as a server sends): (opcode, payload)."""
    out, i = [], 0
    while i + 2 <= len(data):
        n, head = data[i + 1] & 0x7f, 2
        if n == 126:
            n, head = int.from_bytes(data[i + 2:i + 4], "big"), 4
        elif n == 127:
            n, head = int.from_bytes(data[i + 2:i + 10], "big"), 10
        if i + head + n > len(data):
            break
        out.append((data[i] & 0x0f, data[i + head:i + head + n]))
        i += head + n
    return out


def raw_frame(obj):
    """obj as JSON in a masked text frame, as a client sends it (under 126 bytes)."""
    data = json.dumps(obj).encode()
    assert len(data) < 126
    mask = os.urandom(4)
    return bytes([0x81, 0x80 | len(data)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data))


def in_order(frames, first, last):
    """True when frames are exactly seqs first..last, in order."""
    return [f["seq"] for f in frames] == list(range(first, last + 1))


async def follow(url, channel, total, ready):
    """Follows channel until seq total, reconnecting (0.2 s apart) and resubscribing from the
    last seq whenever the connection goes. Returns (seqs received, reconnects)."""
    seqs, reconnects, last = [], -1, 0
    while last < total:
        try:
            ws = await connect(url)
        except Exception:
            await asyncio.sleep(0.2)
            continue
        reconnects += 1
        try:
            await subscribe(ws, channel, since=last)
            ready.set()
            async for text in ws:
                m = json.loads(text)
                if m.get("op") == "message":
                    seqs.append(m["seq"])
                    last = m["seq"]
                    if last >= total:
                        break
        except Exception:
            pass
        await ws.close()
    return seqs, reconnects


def followers(argv):
    """URL CHANNEL CLIENTS TOTAL: prints "ready" once every follower is subscribed, then
    "exact N" (followers that got 1..TOTAL exactly once, in order) and "reconnected N"."""
    url, channel, clients, total = argv[0], argv[1], int(argv[2]), int(argv[3])

    async def main():
        events = [asyncio.Event() for _ in range(clients)]
        tasks = [asyncio.create_task(follow(url, channel, total, e)) for e in events]
        for e in events:
            await e.wait()
        print("ready", flush=True)
        results = await asyncio.wait_for(asyncio.gather(*tasks), 120)
        print("exact %d" % sum(1 for seqs, _ in results if seqs == list(range(1, total + 1))))
        print("reconnected %d" % sum(1 for _, r in results if r >= 1), flush=True)

    asyncio.run(main())


if __name__ == "__main__":
    followers(sys.argv[1:])
