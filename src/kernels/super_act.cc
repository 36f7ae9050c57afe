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
    int16_t sums16[16], sums32[8];  // at most 16 x 127 and 32 x 127 in magnitude
    for (int j = 0; j < 16; ++j) {
      int sum = 0;
      for (int l = 0; l < 16; ++l) sum += q[16 * j + l];
      sums16[j] = static_cast<int16_t>(sum);
    }
    for (int j = 0; j < 8; ++j) sums32[j] = static_cast<int16_t>(sums16[2 * j] + sums16[2 * j + 1]);
    std::memcpy(o + kSuperActSums16, sums16, sizeof sums16);
    std::memcpy(o + kSuperActSums32, sums32, sizeof sums32);
  }
}

}  // namespace limarp::kernels
