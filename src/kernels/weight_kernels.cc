#include "kernels/weight_kernels.h"

namespace limarp::kernels {

const WeightKernel* find_kernel(DType type, Isa isa) {
  size_t count = 0;
  const WeightKernel* table = nullptr;
  switch (isa) {
    case Isa::kScalar: table = scalar_kernels(&count); break;
    case Isa::kAvx2: table = avx2_kernels(&count); break;
    case Isa::kAvx512: table = avx512_kernels(&count); break;
  }
  for (size_t i = 0; i < count; ++i)
    if (table[i].type == type) return &table[i];
  return nullptr;
}

const WeightKernel* find_twin(const WeightKernel& k) {
  size_t count = 0;
  const WeightKernel* table = scalar_kernels(&count);
  for (size_t i = 0; i < count; ++i)
    if (table[i].type == k.type && table[i].act_block == k.act_block) return &table[i];
  return nullptr;
}

const WeightKernel* select_kernel(DType type, int64_t n, Isa isa) {
  for (int level = static_cast<int>(isa); level >= 0; --level) {
    const WeightKernel* k = find_kernel(type, static_cast<Isa>(level));
    if (k && n % k->n_multiple == 0) return k;
  }
  return nullptr;
}

}  // namespace limarp::kernels
