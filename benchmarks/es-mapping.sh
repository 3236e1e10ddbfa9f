#!/usr/bin/env bash
# The Elasticsearch node's CPU per document under four mappings (README "The index template"): one node (the
# connector tests' EsNodeProcess, with ES_JVM_OPTS), 1.5 million documents of warm-up, then 500,000 documents per
# mapping, alternating, REPS rounds: dyn (no template: Elasticsearch's dynamic mapping), tpl (the connector's
# template for format = text), idx (the same with id an indexed keyword), bin (the template for format = base64).
# VARIANTS picks others: ref5 (tpl with refresh_interval 5s), nrm (tpl with the payload's norms off), bth (both),
# doc (payload without norms, frequencies and positions); a variant written MAPPING+IDS (tpl+dec, tpl+pad) sets
# es-bulk-load.py's IDS for it (dec: ids like the connector's record ids, pad: the same zero-padded). PAYLOAD=json
# sends sensor-like JSON text payloads instead of random base64; DOCS documents per variant (500000).
# Needs target/es-node.classpath (mvn -pl benchmarks -Pbench package, or a run of run.sh) and python3.
#   benchmarks/es-mapping.sh [PORT]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
port=${1:-9290}
REPS=${REPS:-3}
ES_JVM_OPTS=${ES_JVM_OPTS:-"-Xms2g -Xmx2g -XX:+UseG1GC"}
dir=$(mktemp -d)
# shellcheck disable=SC2086
java $ES_JVM_OPTS -cp "$(cat "$here/target/es-node.classpath")" 'io.brokkr.connector.elasticsearch.EsNodeProcess$Main' \
  "$dir/es" "$port" $((port + 100)) >"$dir/es.log" 2>&1 &
ESPID=$!
export ESPID
trap 'kill $ESPID 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 1 120); do grep -q ES-NODE-READY "$dir/es.log" && break; sleep 1; done
put() { # name, the id mapping, the payload mapping, index settings
  curl -sf -XPUT "localhost:$port/_index_template/$1" -H 'Content-Type: application/json' -d "{\"index_patterns\":[\"$1*\"],
    \"priority\":150,\"template\":{${4:-}\"mappings\":{\"properties\":{$2\"sender\":{\"type\":\"keyword\"},
    \"user\":{\"type\":\"keyword\"},\"topic\":{\"type\":\"keyword\"},$3\"payloadEncoding\":{\"type\":\"keyword\"},
    \"qos\":{\"type\":\"byte\"},\"retain\":{\"type\":\"boolean\"},
    \"time\":{\"type\":\"date\",\"format\":\"epoch_millis||strict_date_optional_time\"},\"datetime\":{\"type\":\"date\"}}}}}" >/dev/null
}
put tpl '"id":{"type":"keyword","index":false,"doc_values":false},' '"payload":{"type":"text"},'
put idx '"id":{"type":"keyword"},' '"payload":{"type":"text"},'
put bin '"id":{"type":"keyword","index":false,"doc_values":false},' '"payload":{"type":"binary"},'
ref5='"settings":{"index":{"refresh_interval":"5s"}},'
put ref5 '"id":{"type":"keyword","index":false,"doc_values":false},' '"payload":{"type":"text"},' "$ref5"
put nrm '"id":{"type":"keyword","index":false,"doc_values":false},' '"payload":{"type":"text","norms":false},'
put bth '"id":{"type":"keyword","index":false,"doc_values":false},' '"payload":{"type":"text","norms":false},' "$ref5"
put doc '"id":{"type":"keyword","index":false,"doc_values":false},' '"payload":{"type":"text","norms":false,"index_options":"docs"},'
echo "== $(date -u +%FT%TZ) node: $ES_JVM_OPTS; bulks of 5000, 2 at a time, payload ${PAYLOAD:-random 64 bytes as base64}"
python3 "$here/es-bulk-load.py" "$port" tplwarm 1500000 5000 2 | sed 's/^/warm-up /'
for r in $(seq 1 "$REPS"); do
  for v in ${VARIANTS:-dyn tpl idx bin}; do
    m=${v%%+*} ids=${v#*+}
    [ "$ids" = "$v" ] && ids=${IDS:-hex}
    echo "mapping=$m ids=$ids rep=$r $(IDS=$ids python3 "$here/es-bulk-load.py" "$port" "$m$ids$r" "${DOCS:-500000}" 5000 2)"
  done
done
