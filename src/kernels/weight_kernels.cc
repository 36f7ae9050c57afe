#include "kernels/weight_kernels.h"

#include "base/status.h"
#include "kernels/cpu/registry.h"

namespace limarp::kernels {
namespace {

const WeightKernel* in_level(const KernelLevel& level, DType type, RowLayout layout) {
  for (const WeightKernel& k : level.weight_kernels)
    if (k.type == type && k.layout == layout) return &k;
  return nullptr;
}

}  // namespace

const WeightKernel* find_kernel(DType type, Isa isa, RowLayout layout) {
  const KernelLevel* level = find_level(isa);
  return level ? in_level(*level, type, layout) : nullptr;
}

const WeightKernel* find_twin(const WeightKernel& k) {
  size_t count = 0;
  const WeightKernel* table = scalar_kernels(&count);
  for (size_t i = 0; i < count; ++i)
    if (table[i].type == k.type && table[i].layout == k.layout && table[i].act_block == k.act_block) return &table[i];
  return nullptr;
}

const WeightKernel* select_kernel(DType type, int64_t n, Isa isa, RowLayout layout) {
  const std::span<const KernelLevel> levels = runnable_levels();
  const KernelLevel* top = find_level(isa);
  LIMARP_CHECK(top != nullptr);
  for (size_t i = static_cast<size_t>(top - levels.data()) + 1; i-- > 0;) {
    const WeightKernel* k = in_level(levels[i], type, layout);
    if (k && n % k->n_multiple == 0) return k;
  }
  return nullptr;
}

const WeightKernel* select_kernel(DType type, int64_t n, RowLayout layout) {
  return select_kernel(type, n, active_isa(), layout);
}

}  // namespace limarp::kernels
