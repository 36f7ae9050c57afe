#!/usr/bin/env bash
# Installs everything limarp needs on Debian 12, from Debian packages (and, for the browser
# test, the npm registry). Idempotent: safe to run again; it only adds what is missing.
set -euo pipefail

packages=(
  # toolchain
  build-essential g++ cmake ninja-build pkg-config git ca-certificates
  # libraries we build on (not our core)
  nlohmann-json3-dev libcli11-dev libfmt-dev libyaml-cpp-dev libcpp-httplib-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  # tokenizer oracle and trainer
  libsentencepiece-dev sentencepiece
  # numerical oracle for tests (run with /usr/bin/python3)
  python3 python3-torch python3-numpy python3-yaml python3-sentencepiece
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "setup: all Debian packages present"
fi
