#!/usr/bin/env bash
# Brokkr vs Mosquitto on this machine: starts each broker, runs every scenario of the load tool against it,
# repeats, and prints a side-by-side table of the medians.
#
#   benchmarks/run.sh                      # everything, 3 repetitions (about 15 minutes)
#   REPS=1 DURATION=5 benchmarks/run.sh    # quick look
#   SCENARIOS="fanin qos1" BROKERS=brokkr benchmarks/run.sh
#   MAX_QUEUED=100000 WINDOW=1000 MESSAGES=800000 SCENARIOS=fanin MQTT="3 5" benchmarks/run.sh
#   SCENARIOS="tls-connect tls-fanin" TLS_VERSIONS="TLSv1.3 TLSv1.2" benchmarks/run.sh   # over TLS
#
# Environment (defaults in brackets):
#   REPS [3] DURATION [10] WARMUP [3] PAYLOAD [64]
#   WINDOW [20]         inflight QoS 1/2 messages: each publisher's window, and both brokers' outbound window per
#                       client (Brokkr max.inflight, Mosquitto max_inflight_messages)
#   MQTT [3]            protocol versions to run every scenario with: 3 (3.1.1), 5, or "3 5"
#   MESSAGES [0]        if > 0: each throughput scenario sends this many messages in all instead of running for
#                       WARMUP + DURATION seconds (rates then run from the first publish to the last receive)
#   DRAIN [5]           seconds without a delivery after which the load tool stops waiting for missing messages
#   PUBLISHERS [8]      publishers of fanin, qos1, qos2, neighbour, qos1-persistent
#   FANOUT_SUBS [16]    subscribers of fanout
#   IDLE_CONNS [10000]  connections of idle
#   SCENARIOS ["idle fanin fanin-paced fanout fanout-paced qos1 qos2 neighbour-base neighbour qos1-persistent"]
#                       plus sink-redis, sink-elasticsearch and sink-null (not in the default set): Brokkr only; each
#                       repetition runs io.brokkr.bench.SinkBench against a broker without a sink (reported as
#                       sink-none) and against one with the Redis connector (sink-redis; its own redis-server on a free
#                       port), with the Elasticsearch connector (sink-elasticsearch; its own Elasticsearch 8.19 node,
#                       EsNodeProcess of the connector's tests, in its own JVM on free ports) or with a sink that
#                       stores nothing (sink-null: the journal's cost alone), see the README
#   CP_PREFIX [""]      jars put before the classpath of BrokerMain and SinkBench (to compare with another build)
#   SINK_PROPS [""]     sink-redis, sink-elasticsearch: extra sink properties for BrokerMain, e.g.
#                       "sink.batch.size=2000 sink.layout=list"
#   SINK_RATE [0]       sink-*: QoS 1 messages/s of all publishers together (paced: whether the sink keeps up with that
#                       load); 0 = as fast as their windows allow
#   PROBE_RATE [100]    sink-redis, sink-elasticsearch: probe messages/s whose PUBACK-to-visible-in-the-store delay is
#                       measured
#   ES_JVM_OPTS ["-Xms2g -Xmx2g -XX:+UseG1GC"]  sink-elasticsearch: the node's JVM (G1, as Elasticsearch's own
#                       jvm.options; the connector's tests use "-Xmx512m -XX:+UseSerialGC")
#   ES_WARMUP_DOCS [1000000]  sink-elasticsearch: documents SinkBench writes into the node before the publishers start
#                       (a new node is a cold JVM: its CPU per document still fell after half a million)
#   SINK_SUBSCRIBER [0] sink-redis: 1 = also one QoS 1 MQTT subscriber on the publishers' topics (in both runs)
#   BROKERS ["brokkr mosquitto"]  also brokkr-openssl: Brokkr whose TLS listener has tls.provider=openssl
#                       (netty-tcnative-boringssl-static, a runtime dependency of this module); its other listener and
#                       everything else as brokkr
#   SLOW_SUBS [1] SLOW_RATE [50]  neighbour: slow subscribers on #, messages/s each reads and acknowledges
#                       (neighbour-base: the same with no slow subscriber); both report the broker's and the load
#                       tool's CPU per acknowledged message
#   NEIGHBOUR_RATE [50000]  msgs/s of all publishers together in neighbour-paced and neighbour-base-paced (not in
#                       the default set): the slow subscriber's cost as broker CPU per message at a rate both carry
#   PERSISTENT_SUBS [1] RECONNECT_EVERY [2] OFFLINE_MS [500] SESSION_EXPIRY [300]  qos1-persistent: persistent
#                       subscribers, seconds between their reconnections (0 = once, after the warm-up), time
#                       offline, MQTT 5 Session Expiry Interval
#   FANIN_RATE [20000]  msgs/s of all publishers together in fanin-paced (latency at a load both brokers carry)
#   FANOUT_RATE [2000]  msgs/s of the publisher in fanout-paced
#   BROKKR_JVM_OPTS ["-Xmx1g -XX:+UseG1GC" and the memory options of karaf-assembly's bin/setenv]
#   BROKKR_CFG [broker cfg key=value pairs, see below]
#   LOAD_JVM_OPTS ["-Xms1g -Xmx2g"]  LOAD_THREADS [1]
#   MAX_QUEUED [1000000] max queued messages per session, both brokers (Brokkr max.queued.messages, Mosquitto
#                       max_queued_messages); queued bytes unbounded on both (Brokkr max.queued.bytes=0)
#                       plus, not in the default set: tls-connect (PARALLEL connectors open connections one after
#                       the other over TLS: handshake, CONNECT, CONNACK, DISCONNECT; connections/s and the broker's
#                       CPU ms per connection), tls-fanin (fanin over TLS, with the broker's CPU) and connect (as
#                       tls-connect over plain TCP, the baseline)
#   TLS_KEY [rsa]       the server certificate of the tls-* scenarios: rsa (RSA 2048) or ec (ECDSA P-256); made with
#                       openssl, with its CA, in a temporary directory; the same files for both brokers
#   TLS_VERSIONS ["TLSv1.3"]  the tls-* scenarios run once per version given (the one version the clients offer)
#   PARALLEL [4]        connect, tls-connect: connections being opened at the same time
#   BROKKR_TLS_OPTS [""] more keys of Brokkr's TLS listener, e.g. "tls.provider=openssl"
#   SKIP_BUILD=1        use the already built benchmarks/target
#   OUT [benchmarks/target/bench-<time>]  results directory
# the whole script is one block, read before it runs: editing this file during a run cannot break the run
{
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"

REPS=${REPS:-3}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-3}
PAYLOAD=${PAYLOAD:-64}
WINDOW=${WINDOW:-20}
MQTT=${MQTT:-3}
MESSAGES=${MESSAGES:-0}
DRAIN=${DRAIN:-5}
PUBLISHERS=${PUBLISHERS:-8}
FANOUT_SUBS=${FANOUT_SUBS:-16}
IDLE_CONNS=${IDLE_CONNS:-10000}
SCENARIOS=${SCENARIOS:-"idle fanin fanin-paced fanout fanout-paced qos1 qos2 neighbour-base neighbour qos1-persistent"}
SLOW_SUBS=${SLOW_SUBS:-1}
SLOW_RATE=${SLOW_RATE:-50}
PERSISTENT_SUBS=${PERSISTENT_SUBS:-1}
RECONNECT_EVERY=${RECONNECT_EVERY:-2}
OFFLINE_MS=${OFFLINE_MS:-500}
SESSION_EXPIRY=${SESSION_EXPIRY:-300}
FANIN_RATE=${FANIN_RATE:-20000}
NEIGHBOUR_RATE=${NEIGHBOUR_RATE:-50000}
FANOUT_RATE=${FANOUT_RATE:-2000}
BROKERS=${BROKERS:-"brokkr mosquitto"}
MAX_QUEUED=${MAX_QUEUED:-1000000}
BROKKR_JVM_OPTS=${BROKKR_JVM_OPTS:-"-Xmx1g -XX:+UseG1GC -XX:TrimNativeHeapInterval=1000 -XX:MinHeapFreeRatio=10 -XX:MaxHeapFreeRatio=30 -XX:G1PeriodicGCInterval=60000"}
BROKKR_CFG=${BROKKR_CFG:-"max.queued.messages=$MAX_QUEUED max.queued.bytes=0 max.inflight=$WINDOW"}
LOAD_JVM_OPTS=${LOAD_JVM_OPTS:-"-Xms1g -Xmx2g"}
LOAD_THREADS=${LOAD_THREADS:-1}
OUT=${OUT:-"$here/target/bench-$(date -u +%Y%m%d-%H%M%S)"}
SINK_PROPS=${SINK_PROPS:-""}
PROBE_RATE=${PROBE_RATE:-100}
SINK_RATE=${SINK_RATE:-0}
ES_WARMUP_DOCS=${ES_WARMUP_DOCS:-1000000}
SINK_SUBSCRIBER=${SINK_SUBSCRIBER:-0}
TLS_KEY=${TLS_KEY:-rsa}
TLS_VERSIONS=${TLS_VERSIONS:-"TLSv1.3"}
PARALLEL=${PARALLEL:-4}
BROKKR_TLS_OPTS=${BROKKR_TLS_OPTS:-""}
ES_JVM_OPTS=${ES_JVM_OPTS:-"-Xms2g -Xmx2g -XX:+UseG1GC"}

# the sink scenarios start their own brokers (and redis-server): they run apart from the per-broker loop
SINK_SCENARIOS=""
BROKER_SCENARIOS=""
for sc in $SCENARIOS; do
  case $sc in
    sink-*) SINK_SCENARIOS="$SINK_SCENARIOS $sc" ;;
    *) BROKER_SCENARIOS="$BROKER_SCENARIOS $sc" ;;
  esac
done
if [ -n "$BROKER_SCENARIOS" ] && [[ " $BROKERS " == *" mosquitto "* ]]; then
  command -v mosquitto >/dev/null || { echo "mosquitto not found (apt-get install mosquitto)" >&2; exit 1; }
fi
if [[ " $SINK_SCENARIOS " == *" sink-redis "* ]]; then
  command -v redis-server >/dev/null || { echo "redis-server not found (apt-get install redis-server)" >&2; exit 1; }
fi
command -v python3 >/dev/null || { echo "python3 is needed for the table" >&2; exit 1; }
TLS_DIR=""
if [[ " $SCENARIOS " == *" tls-"* ]]; then
  command -v openssl >/dev/null || { echo "openssl is needed for the tls-* scenarios" >&2; exit 1; }
fi

if [ "${SKIP_BUILD:-0}" != 1 ]; then
  echo "== building benchmarks (mvn -Pbench -pl benchmarks -am package)"
  (cd "$root" && { mvn -B -q -o -Pbench -pl benchmarks -am package -DskipTests \
                   || mvn -B -q -Pbench -pl benchmarks -am package -DskipTests; })
fi
CP="${CP_PREFIX:+$CP_PREFIX:}$here/target/classes:$(cat "$here/target/classpath.txt")"
mkdir -p "$OUT"
RESULTS="$OUT/results.txt"
: > "$RESULTS"

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

BROKER_PID=""
stop_broker() {
  if [ -n "$BROKER_PID" ] && kill -0 "$BROKER_PID" 2>/dev/null; then
    kill "$BROKER_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$BROKER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$BROKER_PID" 2>/dev/null || true
  fi
  BROKER_PID=""
}
REDIS_PID=""
stop_redis() {
  if [ -n "$REDIS_PID" ] && kill -0 "$REDIS_PID" 2>/dev/null; then
    kill "$REDIS_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$REDIS_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$REDIS_PID" 2>/dev/null || true
  fi
  REDIS_PID=""
}
ES_PID=""
stop_es() {
  if [ -n "$ES_PID" ] && kill -0 "$ES_PID" 2>/dev/null; then
    kill -9 "$ES_PID" 2>/dev/null || true
    wait "$ES_PID" 2>/dev/null || true
  fi
  ES_PID=""
}
trap 'stop_broker; stop_redis; stop_es; [ -z "$TLS_DIR" ] || rm -rf "$TLS_DIR"' EXIT INT TERM

# the tls-* scenarios: a CA and a server certificate for 127.0.0.1 and localhost signed by it (RSA 2048 or ECDSA
# P-256, PKCS#8 key), the same files for both brokers; the load tool trusts the CA
make_certs() {
  TLS_DIR=$(mktemp -d)
  local alg=(-algorithm RSA -pkeyopt rsa_keygen_bits:2048)
  [ "$TLS_KEY" = ec ] && alg=(-algorithm EC -pkeyopt ec_paramgen_curve:P-256)
  openssl genpkey "${alg[@]}" -out "$TLS_DIR/ca.key" 2>/dev/null
  openssl req -x509 -new -key "$TLS_DIR/ca.key" -out "$TLS_DIR/ca.pem" -days 2 -subj "/CN=Brokkr bench CA"
  openssl genpkey "${alg[@]}" -out "$TLS_DIR/server.key" 2>/dev/null
  openssl req -new -key "$TLS_DIR/server.key" -out "$TLS_DIR/server.csr" -subj "/CN=localhost"
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' \
    > "$TLS_DIR/ext.cnf"
  openssl x509 -req -in "$TLS_DIR/server.csr" -CA "$TLS_DIR/ca.pem" -CAkey "$TLS_DIR/ca.key" -CAcreateserial \
    -out "$TLS_DIR/server.pem" -days 2 -extfile "$TLS_DIR/ext.cnf" 2>/dev/null
  chmod 644 "$TLS_DIR"/*
}
TLS_PORT=""

start_broker() { # $1 = brokkr|mosquitto, $2 = port, $3 = log; with $TLS_PORT also a TLS listener there
  local name=$1 port=$2 log=$3 tls=()
  case $name in
    brokkr|brokkr-openssl)
      if [ -n "$TLS_PORT" ]; then
        tls=(--tls-port "$TLS_PORT" --tls-option "cert.file=$TLS_DIR/server.pem"
             --tls-option "key.file=$TLS_DIR/server.key")
        [ "$name" = brokkr-openssl ] && tls+=(--tls-option "tls.provider=openssl")
        for kv in $BROKKR_TLS_OPTS; do tls+=(--tls-option "$kv"); done
      fi
      # shellcheck disable=SC2086
      java $BROKKR_JVM_OPTS -cp "$CP" io.brokkr.bench.BrokerMain --host 127.0.0.1 --port "$port" "${tls[@]}" \
        $BROKKR_CFG >"$log" 2>&1 &
      BROKER_PID=$!
      for _ in $(seq 1 100); do grep -q "BROKKR READY" "$log" 2>/dev/null && return 0; sleep 0.1; done
      echo "Brokkr did not start, see $log" >&2; cat "$log" >&2; return 1 ;;
    mosquitto)
      local conf="$OUT/mosquitto.conf"
      {
        echo "listener $port 127.0.0.1"
        echo "allow_anonymous true"
        echo "persistence false"
        echo "max_queued_messages $MAX_QUEUED"
        echo "max_inflight_messages $WINDOW"
        echo "set_tcp_nodelay true"
        echo "log_dest stderr"
        echo "log_type error"
        echo "log_type warning"
        [ "$(id -u)" = 0 ] && echo "user root"
        if [ -n "$TLS_PORT" ]; then
          echo "listener $TLS_PORT 127.0.0.1"
          echo "certfile $TLS_DIR/server.pem"
          echo "keyfile $TLS_DIR/server.key"
        fi
      } > "$conf"
      mosquitto -c "$conf" >"$log" 2>&1 &
      BROKER_PID=$!
      for _ in $(seq 1 100); do
        python3 -c "import socket,sys; s=socket.socket(); sys.exit(s.connect_ex(('127.0.0.1', $port)))" && return 0
        sleep 0.1
      done
      echo "Mosquitto did not start, see $log" >&2; cat "$log" >&2; return 1 ;;
  esac
}

run_scenario() { # $1 broker $2 port $3 scenario $4 mqtt version [$5 TLS version, for tls-*]
  local broker=$1 port=$2 sc=$3 mqtt=$4 args tlsargs=()
  local name=${sc%-paced}
  name=${name%-base}
  if [[ $sc == tls-* ]]; then
    name=${name#tls-}
    port=$TLS_PORT
    tlsargs=(--tls --ca "$TLS_DIR/ca.pem" --tls-version "$5")
  fi
  args=("${tlsargs[@]}" --host 127.0.0.1 --port "$port" --scenario "$name" --duration "$DURATION" --warmup "$WARMUP"
        --payload "$PAYLOAD" --window "$WINDOW" --threads "$LOAD_THREADS" --label "$broker" --mqtt "$mqtt"
        --drain "$DRAIN")
  if [ "$MESSAGES" -gt 0 ] && [ "$sc" != idle ] && [ "$name" != connect ]; then args+=(--messages "$MESSAGES"); fi
  case $sc in
    fanout) args+=(--clients "$FANOUT_SUBS") ;;
    fanin-paced) args+=(--clients "$PUBLISHERS" --rate "$FANIN_RATE") ;;
    fanout-paced) args+=(--clients "$FANOUT_SUBS" --rate "$FANOUT_RATE") ;;
    idle) args+=(--clients "$IDLE_CONNS" --pid "$BROKER_PID"); [ "$broker" != mosquitto ] && args+=(--jvm) ;;
    connect|tls-connect) args+=(--parallel "$PARALLEL" --pid "$BROKER_PID") ;;
    tls-fanin) args+=(--clients "$PUBLISHERS" --pid "$BROKER_PID") ;;
    neighbour) args+=(--clients "$PUBLISHERS" --slow-subs "$SLOW_SUBS" --slow-rate "$SLOW_RATE" --pid "$BROKER_PID") ;;
    neighbour-base) args+=(--clients "$PUBLISHERS" --slow-subs 0 --pid "$BROKER_PID") ;;
    neighbour-paced) args+=(--clients "$PUBLISHERS" --slow-subs "$SLOW_SUBS" --slow-rate "$SLOW_RATE" --pid "$BROKER_PID"
                            --rate "$NEIGHBOUR_RATE") ;;
    neighbour-base-paced) args+=(--clients "$PUBLISHERS" --slow-subs 0 --pid "$BROKER_PID" --rate "$NEIGHBOUR_RATE") ;;
    qos1-persistent) args+=(--clients "$PUBLISHERS" --subscribers "$PERSISTENT_SUBS" --reconnect-every "$RECONNECT_EVERY"
                            --offline-ms "$OFFLINE_MS" --session-expiry "$SESSION_EXPIRY") ;;
    *) args+=(--clients "$PUBLISHERS") ;;
  esac
  local load line
  load=$(cut -d' ' -f1 /proc/loadavg)
  # shellcheck disable=SC2086
  line=$(java $LOAD_JVM_OPTS -cp "$CP" io.brokkr.bench.LoadTool "${args[@]}" 2>>"$OUT/load-tool.err" | grep '^RESULT' || true)
  [ -n "$line" ] || line="RESULT scenario=$sc broker=$broker mqtt=$mqtt error=no_result"
  echo "$line rep=$rep load1=$load" | tee -a "$RESULTS"
}

# the sink scenarios, one repetition: SinkBench against Brokkr without a sink (sink-none) and with each sink asked
# for (sink-redis: the Redis connector, sink-elasticsearch: the Elasticsearch connector, sink-null: a sink that stores
# nothing), in alternating order; a fresh redis-server (no persistence) or Elasticsearch node (a new data directory)
# and journal directory each time
run_sink_set() { # $1 mqtt version
  local mqtt=$1 mode port rport log load line order="none" sc
  for sc in $SINK_SCENARIOS; do order="$order ${sc#sink-}"; done
  [ $((rep % 2)) = 0 ] && order=$(echo "$order" | tr ' ' '\n' | tac | tr '\n' ' ')
  for mode in $order; do
    port=$(free_port)
    log="$OUT/brokkr-sink-$mode-$rep.log"
    local extra=() bench=()
    rm -rf "$OUT/journal" "$OUT/redis" "$OUT/es"
    if [ "$mode" = elasticsearch ]; then
      local esport estport
      esport=$(free_port)
      estport=$(free_port)
      mkdir -p "$OUT/es"
      # shellcheck disable=SC2086
      java $ES_JVM_OPTS -cp "$(cat "$here/target/es-node.classpath")" \
        'io.brokkr.connector.elasticsearch.EsNodeProcess$Main' "$OUT/es" "$esport" "$estport" \
        >"$OUT/es-$rep.log" 2>&1 &
      ES_PID=$!
      for _ in $(seq 1 1800); do
        grep -q '^ES-NODE-READY' "$OUT/es-$rep.log" 2>/dev/null && break
        kill -0 "$ES_PID" 2>/dev/null || break
        sleep 0.1
      done
      grep -q '^ES-NODE-READY' "$OUT/es-$rep.log" || { echo "the Elasticsearch node did not start, see $OUT/es-$rep.log" >&2; }
      # shellcheck disable=SC2206
      extra=(--sink-elasticsearch "http://127.0.0.1:$esport" $SINK_PROPS)
      bench=(--es "http://127.0.0.1:$esport" --es-warmup-docs "$ES_WARMUP_DOCS")
    elif [ "$mode" = redis ]; then
      rport=$(free_port)
      mkdir -p "$OUT/redis"
      redis-server --port "$rport" --bind 127.0.0.1 --dir "$OUT/redis" --save '' --appendonly no \
        >"$OUT/redis-$rep.log" 2>&1 &
      REDIS_PID=$!
      for _ in $(seq 1 100); do redis-cli -p "$rport" ping >/dev/null 2>&1 && break; sleep 0.1; done
      # shellcheck disable=SC2206
      extra=(--sink-redis "127.0.0.1:$rport" $SINK_PROPS)
      bench=(--redis "127.0.0.1:$rport")
    elif [ "$mode" = null ]; then
      # shellcheck disable=SC2206
      extra=(--sink-null $SINK_PROPS)
      bench=(--scenario sink-null)
    fi
    echo "== rep $rep/$REPS: brokkr, sink $mode, on port $port (load $(cut -d' ' -f1-3 /proc/loadavg))"
    # shellcheck disable=SC2086
    java $BROKKR_JVM_OPTS -cp "$CP" io.brokkr.bench.BrokerMain --host 127.0.0.1 --port "$port" \
      --stats-file "$OUT/stats.txt" "${extra[@]}" journal.dir="$OUT/journal" $BROKKR_CFG >"$log" 2>&1 &
    BROKER_PID=$!
    for _ in $(seq 1 100); do grep -q "BROKKR READY" "$log" 2>/dev/null && break; sleep 0.1; done
    [ "$SINK_SUBSCRIBER" = 1 ] && bench+=(--subscriber)
    load=$(cut -d' ' -f1 /proc/loadavg)
    # shellcheck disable=SC2086
    line=$(java $LOAD_JVM_OPTS -cp "$CP" io.brokkr.bench.SinkBench --host 127.0.0.1 --port "$port" \
      --stats-file "$OUT/stats.txt" --clients "$PUBLISHERS" --window "$WINDOW" --payload "$PAYLOAD" \
      --warmup "$WARMUP" --duration "$DURATION" --drain "$DRAIN" --probe-rate "$PROBE_RATE" --rate "$SINK_RATE" \
      --mqtt "$mqtt" \
      "${bench[@]}" 2>>"$OUT/load-tool.err" | grep '^RESULT' || true)
    [ -n "$line" ] || line="RESULT scenario=sink-$mode broker=brokkr mqtt=$mqtt error=no_result"
    echo "$line rep=$rep load1=$load" | tee -a "$RESULTS"
    stop_broker
    stop_redis
    stop_es
    rm -rf "$OUT/journal" "$OUT/redis" "$OUT/es"
    sleep 2
  done
}

if [[ " $SCENARIOS " == *" tls-"* ]]; then make_certs; fi
{
  echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(free -g | awk '/Mem:/{print $2}') GiB"
  echo "== $(java -version 2>&1 | head -1); $(mosquitto -h 2>&1 | head -1); $(redis-server --version 2>/dev/null | cut -d" " -f1-3); kernel $(uname -r)"
  [ -z "$TLS_DIR" ] || echo "== tls: server certificate $TLS_KEY ($(openssl x509 -in "$TLS_DIR/server.pem" -noout -text | grep -m1 'Public Key Algorithm' | sed 's/.*: //'), versions \"$TLS_VERSIONS\", $(openssl version); parallel=$PARALLEL brokkr_tls_opts=\"$BROKKR_TLS_OPTS\""
  echo "== reps=$REPS duration=${DURATION}s warmup=${WARMUP}s messages=$MESSAGES payload=${PAYLOAD}B publishers=$PUBLISHERS fanout_subs=$FANOUT_SUBS idle_conns=$IDLE_CONNS window=$WINDOW max_queued=$MAX_QUEUED mqtt=\"$MQTT\""
} | tee "$OUT/machine.txt"

for rep in $(seq 1 "$REPS"); do
  if [ -n "$SINK_SCENARIOS" ]; then
    for mqtt in $MQTT; do run_sink_set "$mqtt"; done
  fi
  [ -n "$BROKER_SCENARIOS" ] || continue
  order=$BROKERS
  # alternate the order so that background load does not always hit the same broker
  if [ $((rep % 2)) = 0 ]; then order=$(echo "$BROKERS" | tr ' ' '\n' | tac | tr '\n' ' '); fi
  for broker in $order; do
    port=$(free_port)
    [ -z "$TLS_DIR" ] || TLS_PORT=$(free_port)
    echo "== rep $rep/$REPS: $broker on port $port${TLS_PORT:+, TLS on $TLS_PORT} (load $(cut -d' ' -f1-3 /proc/loadavg))"
    start_broker "$broker" "$port" "$OUT/$broker-$rep.log"
    for mqtt in $MQTT; do
      for sc in $BROKER_SCENARIOS; do
        if [[ $sc == tls-* ]]; then
          for v in $TLS_VERSIONS; do
            run_scenario "$broker" "$port" "$sc" "$mqtt" "$v"
            sleep 1
          done
        else
          run_scenario "$broker" "$port" "$sc" "$mqtt"
          sleep 1
        fi
      done
    done
    stop_broker
    sleep 2
  done
done

python3 "$here/table.py" "$RESULTS" | tee "$OUT/table.md"
echo "results: $OUT"
exit 0
}
