#!/usr/bin/env bash
# Installs what the tests need on a Debian machine and runs every test of the project:
# unit tests, protocol tests over real sockets, the Mosquitto-client interoperability test and the Pax Exam tests
# in a real Karaf. Usage: ./test.sh [extra maven arguments]
set -euo pipefail
cd "$(dirname "$0")"

packages=()
command -v mvn >/dev/null 2>&1 || packages+=(maven)
[ -d /usr/lib/jvm/java-17-openjdk-amd64 ] || [ -d /usr/lib/jvm/java-17-openjdk-arm64 ] || packages+=(openjdk-17-jdk-headless)
command -v mosquitto_sub >/dev/null 2>&1 || packages+=(mosquitto-clients)
command -v mosquitto >/dev/null 2>&1 || packages+=(mosquitto)
if [ ${#packages[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "Installing Debian packages: ${packages[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${packages[@]}"
fi

# Karaf 4.4 needs Java 17: never build with another JDK that happens to be the default
for jdk in /usr/lib/jvm/java-17-openjdk-amd64 /usr/lib/jvm/java-17-openjdk-arm64; do
  if [ -x "$jdk/bin/java" ]; then export JAVA_HOME="$jdk"; export PATH="$jdk/bin:$PATH"; break; fi
done

# install, so that a later ./run.sh --no-build or a single-module build finds this build's artifacts
exec mvn -B install "$@"
