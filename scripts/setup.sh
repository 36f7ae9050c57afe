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
  # an optimized BLAS behind Debian's torch and numpy (they call libblas.so.3, which then points
  # here instead of the reference BLAS): the fair anchor of bench/train_vs_torch.py
  libopenblas0-pthread
  # the web page's browser test: headless Chromium (driven by playwright-core, below)
  chromium
  # deployment: the load balancer of deploy/haproxy.cfg (its end-to-end test runs it on
  # loopback) and the Prometheus parser the metrics test reads /metrics with
  haproxy python3-prometheus-client
  # the AArch64 cross build and its tests under emulation (scripts/test.sh, preset aarch64):
  # fmt, nlohmann-json and GoogleTest come from the packages above as headers and sources
  g++-aarch64-linux-gnu qemu-user
  # the Vulkan backend (src/backend/vulkan): headers and loader, the shader compiler, and Mesa's
  # lavapipe, a Vulkan device on the CPU that the tests run the shaders on
  libvulkan-dev glslc mesa-vulkan-drivers
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

# npm packages for two tests, each pinned by its folder's package-lock.json and installed into
# that folder: playwright-core (tests/browser; no browser download: the test drives Debian's
# /usr/bin/chromium) and @huggingface/hub (tests/hub_js: the Hub's own client shares limarp's
# cache in tests/e2e/test_hub_js_cache.py).
root="$(cd "$(dirname "$0")/.." && pwd)"
npm_pinned() {  # FOLDER PACKAGE
  local dir="$root/$1" package="$2" want have="" installed
  [ -f "$dir/package-lock.json" ] || return 0
  want=$(sed -n "s/.*\"${package//\//\\/}\": \"\(.*\)\".*/\1/p" "$dir/package.json" | head -1)
  installed="$dir/node_modules/$package/package.json"
  [ -f "$installed" ] && have=$(sed -n 's/.*"version": "\(.*\)".*/\1/p' "$installed" | head -1)
  if [ "$want" != "$have" ]; then
    echo "setup: installing $package $want into $1"
    (cd "$dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
  else
    echo "setup: $package $have present"
  fi
}
npm_pinned tests/browser playwright-core
npm_pinned tests/hub_js @huggingface/hub
