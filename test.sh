#!/usr/bin/env bash
# Installs what the tests need on a Debian machine and runs every test of the project:
# unit tests, protocol tests over real sockets, the interoperability tests with Mosquitto's clients and with Eclipse
# Paho for Python (Debian's python3-paho-mqtt, run with /usr/bin/python3) and the Pax Exam tests in a real Karaf.
# Usage: ./test.sh [extra maven arguments]
set -euo pipefail
cd "$(dirname "$0")"

. scripts/debian.sh
need_packages mvn=maven mosquitto_sub=mosquitto-clients mosquitto=mosquitto redis-server=redis-server \
  pg_ctlcluster=postgresql
need_python_modules paho.mqtt.client=python3-paho-mqtt
use_java17

# install, so that a later ./run.sh --no-build or a single-module build finds this build's artifacts
exec mvn -B install "$@"
