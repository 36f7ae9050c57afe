#!/usr/bin/env bash
# Builds limarp and runs its main job on the bundled demo model (models/limarp-demo/): a
# LimaRP-format roleplay chat. In a terminal the chat is yours (type /help); otherwise a
# scripted exchange, then one reply at tiny, medium and huge to the same user line, each with
# its word count, shows the length control.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake --preset release -DLIMARP_BUILD_TESTS=OFF -DLIMARP_BUILD_BENCH=OFF >/dev/null
cmake --build --preset release -j "$(nproc)" --target limarp
bin=build/release/bin/limarp
chat=models/limarp-demo/demo-chat.json
if [ -t 0 ]; then
  exec "$bin" chat --load "$chat"
fi
# The scripted exchange (also the card's sample, scripts/build_demo_model.sh): the same line at
# three levels, /undo taking each exchange back before the next.
"$bin" chat --load "$chat" --seed 1 -n 400 --show-words <models/limarp-demo/demo-script.txt
