#include "tensor/nf4_double_quant.h"

#include <algorithm>
#include <cmath>

namespace limarp {

float nf4_double_quantize(BlockNF4* blocks, int64_t n_blocks) {
  if (n_blocks <= 0) return 0;
  double sum = 0;
  for (int64_t i = 0; i < n_blocks; ++i) sum += blocks[i].absmax;
  const auto offset = static_cast<float>(sum / static_cast<double>(n_blocks));
  for (int64_t g = 0; g < n_blocks; g += kNF4ScaleGroup) {
    const int64_t end = std::min(n_blocks, g + kNF4ScaleGroup);
    float amax = 0;
    for (int64_t i = g; i < end; ++i) amax = std::max(amax, std::fabs(blocks[i].absmax - offset));
    const float step = amax / 127.0f;  // the group's 8-bit scale
    for (int64_t i = g; i < end; ++i) {
      const float q = step > 0 ? std::nearbyint((blocks[i].absmax - offset) / step) : 0.0f;
      // A scale must stay >= 0: a block whose absmax rounds below zero would flip its signs.
      blocks[i].absmax = std::max(0.0f, q * step + offset);
    }
  }
  return offset;
}

uint64_t nf4_storage_bytes(int64_t n, bool double_quant) {
  const auto blocks = static_cast<uint64_t>((n + kNF4Block - 1) / kNF4Block);
  const uint64_t codes = blocks * (kNF4Block / 2);
  if (!double_quant) return codes + blocks * 4;
  const uint64_t groups = (blocks + kNF4ScaleGroup - 1) / kNF4ScaleGroup;
  return codes + blocks + groups * 4 + 4;
}

}  // namespace limarp
