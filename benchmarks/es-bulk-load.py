#!/usr/bin/env python3
"""Bulk-loads documents shaped like the Elasticsearch connector's into one index and reports the node's CPU per
document (benchmarks/es-mapping.sh).

usage: es-bulk-load.py PORT INDEX DOCS BULK PARALLEL [filter]
  the documents are built before the clock starts; PARALLEL connections send bulks of BULK documents at once;
  with ESPID=<node pid> in the environment the node's CPU time is read from /proc/<pid>/stat
  (es_cpu_us_doc, es_cores); "filter" adds filter_path to the bulk requests (smaller answers); with PAYLOAD=json
  the payload is sensor-like JSON text (no payloadEncoding, as the connector writes UTF-8 text) instead of 64
  random bytes in base64; IDS=dec makes
  the _id like the connector's record ids (journal id, '-', sequence in decimal), IDS=pad the same with the
  sequence zero-padded to 19 digits (default: 16 hex digits of the loader's pid, '-', 8 hex digits)
"""
import base64
import http.client
import os
import random
import sys
import threading
import time

port = int(sys.argv[1])
index = sys.argv[2]
n = int(sys.argv[3])
batch = int(sys.argv[4])
conc = int(sys.argv[5])
filt = len(sys.argv) > 6
pid = os.getpid()
json_payload = os.environ.get('PAYLOAD') == 'json'
id_style = os.environ.get('IDS', 'hex')
uuid_prefix = '5f0c1c2e-8d1a-4c3b-9e2f-%012x' % pid


def doc_id(k):
    if id_style == 'dec':  # as the connector's record ids: journal id, '-', the sequence in decimal
        return '%s-%d' % (uuid_prefix, k + 1)
    if id_style == 'pad':  # the same with the sequence zero-padded to 19 digits
        return '%s-%019d' % (uuid_prefix, k + 1)
    return "%016x-%08x" % (pid, k)


def payload(k):
    if json_payload:
        return ('{\\"device\\":\\"sensor-%d\\",\\"temperature\\":%.2f,\\"humidity\\":%d,\\"status\\":\\"%s\\"}'
                % (k % 1000, random.uniform(-20, 40), random.randint(0, 100), random.choice(['ok', 'low battery'])),
                '')
    return base64.b64encode(os.urandom(64)).decode(), '"payloadEncoding":"base64",'


def body(b):
    lines = []
    now = int(time.time() * 1000)
    for i in range(batch):
        k = b * batch + i
        rid = doc_id(k)
        lines.append('{"create":{"_index":"%s","_id":"%s"}}' % (index, rid))
        p, enc = payload(k)
        lines.append('{"id":"%s","sender":"pub-%d","topic":"bench/%d","payload":"%s",%s'
                     '"qos":1,"retain":false,"time":%d,"datetime":"2026-12-01T04:30:%02d.%03dZ"}'
                     % (rid, k % 8, k % 8, p, enc, now + i, (i // 1000) % 60, i % 1000))
    return ('\n'.join(lines) + '\n').encode()


nb = n // batch
bodies = [body(b) for b in range(nb)]
path = '/_bulk' + ('?filter_path=took,errors,items.*._index,items.*._id,items.*.status,items.*.error' if filt else '')
lock = threading.Lock()
nxt = [0]
errs = [0]


def worker():
    c = http.client.HTTPConnection('127.0.0.1', port)
    while True:
        with lock:
            b = nxt[0]
            nxt[0] += 1
        if b >= nb:
            return
        c.request('POST', path, bodies[b], {'Content-Type': 'application/x-ndjson'})
        r = c.getresponse()
        d = r.read()
        if r.status != 200 or b'"errors":true' in d:
            errs[0] += 1


def cpu(p):
    f = open('/proc/%d/stat' % p).read().split(') ')[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf('SC_CLK_TCK')


espid = int(os.environ.get('ESPID', '0'))
t0 = time.time()
c0 = cpu(espid) if espid else 0
ts = [threading.Thread(target=worker) for _ in range(conc)]
for t in ts:
    t.start()
for t in ts:
    t.join()
dt = time.time() - t0
c1 = cpu(espid) if espid else 0
print("docs=%d batch=%d conc=%d filter=%s secs=%.2f docs/s=%.0f es_cpu_us_doc=%.1f es_cores=%.2f errs=%d"
      % (nb * batch, batch, conc, filt, dt, nb * batch / dt, (c1 - c0) * 1e6 / (nb * batch), (c1 - c0) / dt, errs[0]))
