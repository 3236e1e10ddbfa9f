#!/usr/bin/env bash
# Installs what the tests need on a Debian machine and runs every test of the project:
# unit tests, protocol tests over real sockets, the interoperability tests with Mosquitto's clients and with Eclipse
# Paho for Python (Debian's python3-paho-mqtt, run with /usr/bin/python3), with MQTT.js under node (npm) over
# WebSocket and through HAProxy (PROXY protocol), and the Pax Exam tests in a real Karaf.
# Usage: ./test.sh [extra maven arguments]
set -euo pipefail
cd "$(dirname "$0")"

. scripts/debian.sh
need_packages mvn=maven mosquitto_sub=mosquitto-clients mosquitto=mosquitto redis-server=redis-server \
  pg_ctlcluster=postgresql haproxy=haproxy node=nodejs npm=npm openssl=openssl
need_python_modules paho.mqtt.client=python3-paho-mqtt
use_java17
# MQTT.js, the outside WebSocket client of WebSocketListenerTest, at the versions of its package-lock.json
npm ci --prefix bundles/broker/src/test/node --no-audit --no-fund

# install, so that a later ./run.sh --no-build or a single-module build finds this build's artifacts
exec mvn -B install "$@"
