#!/usr/bin/env bash
# tests/ws-limits.sh: keepalive and limits: the sidecar pings idle connections and drops one
# that never answers after ws_idle_timeout, keeps one that does, sends keep-alive comments on
# idle SSE streams, and refuses connections over ws_max_per_address.
. "$(dirname "$0")/ws-lib.sh"
ws_require
tap_plan 7

start_postgres || { echo "Bail out! PostgreSQL did not start"; exit 1; }
create_app shop
PUSH_WS_PING_INTERVAL=1 PUSH_WS_IDLE_TIMEOUT=5 PUSH_WS_MAX_PER_ADDRESS=4 start_ws ||
    { echo "Bail out! push-ws did not start"; exit 1; }

$PY - "127.0.0.1" "$WS_PORT" "$SUBSCRIBE_KEY" >"$T/checks" 2>"$T/py.err" <<'PY'
import asyncio, base64, http.client, os, re, socket, sys, time
import ws_client as w
host, port, key = sys.argv[1], int(sys.argv[2]), sys.argv[3]
url = "ws://%s:%d/push/ws?appkey=%s" % (host, port, key)

def check(cond, text):
    print(("ok" if cond else "not ok") + "\t" + text, flush=True)

def mute_client():
    """Completes the handshake, then never answers a ping."""
    s = socket.create_connection((host, port))
    s.sendall(("GET /push/ws?appkey=%s HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n"
               % (key, base64.b64encode(os.urandom(16)).decode())).encode())
    return s

def wait_closed(s, timeout):
    """(seconds until the server closed, pings seen)"""
    s.settimeout(timeout)
    t0, data = time.monotonic(), b""
    try:
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    except (socket.timeout, ConnectionResetError):
        pass
    return time.monotonic() - t0, len(re.findall(b"\x89[\x00-\x7d]", data))

async def main():
    mute = mute_client()
    answering = await w.connect(url)   # websockets answers pings by itself
    conn = http.client.HTTPConnection(host, port, timeout=10)
    conn.request("GET", "/push/sse?appkey=%s&channel=quiet" % key)
    sse = conn.getresponse()
    closed_after, pings = await asyncio.get_running_loop().run_in_executor(None, wait_closed, mute, 12)
    check(pings >= 1, "an idle connection is pinged after ws_ping_interval (%d pings)" % pings)
    check(4 <= closed_after <= 9, "one that never answers is dropped after ws_idle_timeout (%.1f s)" % closed_after)
    check(answering.open, "one that answers the pings stays open")
    # By now the stream has been idle longer than ws_idle_timeout: it must still be open and
    # get a comment line every ws_ping_interval.
    lines, ended, t0 = [], False, time.monotonic()
    sse.fp.raw._sock.settimeout(3)
    try:
        while time.monotonic() - t0 < 3:
            line = sse.fp.readline().decode()
            if not line:
                ended = True
                break
            lines.append(line)
    except OSError:
        pass
    keepalives = sum(1 for l in lines if l.startswith(": keepalive"))
    check(keepalives >= 5 and not ended, "an idle SSE stream gets keep-alive comments and stays open (%d seen)" % keepalives)
    conns = [answering]
    refused = None
    for _ in range(4):
        try:
            conns.append(await w.connect(url))
        except Exception as e:
            refused = getattr(e, "status_code", -1)
            break
    # The SSE stream counts too: answering + SSE + 2 more reach the limit of 4.
    check(len(conns) == 3 and refused == 429, "over ws_max_per_address the handshake is refused with 429 (%d open, %s)"
          % (len(conns) + 1, refused))
    for c in conns:
        await c.close()
    conn.close()
    await asyncio.sleep(0.5)
    c = await w.connect(url)
    check(c.open, "after closing, the address may connect again")
    await c.close()

    # A text frame that is not UTF-8 closes the connection with 1007.
    raw = mute_client()
    mask = b"\x01\x02\x03\x04"
    raw.sendall(bytes([0x81, 0x82]) + mask + bytes(b ^ mask[i] for i, b in enumerate(b"\xff\xfe")))
    raw.settimeout(5)
    data = b""
    try:
        while b"\x88" not in data:
            chunk = raw.recv(4096)
            if not chunk:
                break
            data += chunk
    except OSError:
        pass
    close = data.find(b"\x88")
    check(close >= 0 and data[close + 2:close + 4] == b"\x03\xef", "a text message that is not UTF-8 closes with 1007")

asyncio.run(main())
PY
tap_checks "$T/checks"
tap_done
