// What the CPU can do, detected once at start-up (cpuid + xgetbv), and the instruction-set
// level kernels are chosen by. LIMARP_ISA=scalar|avx2|avx512 caps the level for tests and
// benchmarks that compare implementations side by side.
#pragma once

#include <string>

namespace limarp::kernels {

enum class Isa { kScalar = 0, kAvx2 = 1, kAvx512 = 2 };
const char* isa_name(Isa isa);

struct CpuFeatures {
  bool avx2 = false, fma = false, f16c = false;
  bool avx512f = false, avx512bw = false, avx512vl = false, avx512vnni = false, avx512vbmi = false,
       avx512bf16 = false;
  bool amx_tile = false, amx_int8 = false, amx_bf16 = false;
  Isa best = Isa::kScalar;  // highest level whose kernels can run here
  std::string describe() const;
};

// Detected features (computed once; the detection itself has no side effects).
const CpuFeatures& cpu_features();

// The level to use: the best available, capped by LIMARP_ISA when set (read at first use).
Isa active_isa();

}  // namespace limarp::kernels
