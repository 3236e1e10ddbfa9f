#!/usr/bin/env bash
# Builds Brokkr and starts it: a custom Apache Karaf distribution (karaf-assembly/target/assembly) that boots the
# broker with the defaults of etc/ (MQTT on 0.0.0.0:1883). The Karaf console runs in the foreground; type
# mqtt:<TAB> for the broker commands, and "shutdown -f" (or Ctrl-D) to stop.
#
#   ./run.sh                  build (mvn -B -DskipTests install) and start
#   ./run.sh --no-build       start the distribution built last time (same as BROKKR_SKIP_BUILD=1 ./run.sh)
#   ./run.sh [--no-build] -- <args>   pass <args> to bin/karaf (e.g. "-- clean" to wipe data/ first)
#
# Environment: BROKKR_SKIP_BUILD=1 skips the build; MVN_ARGS adds Maven arguments (e.g. MVN_ARGS=-o for offline);
# On Debian, installs Maven and OpenJDK 17 when missing and uses Java 17 (/usr/lib/jvm/java-17-openjdk-*); elsewhere
# JAVA_HOME (or java on the PATH) must be Java 17 or 21 (Karaf 4.4 does not start on Java 25).
set -euo pipefail
cd "$(dirname "$0")"

skip_build="${BROKKR_SKIP_BUILD:-0}"
karaf_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --no-build|--skip-build) skip_build=1 ;;
    --) shift; karaf_args=("$@"); break ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown argument '$1' (see ./run.sh --help)" >&2; exit 2 ;;
  esac
  shift
done

. scripts/debian.sh
if [ "$skip_build" != "1" ]; then
  need_packages mvn=maven
fi
use_java17
if [ -z "${JAVA_HOME:-}" ] && command -v java >/dev/null; then
  # the JDK of the java on the PATH, for bin/karaf (which otherwise warns "JAVA_HOME not set")
  JAVA_HOME="$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")"
  export JAVA_HOME
fi
java_cmd="${JAVA_HOME:+$JAVA_HOME/bin/}java"
java_major="$("$java_cmd" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')"
case "$java_major" in
  17|21) ;;
  *) echo "run.sh: warning: $java_cmd is Java '${java_major:-?}'; Brokkr's Karaf 4.4 needs Java 17 or 21" >&2 ;;
esac

if [ "$skip_build" != "1" ]; then
  # shellcheck disable=SC2086
  mvn -B -DskipTests ${MVN_ARGS:-} install
fi

karaf=karaf-assembly/target/assembly/bin/karaf
if [ ! -x "$karaf" ]; then
  echo "run.sh: $karaf not found: build first (./run.sh without --no-build)" >&2
  exit 1
fi
exec "$karaf" ${karaf_args[@]+"${karaf_args[@]}"}
