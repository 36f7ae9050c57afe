#include "kernels/cpu/x86/avx512/kernels_avx512.h"

namespace limarp::kernels {

const WeightKernel* avx512_kernels(size_t* count) {
  static const WeightKernel kTable[] = {avx512::kQ4_0,  avx512::kQ4_0R16, avx512::kQ8_0, avx512::kQ8_0R16,
                                        avx512::kQ4_K,  avx512::kQ4_KR16, avx512::kQ6_K, avx512::kQ6_KR16, avx512::kF32,
                                        avx512::kF16,   avx512::kBF16,    avx512::kNF4};
  *count = sizeof(kTable) / sizeof(kTable[0]);
  return kTable;
}

}  // namespace limarp::kernels
