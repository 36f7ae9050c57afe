#include "kernels/interleaved_act.h"

#include <cstring>

#include "kernels/activation_quant.h"

namespace limarp::kernels {
namespace {

void prepare(const float* x, int64_t n, uint8_t* out, int32_t offset) {
  for (int64_t b = 0; b < n / kActBlock; ++b) {
    uint8_t* o = out + b * kInterleavedActBytes;
    const ActBlock a = quantize_act_block(x + b * kActBlock, reinterpret_cast<int8_t*>(o));
    const int32_t correction = -offset * a.sum;
    std::memcpy(o + 32, &a.d, 4);
    std::memcpy(o + 36, &correction, 4);
    std::memset(o + 40, 0, kInterleavedActBytes - 40);
  }
}

}  // namespace

size_t interleaved_act_bytes(int64_t n) { return static_cast<size_t>(n / kActBlock) * kInterleavedActBytes; }
void prepare_interleaved_q4_0(const float* x, int64_t n, uint8_t* out) { prepare(x, n, out, 8); }
void prepare_interleaved_q8_0(const float* x, int64_t n, uint8_t* out) { prepare(x, n, out, 128); }

}  // namespace limarp::kernels
