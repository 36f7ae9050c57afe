#!/usr/bin/env bash
# Builds limarp and runs its main job on the bundled default model.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake --preset release -DLIMARP_BUILD_TESTS=OFF -DLIMARP_BUILD_BENCH=OFF >/dev/null
cmake --build --preset release -j "$(nproc)" --target limarp
bin=build/release/bin/limarp
model=build/demo/random-tiny.gguf
mkdir -p build/demo
[ -f "$model" ] || "$bin" init --shape tiny --seed 1 "$model"
"$bin" generate -m "$model" -p "Once upon a time" -n 48 --seed 1
