"""tests/poll-clients.py: many long-poll clients at once, for the poll tests (stdlib only).

  loop BASE SUBSCRIBE_KEY CHANNEL COUNT [--pollers N] [--publish-key K --publishers P]
      N clients poll CHANNEL from its oldest message, following their cursors, until each
      has COUNT messages; P publishers meanwhile POST COUNT/P messages each to /push/publish.
      Prints one JSON line: how many clients got seqs 1..COUNT exactly once in order, and
      whether each publisher's messages arrived in the order it sent them.
  fcgi SOCKET QUERY N [--then CMD] [--addresses K]
      Sends N FastCGI GET /push/poll?QUERY requests straight to a push-poll socket (REMOTE_ADDR
      cycling over K addresses 10.0.x.y), runs CMD (a shell command) while they are held, then
      waits for every answer. Prints one JSON line with the answers' statuses and bodies
      summarised.
  abandon BASE QUERY N [--settle S] [--then CMD]
      Sends N GET /push/poll?QUERY through the web server at BASE, waits S seconds and runs CMD
      while they are held, then resets every connection at once (the browsers went away).
      Prints one JSON line.
"""
import argparse
import collections
import json
import os
import resource
import selectors
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.parse

from http_client import request


def poller_waiting(args, result, deadline):
    """Whether a poller still waits: within its deadline, or while the publishers of this run
    are still publishing and for --deadline seconds after they finish (a busy machine makes
    publishing slow; what is asserted is what arrives, not how fast), never past --cap."""
    now = time.time()
    if now < deadline:
        return True
    done = result.get("published_at")
    return now < result["started_at"] + args.cap and (done is None or now < done + args.deadline)


def poller(args, result):
    since = "%s:0" % args.channel
    seqs, contents = [], []
    deadline = time.time() + args.deadline
    while len(seqs) < args.count and poller_waiting(args, result, deadline):
        query = urllib.parse.urlencode({"appkey": args.key, "channel": args.channel,
                                        "since": since, "timeout": args.timeout})
        try:
            status, body = request("GET", "%s/push/poll?%s" % (args.base, query), timeout=70)
        except OSError as e:
            with result["lock"]:
                result["errors"] += 1
                result["error_kinds"][type(e).__name__ + ": " + str(e)[:80]] += 1
            time.sleep(0.2)
            continue
        with result["lock"]:
            result["polls"] += 1
            result["status"][status] += 1
        if status != 200:
            time.sleep(0.3)
            continue
        j = json.loads(body)
        for m in j["messages"]:
            seqs.append(m["seq"])
            contents.append(m["content"])
        since = j["cursor"]
    with result["lock"]:
        result["clients"].append((seqs, contents))


def stored(args, content):
    """Whether content is among the channel's latest messages (after a publish whose answer was
    lost: the connection closed before any reply, so it may or may not have been made)."""
    query = urllib.parse.urlencode({"appkey": args.key, "channel": args.channel, "limit": 1000})
    try:
        status, body = request("GET", "%s/push/history?%s" % (args.base, query))
    except OSError:
        return False
    return status == 200 and any(m["content"] == content for m in json.loads(body)["messages"])


def publisher(args, index, result):
    per = args.count // args.publishers
    for i in range(per):
        content = "p%d-%d" % (index, i)
        for _ in range(50):
            try:
                status, _ = request("POST", args.base + "/push/publish",
                                 {"appkey": args.publish_key, "channel": args.channel,
                                  "content": content}, timeout=10)
            except OSError:
                # No answer: publish again only if it was not made (contents are unique).
                status = 200 if stored(args, content) else 0
                with result["lock"]:
                    result["publish_unanswered"] += 1
            if status == 200:
                break
            time.sleep(0.1)
        else:
            result["publish_failures"] += 1


def run_loop(args):
    started_at = time.time()
    result = {"lock": threading.Lock(), "clients": [], "polls": 0, "errors": 0, "started_at": started_at,
              "published_at": None if args.publishers else started_at,
              "error_kinds": collections.Counter(),
              "status": collections.Counter(), "publish_failures": 0, "publish_unanswered": 0}
    threads = [threading.Thread(target=poller, args=(args, result)) for _ in range(args.pollers)]
    for t in threads:
        t.start()
    publishers = [threading.Thread(target=publisher, args=(args, i, result))
                  for i in range(args.publishers)]
    time.sleep(0.5)
    started = time.time()
    for t in publishers:
        t.start()
    for t in publishers:
        t.join()
    result["published_at"] = time.time()
    published = time.time() - started
    for t in threads:
        t.join()
    finished = time.time() - started
    expected = list(range(1, args.count + 1))
    exact = sum(1 for seqs, _ in result["clients"] if seqs == expected)
    fifo = 0
    for _, contents in result["clients"]:
        last = {}
        ok = len(set(contents)) == len(contents)
        for c in contents:
            if c.startswith("p") and "-" in c:
                who, n = c[1:].split("-")
                ok = ok and int(n) > last.get(who, -1)
                last[who] = int(n)
        fifo += ok
    print(json.dumps({"clients": len(result["clients"]), "exact": exact, "fifo": fifo,
                      "polls": result["polls"], "errors": result["errors"],
                      "error_kinds": dict(result["error_kinds"].most_common(3)),
                      "status": {str(k): v for k, v in result["status"].items()},
                      "publish_failures": result["publish_failures"],
                      "publish_unanswered": result["publish_unanswered"],
                      "short": sorted(len(s) for s, _ in result["clients"])[:5],
                      "publish_s": round(published, 1), "all_s": round(finished, 1)}))


def fcgi_record(kind, request_id, content=b""):
    return struct.pack("!BBHHBx", 1, kind, request_id, len(content), 0) + content


def fcgi_pairs(params):
    out = b""
    for name, value in params.items():
        n, v = name.encode(), value.encode()
        for length in (len(n), len(v)):
            out += struct.pack("!B", length) if length < 128 else struct.pack("!I", length | 0x80000000)
        out += n + v
    return out


def fcgi_request(query, address="127.0.0.1"):
    params = {"REQUEST_METHOD": "GET", "REQUEST_URI": "/push/poll?" + query,
              "SCRIPT_NAME": "/push/poll", "QUERY_STRING": query, "REMOTE_ADDR": address,
              "SERVER_PROTOCOL": "HTTP/1.1", "GATEWAY_INTERFACE": "CGI/1.1"}
    return (fcgi_record(1, 1, struct.pack("!HB5x", 1, 0)) + fcgi_record(4, 1, fcgi_pairs(params))
            + fcgi_record(4, 1) + fcgi_record(5, 1))


def fcgi_parse(data):
    """The STDOUT of a complete FastCGI response as (status, body), or None if incomplete."""
    out, pos, done = b"", 0, False
    while pos + 8 <= len(data):
        _, kind, _, length, padding = struct.unpack("!BBHHB", data[pos:pos + 7])
        if pos + 8 + length + padding > len(data):
            break
        if kind == 6:
            out += data[pos + 8:pos + 8 + length]
        elif kind == 3:
            done = True
        pos += 8 + length + padding
    if not done:
        return None
    head, _, body = out.partition(b"\r\n\r\n")
    status = 200
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"status:"):
            status = int(line.split()[1])
    return status, body.decode()


def run_fcgi(args):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    sel = selectors.DefaultSelector()
    buffers = {}
    requests = [fcgi_request(args.query, "10.0.%d.%d" % (k // 250, k % 250 + 1) if args.addresses else "127.0.0.1")
                for k in range(max(args.addresses, 1))]
    for i in range(args.n):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(args.socket)
        s.sendall(requests[i % len(requests)])
        s.setblocking(False)
        buffers[s] = b""
        sel.register(s, selectors.EVENT_READ)
    sent = time.time()
    answers = []

    def collect(wait):
        for key, _ in sel.select(wait):
            s = key.fileobj
            chunk = s.recv(65536)
            if chunk:
                buffers[s] += chunk
                continue
            sel.unregister(s)
            s.close()
            answers.append(fcgi_parse(buffers.pop(s)))

    if args.then:
        subprocess.run(args.then, shell=True, check=False)
    deadline = time.time() + args.deadline
    while sel.get_map() and time.time() < deadline:
        collect(1)
    bodies = collections.Counter()
    statuses = collections.Counter()
    for a in answers:
        if a is None:
            statuses["incomplete"] += 1
            continue
        statuses[str(a[0])] += 1
        if a[0] == 200:
            j = json.loads(a[1])
            bodies[json.dumps([m["content"] for m in j["messages"]])] += 1
        else:
            bodies[a[1][:120]] += 1
    print(json.dumps({"sent": args.n, "answered": len(answers),
                      "unanswered": len(sel.get_map()), "status": statuses,
                      "messages": bodies, "seconds": round(time.time() - sent, 1)}))


def run_abandon(args):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    url = urllib.parse.urlsplit(args.base)
    poll_request = ("GET /push/poll?%s HTTP/1.1\r\nHost: %s\r\n\r\n" % (args.query, url.netloc)).encode()
    sockets = []
    for _ in range(args.n):
        s = socket.create_connection((url.hostname, url.port))
        s.sendall(poll_request)
        sockets.append(s)
    time.sleep(args.settle)
    if args.then:
        subprocess.run(args.then, shell=True, check=False)
    early = 0
    for s in sockets:
        s.setblocking(False)
        try:
            if b'"messages"' in s.recv(65536):
                early += 1
        except BlockingIOError:
            pass
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
    print(json.dumps({"sent": args.n, "answered_before_reset": early}))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="mode", required=True)
    lp = sub.add_parser("loop")
    lp.add_argument("base")
    lp.add_argument("key")
    lp.add_argument("channel")
    lp.add_argument("count", type=int)
    lp.add_argument("--pollers", type=int, default=1)
    lp.add_argument("--publish-key")
    lp.add_argument("--publishers", type=int, default=0)
    lp.add_argument("--cap", type=float, default=300,
                    help="seconds a poller may wait at most, however slow publishing is")
    lp.add_argument("--timeout", type=int, default=10)
    lp.add_argument("--deadline", type=float, default=50)
    fp = sub.add_parser("fcgi")
    fp.add_argument("socket")
    fp.add_argument("query")
    fp.add_argument("n", type=int)
    fp.add_argument("--then")
    fp.add_argument("--deadline", type=float, default=50)
    fp.add_argument("--addresses", type=int, default=0)
    ab = sub.add_parser("abandon")
    ab.add_argument("base")
    ab.add_argument("query")
    ab.add_argument("n", type=int)
    ab.add_argument("--settle", type=float, default=2)
    ab.add_argument("--then")
    args = ap.parse_args()
    {"loop": run_loop, "fcgi": run_fcgi, "abandon": run_abandon}[args.mode](args)


if __name__ == "__main__":
    sys.exit(main())
