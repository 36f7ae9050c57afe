// For processors without a SIMD family in limarp (neither x86-64 nor AArch64): the portable
// level alone. src/CMakeLists.txt compiles this file only there.
#include "kernels/cpu/registry.h"

namespace limarp::kernels {

CpuFeatures detect_cpu_features() { return {}; }

std::vector<KernelLevel> family_levels(const CpuFeatures&) { return {}; }

}  // namespace limarp::kernels
