"""tests/failover.py: a numbered stream published over HTTP through a database failover, followed
meanwhile by a WebSocket, an SSE and a long-poll subscriber (stdlib and python3-websockets).

  failover.py API SIDECAR PUBLISH_KEY SUBSCRIBE_KEY CHANNEL COUNT --stop CMD --promote CMD
      API is push-api's and push-poll's web server (http://host:port), SIDECAR push-ws's.
      The subscribers follow CHANNEL from its oldest message, each resuming from its last seq
      when its connection goes. One publisher POSTs contents n1..nCOUNT one after the other;
      after COUNT/2 acknowledged publishes it runs, in the background, --stop CMD (the primary
      goes) and --outage seconds later --promote CMD (the standby takes over), and goes on
      publishing. A publish that is not acknowledged (an error status or no answer) may or may
      not have been made: it is published again only when the channel's history says it was
      not.
      Prints "ready" once every subscriber is subscribed, then one JSON line with what each
      subscriber received and the timings of the failover.
"""
import argparse
import asyncio
import http.client
import json
import subprocess
import sys
import threading
import time
import urllib.parse

import ws_client as w
from http_client import request


class Run:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.final = None          # the channel's last seq once the publisher is done
        self.final_at = None
        self.ready = {}            # transport -> threading.Event
        self.got = {}              # transport -> [(seq, content)]
        self.reconnects = {}       # transport -> count
        self.events = {}           # name -> monotonic seconds
        self.failures = {"status": 0, "unanswered": 0, "stored_after_failure": 0}

    def done(self, last):
        """Whether a subscriber at seq last may stop: it has the last seq, or the publisher
        finished more than the grace period ago."""
        with self.lock:
            if self.final is None:
                return time.monotonic() > self.start + self.args.cap
            return last >= self.final or time.monotonic() > self.final_at + self.args.grace

    def note(self, name):
        with self.lock:
            self.events[name] = time.monotonic()


def poll_follower(run, name):
    a = run.args
    since = "%s:0" % a.channel
    got, last = run.got.setdefault(name, []), 0
    run.reconnects[name] = 0
    run.ready[name].set()
    while not run.done(last):
        query = urllib.parse.urlencode({"appkey": a.subscribe_key, "channel": a.channel,
                                        "since": since, "timeout": 5})
        try:
            status, body = request("GET", "%s/push/poll?%s" % (a.api, query), timeout=20)
        except OSError:
            status = 0
        if status != 200:
            run.reconnects[name] += 1
            time.sleep(0.2)
            continue
        j = json.loads(body)
        for m in j["messages"]:
            got.append((m["seq"], m["content"], time.monotonic()))
            last = m["seq"]
        since = j["cursor"]


def sse_follower(run, name):
    a = run.args
    url = urllib.parse.urlsplit(a.sidecar)
    got, last = run.got.setdefault(name, []), 0
    run.reconnects[name] = -1
    while not run.done(last):
        run.reconnects[name] += 1
        query = urllib.parse.urlencode({"appkey": a.subscribe_key, "channel": a.channel,
                                        "since": "%s:%d" % (a.channel, last)})
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=a.grace)
        try:
            conn.request("GET", "/push/sse?" + query)
            resp = conn.getresponse()
            if resp.status != 200:
                time.sleep(0.2)
                continue
            event = None
            while not run.done(last):
                line = resp.readline()  # the sidecar's keepalives come well within the timeout
                if not line:
                    break
                line = line.decode().rstrip("\n")
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: "):
                    if event == "subscribed":
                        run.ready[name].set()
                    elif event is None:
                        m = json.loads(line[6:])
                        got.append((m["seq"], m["content"], time.monotonic()))
                        last = m["seq"]
                elif line == "":
                    event = None
        except OSError:
            time.sleep(0.2)
        finally:
            conn.close()


def ws_follower(run, name):
    a = run.args
    url = "%s/push/ws?appkey=%s" % (a.sidecar.replace("http://", "ws://"), a.subscribe_key)
    got = run.got.setdefault(name, [])
    run.reconnects[name] = -1

    async def follow():
        last = 0
        while not run.done(last):
            try:
                ws = await w.connect(url)
            except Exception:
                await asyncio.sleep(0.2)
                continue
            run.reconnects[name] += 1
            try:
                await w.subscribe(ws, a.channel, since=last)
                run.ready[name].set()
                while not run.done(last):
                    m = await w.recv(ws, 1)
                    if m and m.get("op") == "message":
                        got.append((m["seq"], m["content"], time.monotonic()))
                        last = m["seq"]
            except Exception:
                await asyncio.sleep(0.2)
            await ws.close()

    asyncio.run(follow())


def stored(run, content):
    """The seq content was stored at, None when it was not, or "unknown" when the history does
    not answer."""
    a = run.args
    query = urllib.parse.urlencode({"appkey": a.subscribe_key, "channel": a.channel, "limit": 1000})
    try:
        status, body = request("GET", "%s/push/history?%s" % (a.api, query))
    except OSError:
        return "unknown"
    if status != 200:
        return "unknown"
    for m in json.loads(body)["messages"]:
        if m["content"] == content:
            return m["seq"]
    return None


def failover(run):
    a = run.args
    run.note("stop")
    subprocess_run(a.stop)
    run.note("stopped")
    time.sleep(a.outage)  # what noticing the loss takes a failover manager
    run.note("promote")
    subprocess_run(a.promote)
    run.note("promoted")


def subprocess_run(cmd):
    r = subprocess.run(cmd, shell=True, check=False, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if r.returncode:
        print("%s: exit %d: %s" % (cmd, r.returncode, r.stdout.decode()[-300:]), file=sys.stderr)


def publisher(run):
    """Publishes n1..nCOUNT; returns [(n, seq, acknowledged, finished_at)]."""
    a = run.args
    acked, failover_thread, last_failure = [], None, None
    for n in range(1, a.count + 1):
        content = "n%d" % n
        while True:
            try:
                status, body = request("POST", a.api + "/push/publish",
                                    {"appkey": a.publish_key, "channel": a.channel, "content": content})
            except OSError:
                status, body = 0, ""
            if status == 200:
                acked.append((n, json.loads(body)["seq"], True, time.monotonic()))
                break
            with run.lock:
                run.failures["status" if status else "unanswered"] += 1
            last_failure = time.monotonic()
            seq = "unknown"
            while seq == "unknown" and time.monotonic() < run.start + a.cap:
                time.sleep(0.1)
                seq = stored(run, content)
            if seq not in (None, "unknown"):
                with run.lock:
                    run.failures["stored_after_failure"] += 1
                acked.append((n, seq, False, time.monotonic()))
                break
            if time.monotonic() > run.start + a.cap:
                return acked, last_failure
        if n == a.count // 2 and failover_thread is None:
            failover_thread = threading.Thread(target=failover, args=(run,))
            failover_thread.start()
    if failover_thread:
        failover_thread.join()
    return acked, last_failure


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("api")
    ap.add_argument("sidecar")
    ap.add_argument("publish_key")
    ap.add_argument("subscribe_key")
    ap.add_argument("channel")
    ap.add_argument("count", type=int)
    ap.add_argument("--stop", required=True)
    ap.add_argument("--promote", required=True)
    ap.add_argument("--outage", type=float, default=2,
                    help="seconds between the primary's stop and the promotion")
    ap.add_argument("--cap", type=float, default=80, help="seconds the whole run may take at most")
    ap.add_argument("--grace", type=float, default=20,
                    help="seconds subscribers may lag behind the publisher at the end")
    args = ap.parse_args()
    run = Run(args)
    run.start = time.monotonic()
    followers = {"ws": ws_follower, "sse": sse_follower, "poll": poll_follower}
    threads = []
    for name, fn in followers.items():
        run.ready[name] = threading.Event()
        threads.append(threading.Thread(target=fn, args=(run, name), daemon=True))
        threads[-1].start()
    for name in followers:
        if not run.ready[name].wait(20):
            print("%s subscriber not ready" % name, file=sys.stderr)
    print("ready", flush=True)
    acked, last_failure = publisher(run)
    with run.lock:
        run.final = acked[-1][1] if acked else 0
        run.final_at = time.monotonic()
    for t in threads:
        t.join(args.grace + 5)
    ev = run.events
    promoted = ev.get("promoted")
    after = [t for _, _, ack, t in acked if ack and promoted and t > promoted]
    first_after = round(after[0] - promoted, 2) if after else None
    # Per transport: seconds from the promotion to the first message received after it.
    resumed = {name: round(min([t for _, _, t in got if promoted and t > promoted], default=-1) - promoted, 2)
               if promoted else None for name, got in run.got.items()}
    print(json.dumps({
        "published": len(acked), "acknowledged": sum(1 for a in acked if a[2]),
        "final": run.final, "contents": [a[0] for a in acked], "seqs": [a[1] for a in acked],
        "acked_after_promote": len(after),
        "seq_at_stop": max([s for _, s, _, t in acked if ev.get("stop") and t <= ev["stop"]], default=0),
        "promote_s": round(promoted - ev["promote"], 2) if promoted else None,
        "outage_s": round(after[0] - ev["stop"], 2) if after else None,
        "first_publish_after_promote_s": first_after,
        "last_failure_after_promote_s": round(last_failure - promoted, 2) if promoted and last_failure else None,
        "failures": run.failures,
        "delivery_resumed_s": resumed,
        "got": {name: [(seq, content) for seq, content, _ in got] for name, got in run.got.items()}, "reconnects": run.reconnects,
        "alive": [n for n, t in zip(followers, threads) if t.is_alive()],
        "seconds": round(time.monotonic() - run.start, 1)}))


if __name__ == "__main__":
    sys.exit(main())
