// The x86-64 family's levels: AVX2 (+ FMA, F16C) and AVX-512 (F, BW, VL, VNNI, VBMI), the
// latter with AMX for prompts where the CPU has AMX-BF16. Compiled only for x86-64 targets.
#include "kernels/cpu/registry.h"
#include "kernels/cpu/x86/amx/amx_gemm.h"
#include "kernels/cpu/x86/avx2/kernels_avx2.h"
#include "kernels/cpu/x86/avx512/kernels_avx512.h"

namespace limarp::kernels {
namespace {

const MatrixEngine kAmx{amx::kStepK, amx::kPanelRows, amx::available, amx::matmul_bf16,
                        amx::matmul_transposed_bf16};

}  // namespace

std::vector<KernelLevel> family_levels(const CpuFeatures& f) {
  std::vector<KernelLevel> levels;
  if (!(f.avx2 && f.fma && f.f16c)) return levels;
  KernelLevel avx2;
  avx2.isa = Isa::kAvx2;
  avx2.weight_kernels = weight_table(avx2_kernels);
  avx2.gemm = avx2::gemm_accumulate;
  avx2.sum_u64 = avx2::sum_u64;
  avx2.weighted_row_sum = avx2::weighted_row_sum;
  avx2.store_kv_row = avx2::store_kv_row;
  avx2.load_kv_row = avx2::load_kv_row;
  levels.push_back(avx2);
  if (!(f.avx512f && f.avx512bw && f.avx512vl && f.avx512vnni && f.avx512vbmi)) return levels;
  // The KV-cache rows keep AVX2's loops (inherited): F16C converts as fast as AVX-512 would.
  KernelLevel avx512;
  avx512.isa = Isa::kAvx512;
  avx512.weight_kernels = weight_table(avx512_kernels);
  avx512.gemm = avx512::gemm_accumulate;
  avx512.exp_shifted_inplace = avx512::exp_shifted_inplace;
  avx512.max_f32 = avx512::max_f32;
  avx512.sum_f32 = avx512::sum_f32;
  avx512.sum_u64 = avx512::sum_u64;
  avx512.dropout_prefix = avx512::dropout_apply;
  avx512.masked_add_prefix = avx512::masked_add;
  if (f.amx_bf16) avx512.matrix_engine = &kAmx;
  levels.push_back(avx512);
  return levels;
}

}  // namespace limarp::kernels
