"""bench/compare-report.py: turns bench/compare's result files into its one table and one JSON
document (after the run: no load is generated here).

usage: compare-report.py RESULTS TARGETS SIZES SECONDS FANOUT_MESSAGES LATENCY_RATE
                         NCHAN_WORKERS SHORT STARTED MACHINE JSON_OUT(- for stdout)
"""
import array
import glob
import json
import os
import sys

(results, targets, sizes, seconds, fanout_messages, latency_rate, nchan_workers, short, started, machine,
 json_out, durable) = sys.argv[1:13]
targets, sizes = targets.split(), sizes.split()
HZ = os.sysconf("SC_CLK_TCK")


def path(name):
    return os.path.join(results, name)


def load_json(name):
    try:
        with open(path(name)) as f:
            return json.loads(f.read() or "{}")
    except (OSError, ValueError):
        return {}


def read_words(name):
    try:
        with open(path(name)) as f:
            return f.read().split()
    except OSError:
        return []


def percentile(sorted_values, p):
    """Nearest rank, as the load clients compute it."""
    if not sorted_values:
        return None
    rank = min(max(int(p * len(sorted_values) + 0.999999), 1), len(sorted_values))
    return sorted_values[rank - 1]


def publish_figures(name):
    j = load_json(name + ".json")
    if not j:
        return {}
    cpu = read_words(name + ".cpu")
    if cpu and j.get("messages"):
        j["cpu_us_per_message"] = round(int(cpu[0]) * 1e6 / HZ / j["messages"], 1)
    return j


def ws_figures(name):
    """Sums the subscriber processes' summaries; latency percentiles over all their samples."""
    out = {"processes": 0, "subscribers": 0, "subscribed": 0, "expected": 0, "delivered": 0, "lost": 0,
           "duplicate": 0, "disorder": 0, "failed_connections": 0}
    try:
        with open(path(name + ".load")) as f:
            lines = f.read().splitlines()
    except OSError:
        return {}
    for line in lines:
        v = dict(kv.split("=", 1) for kv in line.split())
        out["processes"] += 1
        out["subscribers"] += int(v["clients"])
        out["subscribed"] += int(v["subscribed"])
        out["expected"] += int(v["expected"])
        out["delivered"] += int(v["received"])
        out["lost"] += int(v["lost"])
        out["duplicate"] += int(v["duplicate"])
        out["disorder"] += int(v["disorder"])
        out["failed_connections"] += int(v["failed"])
    samples = array.array("I")
    for f in glob.glob(path(name + ".samples.*")):
        with open(f, "rb") as fh:
            samples.frombytes(fh.read())
    samples = sorted(samples)
    out["latency_ms"] = {k: (round(percentile(samples, p) / 1000.0, 3) if samples else None)
                         for k, p in (("p50", 0.5), ("p99", 0.99), ("max", 1.0))}
    try:
        with open(path(name + ".publisher")) as f:
            v = dict(kv.split("=", 1) for kv in f.read().split())
        out["published"] = int(v.get("published", 0))
        out["publish_failed"] = int(v.get("publish_failed", 0))
        out["publish_late"] = int(v.get("publish_late", 0))
        out["publish_seconds"] = float(v.get("seconds", 0))
    except (OSError, ValueError):
        out["published"] = None
    server = read_words(name + ".server")
    if len(server) == 2:
        ticks, pss = int(server[0]), int(server[1])
        out["cpu_us_per_delivery"] = round(ticks * 1e6 / HZ / out["delivered"], 2) if out["delivered"] else None
        out["pss_kib_per_subscriber"] = round(pss / out["subscribers"], 2) if out["subscribers"] else None
    return out


def poll_figures(name):
    j = load_json(name)
    if not j:
        return {}
    return {"expected": j.get("expected"), "delivered": j.get("delivered"), "lost": j.get("lost"),
            "latency_ms": j.get("latency_ms", {}), "published": j.get("published"),
            "publish_failed": j.get("publish_failed"), "cpu_us_per_delivery": j.get("cpu", {}).get("per_delivery_us"),
            "raw": j}


data = {"publish": {}, "ws_1": {}, "poll_1": {}, "fanout": {}}
data["publish"]["single"] = {t: publish_figures("single." + t) for t in targets}
data["publish"]["single"]["push_stored"] = load_json("single.stored.json")
data["publish"]["batch"] = {"push": publish_figures("batch.push")}
for t in targets:
    data["ws_1"][t] = ws_figures("ws1." + t)
    data["poll_1"][t] = poll_figures("poll1.%s.json" % t)
for n in sizes:
    data["fanout"][n] = {t: ws_figures("fanout%s.%s" % (n, t)) for t in targets}
data["history"] = load_json("history.json")
data["sql_publish"] = load_json("sql.json")


def get(d, *keys):
    for k in keys:
        if not isinstance(d, dict) or d.get(k) is None:
            return None
        d = d[k]
    return d


rows = []


def row(workload, figure, push, nchan=None, target="", met=None, lower_is_better=True):
    ratio = round(push / nchan, 3) if isinstance(push, (int, float)) and isinstance(nchan, (int, float)) and nchan else None
    rows.append({"workload": workload, "figure": figure, "push": push, "nchan": nchan, "push_over_nchan": ratio,
                 "target": target, "met": met})
    return ratio


def share(d):
    """ "delivered / expected" with thousands separators, or None without a result."""
    return "%s / %s" % (format(d["delivered"], ","), format(d["expected"], ",")) if d.get("expected") is not None else None


def reached(d):
    """The publish rate reached: messages published over the publishing time."""
    if d.get("raw"):
        return round(d["raw"]["published"] / d["raw"]["publish_s"], 1) if d["raw"].get("publish_s") else None
    return round(d["published"] / d["publish_seconds"], 1) if d.get("published") and d.get("publish_seconds") else None


def at_most(value, limit):
    return None if value is None else value <= limit


def at_least(value, limit):
    return None if value is None else value >= limit


single_push, single_nchan = data["publish"]["single"].get("push", {}), data["publish"]["single"].get("nchan", {})
rate_push, rate_nchan = single_push.get("messages_per_second"), single_nchan.get("messages_per_second")
ratio = rate_push / rate_nchan if rate_push is not None and rate_nchan else None
met = None if rate_push is None else rate_push >= 10000 and (ratio is None or ratio >= 0.08)
row("HTTP publish, single, 32 conn.", "msg/s", rate_push, rate_nchan, ">= 10,000 and >= 0.08x Nchan", met)
row("HTTP publish, single, 32 conn.", "p99 ms", single_push.get("p99_ms"), single_nchan.get("p99_ms"))
row("HTTP publish, single, 32 conn.", "server CPU us/msg", single_push.get("cpu_us_per_message"),
    single_nchan.get("cpu_us_per_message"))
floor = publish_figures("single.floor")
data["publish"]["single"]["floor"] = floor
w = "the floor: the same single publishes, lighttpd + a constant FastCGI reply"
row(w, "req/s", floor.get("messages_per_second"), rate_nchan)
row(w, "server CPU us/request", floor.get("cpu_us_per_message"), single_nchan.get("cpu_us_per_message"))
data["publish"]["one"] = {t: publish_figures("one." + t) for t in targets + ["floor"]}
one = data["publish"]["one"]
w = "HTTP publish, 1 conn., one at a time: round trip"
for fig in ("p50_ms", "p99_ms"):
    row(w, fig.replace("_ms", " ms"), get(one, "push", fig), get(one, "nchan", fig))
    row(w, fig.replace("_ms", " ms") + ", the floor", get(one, "floor", fig), get(one, "nchan", fig))
batch = data["publish"]["batch"]["push"]
row("HTTP publish, batch of 100, 8 conn.", "msg/s (Nchan: single)", batch.get("messages_per_second"), rate_nchan,
    ">= 100,000", at_least(batch.get("messages_per_second"), 100000))
row("HTTP publish, batch of 100, 8 conn.", "server CPU us/msg", batch.get("cpu_us_per_message"),
    single_nchan.get("cpu_us_per_message"))

for kind, label in (("ws_1", "WebSocket"), ("poll_1", "long-poll")):
    p, n = data[kind].get("push", {}), data[kind].get("nchan", {})
    w = "1 %s subscriber, %s msg/s" % (label, latency_rate)
    row(w, "delivered / expected", share(p), share(n), "nothing lost",
        (p.get("delivered") == p.get("expected") and not p.get("lost")) if p else None)
    row(w, "publishes/s reached (one at a time)", reached(p), reached(n))
    row(w, "p50 ms", get(p, "latency_ms", "p50"), get(n, "latency_ms", "p50"), "<= 1 ms",
        at_most(get(p, "latency_ms", "p50"), 1.0))
    row(w, "p99 ms", get(p, "latency_ms", "p99"), get(n, "latency_ms", "p99"), "<= 3 ms",
        at_most(get(p, "latency_ms", "p99"), 3.0))

for size in sizes:
    p, n = data["fanout"][size].get("push", {}), data["fanout"][size].get("nchan", {})
    w = "WebSocket fan-out, %s subs x 10 msg/s" % format(int(size), ",")
    whole = (lambda d: bool(d) and d.get("delivered") == d.get("expected") and d.get("lost") == 0
             and d.get("duplicate") == 0 and d.get("disorder") == 0)
    row(w, "delivered / expected", share(p), share(n), "nothing lost", whole(p) if p else None)
    row(w, "publishes/s reached (one at a time)", reached(p), reached(n))
    cpu_ratio = row(w, "server CPU us/delivery", p.get("cpu_us_per_delivery"), n.get("cpu_us_per_delivery"),
                    "<= 1.0x Nchan")
    rows[-1]["met"] = None if cpu_ratio is None else cpu_ratio <= 1.0
    row(w, "p50 ms", get(p, "latency_ms", "p50"), get(n, "latency_ms", "p50"))
    p99_ratio = row(w, "p99 ms", get(p, "latency_ms", "p99"), get(n, "latency_ms", "p99"), "<= 1.0x Nchan")
    rows[-1]["met"] = None if p99_ratio is None else p99_ratio <= 1.0
    pss = p.get("pss_kib_per_subscriber")
    row(w, "PSS KiB per idle subscriber", pss, n.get("pss_kib_per_subscriber"), "<= 5 KiB", at_most(pss, 5.0))

row("history, 20 rows, 8 conn. (push only)", "req/s", data["history"].get("requests_per_second"))
row("push.publish() from SQL, 8 clients (push only)", "tps", data["sql_publish"].get("tps"))


def cell(v):
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "NO"
    if isinstance(v, float):
        if abs(v) >= 1000:
            return format(round(v), ",")
        return ("%.3f" % v).rstrip("0").rstrip(".") if abs(v) < 10 else "%.1f" % v
    if isinstance(v, int):
        return format(v, ",")
    return str(v)


print()
print("bench/compare%s, %s, %s; %s s a timed workload; fan-out %s messages; Nchan %s nginx workers; %s" % (
    " --short" if short == "1" else "", started, machine, seconds, fanout_messages, nchan_workers,
    "PostgreSQL durable (fsync, synchronous_commit on)" if durable == "1"
    else "BENCH_DURABLE=0: PostgreSQL with fsync and synchronous_commit off, publishes NOT durable"))
print()
print("| workload | figure | push | Nchan | push/Nchan | target | met? |")
print("| --- | --- | --- | --- | --- | --- | --- |")
for r in rows:
    print("| %s | %s | %s | %s | %s | %s | %s |" % (r["workload"], r["figure"], cell(r["push"]), cell(r["nchan"]),
                                                 cell(r["push_over_nchan"]), r["target"] or "",
                                                 "" if not r["target"] else cell(r["met"])))
if rate_push and floor.get("messages_per_second"):
    print()
    print("push's single publish rate is %.2fx the floor's (lighttpd + a constant FastCGI reply, same client)" % (
        rate_push / floor["messages_per_second"]))
stored = data["publish"]["single"]["push_stored"]
if stored.get("transactions"):
    print()
    print("single publishes stored: %d messages in %d transactions (%.1f a transaction)" % (
        stored["rows"], stored["transactions"], stored["rows"] / stored["transactions"]))
runs = [("1 WebSocket subscriber", data["ws_1"])] + [("fan-out " + s, data["fanout"][s]) for s in sizes]
for label, by_target in runs:
    for t, d in by_target.items():
        if d.get("publish_late") or d.get("publish_failed") or d.get("failed_connections"):
            print("%s, %s: the publisher was late %s times, %s publishes failed, %s connections failed" % (
                label, t, d.get("publish_late"), d.get("publish_failed"), d.get("failed_connections")))

doc = {"bench": "compare", "started": started, "machine": machine, "short": short == "1", "seconds": int(seconds),
       "fanout_messages": int(fanout_messages), "latency_rate": int(latency_rate),
       "nchan_workers": int(nchan_workers), "durable": durable == "1", "rows": rows, "figures": data}
text = json.dumps(doc, separators=(",", ":"))
if json_out == "-":
    print()
    print(text)
else:
    with open(json_out, "w") as f:
        f.write(text + "\n")
    print()
    print("JSON: %s" % json_out)
