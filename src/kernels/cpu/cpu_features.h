// What the CPU can do, detected once at start-up by the target's processor family
// (cpu/x86/x86_features.cc: cpuid + xgetbv; cpu/arm/arm_features.cc: the kernel's hwcaps), and
// the names of the instruction-set levels kernels are grouped by (cpu/registry.h chooses one).
#pragma once

#include <string>

namespace limarp::kernels {

// Levels of every family; a build holds the scalar level and its own family's (the registry
// orders them within the family, lowest first). kDotprod is NEON plus the Armv8.2 dot product.
enum class Isa { kScalar, kAvx2, kAvx512, kNeon, kDotprod };
const char* isa_name(Isa isa);

struct CpuFeatures {
  // x86-64
  bool avx2 = false, fma = false, f16c = false;
  bool avx512f = false, avx512bw = false, avx512vl = false, avx512vnni = false, avx512vbmi = false,
       avx512bf16 = false;
  bool amx_tile = false, amx_int8 = false, amx_bf16 = false;
  // AArch64 (Advanced SIMD is part of the base architecture; the dot product is optional)
  bool neon = false, dotprod = false;
  std::string describe() const;  // the features present, space-separated
};

// Detected features (computed once; the detection itself has no side effects).
const CpuFeatures& cpu_features();

// Defined by the target's family (src/CMakeLists.txt compiles exactly one).
CpuFeatures detect_cpu_features();

}  // namespace limarp::kernels
