#!/usr/bin/env python3
"""Side-by-side markdown table (medians over repetitions) from the RESULT lines written by run.sh.

Rows of MQTT 5 runs (mqtt=5) are keyed "<scenario>@5" and printed after the MQTT 3.1.1 rows, titled "MQTT 5: ...".
Every scenario that moves messages has a "delivered / lost" row: messages/s received and the share of the
messages sent (QoS 0) or acknowledged (QoS 1/2) that never arrived.
Rows of TLS 1.2 runs (tls=TLSv1.2) are keyed "<scenario>@tls12" and titled "TLS 1.2: ..."; the TLS and connect rows
give the median and, in brackets, the range over the repetitions.
"""
import statistics
import sys
from collections import defaultdict

rows = defaultdict(list)  # (scenario, broker) -> [dict]
brokers = []
loads = []
for line in open(sys.argv[1]):
    if not line.startswith("RESULT "):
        continue
    d = dict(kv.split("=", 1) for kv in line.split()[1:] if "=" in kv)
    sc = d.get("scenario")
    if d.get("mqtt") == "5":
        sc += "@5"
    if d.get("tls") == "TLSv1.2":
        sc += "@tls12"
    rows[(sc, d.get("broker"))].append(d)
    if d.get("broker") not in brokers:
        brokers.append(d.get("broker"))
    if "load1" in d:
        loads.append(float(d["load1"]))


def values(sc, br, key):
    out = []
    for d in rows.get((sc, br), []):
        try:
            out.append(float(d[key]))
        except (KeyError, ValueError):
            pass
    return out


def med(sc, br, key, fmt="{:,.0f}", scale=1.0):
    v = values(sc, br, key)
    if not v:
        errs = [d.get("error") for d in rows.get((sc, br), []) if d.get("error")]
        return "error: " + errs[0] if errs else "-"
    return fmt.format(statistics.median(v) * scale)


def medr(sc, br, key, fmt="{:,.0f}"):
    """The median and, if there is more than one run, the range in brackets."""
    v = values(sc, br, key)
    m = med(sc, br, key, fmt)
    if len(v) < 2:
        return m
    return m + " (" + fmt.format(min(v)) + " to " + fmt.format(max(v)) + ")"


def delivered_range(sc, br):
    rate = medr(sc, br, "recv_msgs_s")
    loss = med(sc, br, "loss_pct", "{:,.2f} %")
    return rate if rate.startswith("error") else rate + " / lost " + loss


def total(sc, br, key):
    v = values(sc, br, key)
    return "-" if not v else "{:,.0f}".format(sum(v))


def lat(sc, br, prefix):
    p50 = med(sc, br, prefix + "_p50_us", "{:,.2f}", 0.001)
    p99 = med(sc, br, prefix + "_p99_us", "{:,.2f}", 0.001)
    return p50 + " / " + p99


def delivered(sc, br):
    """Messages/s received and the median loss in % (of sent, or of acknowledged for QoS 1/2)."""
    rate = med(sc, br, "recv_msgs_s")
    loss = med(sc, br, "loss_pct", "{:,.2f} %")
    return rate if rate.startswith("error") else rate + " / lost " + loss


def reps(sc, br):
    return len([d for d in rows.get((sc, br), []) if "error" not in d])


spec = [
    ("fanin", "fan-in QoS 0: messages/s delivered / lost", delivered),
    ("fanin", "fan-in QoS 0: latency p50 / p99 (ms)", lambda s, b: lat(s, b, "lat")),
    ("fanin-paced", "fan-in QoS 0 paced: messages/s delivered / lost", delivered),
    ("fanin-paced", "fan-in QoS 0 paced: latency p50 / p99 (ms)", lambda s, b: lat(s, b, "lat")),
    ("fanout", "fan-out QoS 0: messages/s delivered (all subscribers) / lost", delivered),
    ("fanout", "fan-out QoS 0: latency p50 / p99 (ms)", lambda s, b: lat(s, b, "lat")),
    ("fanout-paced", "fan-out QoS 0 paced: messages/s delivered / lost", delivered),
    ("fanout-paced", "fan-out QoS 0 paced: latency p50 / p99 (ms)", lambda s, b: lat(s, b, "lat")),
    ("qos1", "QoS 1: acknowledged messages/s", lambda s, b: med(s, b, "acked_msgs_s")),
    ("qos1", "QoS 1: messages/s delivered / lost", delivered),
    ("qos1", "QoS 1: acknowledged but lost (all runs)", lambda s, b: total(s, b, "lost")),
    ("qos1", "QoS 1: end-to-end latency p50 / p99 (ms)", lambda s, b: lat(s, b, "e2e")),
    ("qos1", "QoS 1: PUBACK latency p50 / p99 (ms)", lambda s, b: lat(s, b, "ack")),
    ("qos2", "QoS 2: acknowledged (PUBREC) messages/s", lambda s, b: med(s, b, "acked_msgs_s")),
    ("qos2", "QoS 2: messages/s delivered / lost", delivered),
    ("qos2", "QoS 2: acknowledged but lost (all runs)", lambda s, b: total(s, b, "lost")),
    ("qos2", "QoS 2: duplicates received (all runs)", lambda s, b: total(s, b, "dups")),
    ("qos2", "QoS 2: end-to-end latency p50 / p99 (ms)", lambda s, b: lat(s, b, "e2e")),
    ("neighbour-base", "QoS 1 fan-in, no slow subscriber: messages/s delivered / lost", delivered),
    ("neighbour-base", "QoS 1 fan-in, no slow subscriber: acknowledged but lost (all runs)",
     lambda s, b: total(s, b, "lost")),
    ("neighbour-base", "QoS 1 fan-in, no slow subscriber: latency p50 / p99 (ms)", lambda s, b: lat(s, b, "e2e")),
    ("neighbour", "QoS 1 fan-in + slow subscriber on #: fast one's messages/s delivered / lost", delivered),
    ("neighbour", "QoS 1 fan-in + slow subscriber on #: fast one's acknowledged but lost (all runs)",
     lambda s, b: total(s, b, "lost")),
    ("neighbour", "QoS 1 fan-in + slow subscriber on #: fast one's latency p50 / p99 (ms)",
     lambda s, b: lat(s, b, "e2e")),
    ("neighbour", "QoS 1 fan-in + slow subscriber on #: slow one's messages received",
     lambda s, b: med(s, b, "slow_received")),
    ("qos1-persistent", "QoS 1, persistent subscriber reconnecting: acknowledged messages/s",
     lambda s, b: med(s, b, "acked_msgs_s")),
    ("qos1-persistent", "QoS 1, persistent subscriber reconnecting: messages/s delivered / lost", delivered),
    ("qos1-persistent", "QoS 1, persistent subscriber reconnecting: acknowledged but lost (all runs)",
     lambda s, b: total(s, b, "lost")),
    ("qos1-persistent", "QoS 1, persistent subscriber reconnecting: duplicates received (all runs)",
     lambda s, b: total(s, b, "dups")),
    ("qos1-persistent", "QoS 1, persistent subscriber reconnecting: seconds offline per reconnection",
     lambda s, b: med(s, b, "offline_s_avg", "{:,.2f}")),
    ("qos1-persistent", "QoS 1, persistent subscriber reconnecting: latency p50 / p99 (ms)",
     lambda s, b: lat(s, b, "e2e")),
    ("idle", "idle: RSS growth per connection (KiB)", lambda s, b: med(s, b, "rss_per_conn_kb", "{:,.2f}")),
    ("idle", "idle: RSS growth per connection, 5 s later (KiB)",
     lambda s, b: med(s, b, "rss_settled_per_conn_kb", "{:,.2f}")),
    ("idle", "idle: heap after GC per connection (KiB)", lambda s, b: med(s, b, "heap_per_conn_kb", "{:,.2f}")),
    ("idle", "idle: connections opened per second", lambda s, b: med(s, b, "connect_per_s")),
    ("connect", "TCP connect + CONNECT/CONNACK/DISCONNECT: connections/s", lambda s, b: medr(s, b, "conn_per_s")),
    ("connect", "TCP connect: broker CPU ms per connection",
     lambda s, b: medr(s, b, "broker_cpu_ms_per_conn", "{:,.3f}")),
    ("tls-connect", "TLS connect (full handshake) + CONNECT/CONNACK/DISCONNECT: connections/s",
     lambda s, b: medr(s, b, "conn_per_s")),
    ("tls-connect", "TLS connect: failed (all runs)", lambda s, b: total(s, b, "failed")),
    ("tls-connect", "TLS connect: broker CPU ms per connection",
     lambda s, b: medr(s, b, "broker_cpu_ms_per_conn", "{:,.2f}")),
    ("tls-connect", "TLS connect: broker CPU % (of one core)", lambda s, b: medr(s, b, "broker_cpu_pct")),
    ("tls-connect", "TLS connect: load tool CPU ms per connection",
     lambda s, b: medr(s, b, "load_cpu_ms_per_conn", "{:,.2f}")),
    ("tls-connect", "TLS connect: TCP connect to CONNACK p50 / p99 (ms)", lambda s, b: lat(s, b, "lat")),
    ("tls-fanin", "fan-in QoS 0 over TLS: messages/s delivered / lost", delivered_range),
    ("tls-fanin", "fan-in QoS 0 over TLS: broker CPU % (of one core)", lambda s, b: medr(s, b, "broker_cpu_pct")),
    ("tls-fanin", "fan-in QoS 0 over TLS: latency p50 / p99 (ms)", lambda s, b: lat(s, b, "lat")),
]

# the sink scenarios (SinkBench, Brokkr only): one table, the run without a sink next to the run with it
sink_spec = [
    ("QoS 1 acknowledged messages/s", lambda s: med(s, "brokkr", "acked_msgs_s")),
    ("PUBACK latency p50 / p99 (ms)", lambda s: lat(s, "brokkr", "ack")),
    ("journal appends/s", lambda s: med(s, "brokkr", "journal_appends_s")),
    ("journal fsyncs/s", lambda s: med(s, "brokkr", "fsyncs_s")),
    ("records per fsync", lambda s: med(s, "brokkr", "recs_per_fsync")),
    ("records/s the sink wrote (broker counter)", lambda s: med(s, "brokkr", "sink_written_s")),
    ("records/s written into the store (Redis XLEN, Elasticsearch _count)",
     lambda s: med(s, "brokkr", "store_recs_s")),
    ("acknowledged but not in the store yet at the end of the period", lambda s: med(s, "brokkr", "store_lag_end")),
    ("PUBACK to visible in the store p50 / p99 (ms)", lambda s: lat(s, "brokkr", "vis")),
    ("acknowledged but not in the store after draining (all runs)", lambda s: total(s, "brokkr", "lost")),
    ("stored more than once (all runs)", lambda s: total(s, "brokkr", "dups")),
]
sink_all = ("sink-none", "sink-null", "sink-redis", "sink-elasticsearch")
sink_titles = {"sink-none": "without a sink", "sink-null": "with a sink that stores nothing",
               "sink-redis": "with the Redis sink", "sink-elasticsearch": "with the Elasticsearch sink"}
sink_cols = [c for c in sink_all if any((c + sfx, "brokkr") in rows for sfx in ("", "@5"))]
brokers = [b for b in brokers if any(k[1] == b and not k[0].startswith("sink-") for k in rows)]
if sink_cols:
    for suffix, prefix in (("", ""), ("@5", "MQTT 5: ")):
        if not any((c + suffix, "brokkr") in rows for c in sink_cols):
            continue
        print("| " + prefix + "QoS 1 publishers, Brokkr | " + " | ".join(sink_titles[c] for c in sink_cols) + " |")
        print("|---|" + "---:|" * len(sink_cols))
        for title, f in sink_spec:
            print("| " + title + " | " + " | ".join(
                f(c + suffix) if (c + suffix, "brokkr") in rows else "-" for c in sink_cols) + " |")
        print()

if brokers:
    print("| Scenario / metric | " + " | ".join(brokers) + " |")
    print("|---|" + "---:|" * len(brokers))
for suffix, prefix in (("", ""), ("@tls12", "TLS 1.2: "), ("@5", "MQTT 5: "), ("@5@tls12", "MQTT 5, TLS 1.2: ")):
    for sc, title, f in spec:
        if not any((sc + suffix, b) in rows for b in brokers):
            continue
        print("| " + prefix + title + " | " + " | ".join(f(sc + suffix, b) for b in brokers) + " |")
n = max((reps(s, b) for (s, b) in rows), default=0)
print()
print("Medians of %d run(s) each; 1-minute load average at the start of the runs: %s to %s."
      % (n, min(loads) if loads else "?", max(loads) if loads else "?"))
