#include "kernels/super_act.h"

#include <cstring>

#include "kernels/activation_quant.h"

namespace limarp::kernels {

size_t super_act_bytes(int64_t n) { return static_cast<size_t>(n / 256) * kSuperActBytes; }

void prepare_super_act(const float* x, int64_t n, uint8_t* out) {
  for (int64_t i = 0; i < n / 256; ++i) {
    uint8_t* o = out + i * kSuperActBytes;
    std::memset(o, 0, kSuperActBytes);
    auto* q = reinterpret_cast<int8_t*>(o);
    const ActBlock a = quantize_act<256>(x + i * 256, q);
    std::memcpy(o + kSuperActScale, &a.d, 4);
    for (int j = 0; j < 16; ++j) {
      int16_t sum = 0;  // at most 16 x 127 in magnitude, and a block of 32 twice that
      for (int l = 0; l < 16; ++l) sum = static_cast<int16_t>(sum + q[16 * j + l]);
      int16_t sum32;
      std::memcpy(&sum32, o + kSuperActSums32 + 2 * (j / 2), 2);
      sum32 = static_cast<int16_t>(sum32 + sum);
      std::memcpy(o + kSuperActSums32 + 2 * (j / 2), &sum32, 2);
      std::memcpy(o + kSuperActSums16 + 2 * j, &sum, 2);
    }
  }
}

}  // namespace limarp::kernels
