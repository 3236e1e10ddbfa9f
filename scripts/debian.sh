# Sourced by run.sh and test.sh: installs missing Debian packages and selects Java 17.

# need_packages <command>=<package>...: apt-get installs the packages whose command is missing (sudo when not root)
need_packages() {
  local missing=() pair
  for pair in "$@"; do
    command -v "${pair%%=*}" >/dev/null 2>&1 || [ -x "/usr/sbin/${pair%%=*}" ] || missing+=("${pair#*=}")
  done
  [ -d /usr/lib/jvm/java-17-openjdk-amd64 ] || [ -d /usr/lib/jvm/java-17-openjdk-arm64 ] \
    || missing+=(openjdk-17-jdk-headless)
  [ ${#missing[@]} -gt 0 ] || return 0
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "Installing Debian packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
}

# use_java17: Karaf 4.4 needs Java 17; never build or run with another JDK that happens to be the default
use_java17() {
  local jdk
  for jdk in /usr/lib/jvm/java-17-openjdk-amd64 /usr/lib/jvm/java-17-openjdk-arm64; do
    if [ -x "$jdk/bin/java" ]; then
      export JAVA_HOME="$jdk" PATH="$jdk/bin:$PATH"
      return 0
    fi
  done
}
