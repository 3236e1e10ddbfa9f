# Sourced by run.sh and test.sh: installs missing Debian packages and selects Java 17.

# need_packages <command>=<package>...: apt-get installs the packages whose command is missing (sudo when not root)
need_packages() {
  local missing=() pair
  for pair in "$@"; do
    command -v "${pair%%=*}" >/dev/null 2>&1 || [ -x "/usr/sbin/${pair%%=*}" ] || missing+=("${pair#*=}")
  done
  [ -d /usr/lib/jvm/java-17-openjdk-amd64 ] || [ -d /usr/lib/jvm/java-17-openjdk-arm64 ] \
    || missing+=(openjdk-17-jdk-headless)
  apt_install ${missing[@]+"${missing[@]}"}
}

# need_python_modules <module>=<package>...: apt-get installs the packages whose module Debian's own Python
# (/usr/bin/python3, not a python3 that happens to be first on the PATH) cannot import
need_python_modules() {
  local missing=() pair
  for pair in "$@"; do
    [ -x /usr/bin/python3 ] && /usr/bin/python3 -c "import ${pair%%=*}" >/dev/null 2>&1 || missing+=("${pair#*=}")
  done
  apt_install ${missing[@]+"${missing[@]}"}
}

# apt_install <package>...: apt-get install (sudo when not root); nothing to do without arguments
apt_install() {
  [ $# -gt 0 ] || return 0
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "Installing Debian packages: $*"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@"
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
