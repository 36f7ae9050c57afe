#!/usr/bin/env bash
# Installs everything limarp needs on Debian 12, from Debian packages (and, for the browser
# test, the npm registry). Idempotent: safe to run again; it only adds what is missing.
set -euo pipefail

packages=(
  # toolchain
  build-essential g++ cmake ninja-build pkg-config git ca-certificates
  # libraries we build on (not our core)
  nlohmann-json3-dev libcli11-dev libfmt-dev libyaml-cpp-dev libcpp-httplib-dev
  # Hugging Face Hub downloads (src/hub): HTTP(S) client, sha256 of LFS files
  libcurl4-openssl-dev libssl-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  # tokenizer oracle and trainer
  libsentencepiece-dev sentencepiece
  # numerical oracle for tests (run with /usr/bin/python3)
  python3 python3-torch python3-numpy python3-yaml python3-sentencepiece
  # the web page's browser test: headless Chromium (driven by playwright-core, below)
  chromium
)
# Node.js runs the browser test. Machines may carry another distribution's node (NodeSource
# bundles npm in its nodejs), so the commands are checked, not the Debian package names.
command -v node >/dev/null 2>&1 || packages+=(nodejs)
command -v npm >/dev/null 2>&1 || packages+=(npm)

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

# playwright-core for the browser test, pinned by tests/browser/package-lock.json, into that
# folder (no browser download: the test drives Debian's /usr/bin/chromium).
browser_dir="$(cd "$(dirname "$0")/.." && pwd)/tests/browser"
if [ -f "$browser_dir/package-lock.json" ]; then
  want=$(sed -n 's/.*"playwright-core": "\(.*\)".*/\1/p' "$browser_dir/package.json" | head -1)
  have=""
  installed="$browser_dir/node_modules/playwright-core/package.json"
  [ -f "$installed" ] && have=$(sed -n 's/.*"version": "\(.*\)".*/\1/p' "$installed" | head -1)
  if [ "$want" != "$have" ]; then
    echo "setup: installing playwright-core $want into tests/browser"
    (cd "$browser_dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
  else
    echo "setup: playwright-core $have present"
  fi
fi
