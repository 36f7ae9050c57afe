// The portable level: scalar loops every family falls back to, and the twins the SIMD
// kernels are tested against.
#include "kernels/cpu/registry.h"
#include "kernels/kv_rows.h"
#include "kernels/vector_math.h"

namespace limarp::kernels {

KernelLevel generic_level() {
  size_t count = 0;
  const WeightKernel* table = scalar_kernels(&count);
  KernelLevel level;
  level.isa = Isa::kScalar;
  level.weight_kernels = {table, count};
  level.gemm = gemm_accumulate_scalar;
  level.exp_shifted_inplace = exp_shifted_inplace_scalar;
  level.max_f32 = max_f32_scalar;
  level.sum_f32 = sum_f32_scalar;
  level.sum_u64 = sum_u64_scalar;
  level.weighted_row_sum = weighted_row_sum_scalar;
  level.store_kv_row = store_kv_row_scalar;
  level.load_kv_row = load_kv_row_scalar;
  return level;
}

}  // namespace limarp::kernels
