// The AArch64 family's levels: NEON, then NEON with the dot product where hwcaps report it.
// Compiled only for AArch64 targets.
#include "kernels/cpu/arm/kernels_arm.h"
#include "kernels/cpu/registry.h"

namespace limarp::kernels {

std::vector<KernelLevel> family_levels(const CpuFeatures& f) {
  std::vector<KernelLevel> levels;
  if (!f.neon) return levels;
  KernelLevel neon;
  neon.isa = Isa::kNeon;
  neon.weight_kernels = weight_table(arm::neon_kernels);
  neon.gemm = arm::gemm_accumulate;
  levels.push_back(neon);
  if (!f.dotprod) return levels;
  // Only the integer dot products change; everything else is inherited from NEON.
  KernelLevel dotprod;
  dotprod.isa = Isa::kDotprod;
  dotprod.weight_kernels = weight_table(arm::dotprod_kernels);
  levels.push_back(dotprod);
  return levels;
}

}  // namespace limarp::kernels
