#include "kernels/cpu/cpu_features.h"

namespace limarp::kernels {

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::kScalar: return "scalar";
    case Isa::kAvx2: return "avx2";
    case Isa::kAvx512: return "avx512";
    case Isa::kNeon: return "neon";
    case Isa::kDotprod: return "dotprod";
  }
  return "?";
}

std::string CpuFeatures::describe() const {
  std::string s;
  auto add = [&](bool on, const char* name) {
    if (on) s += std::string(s.empty() ? "" : " ") + name;
  };
  add(avx2, "avx2");
  add(fma, "fma");
  add(f16c, "f16c");
  add(avx512f, "avx512f");
  add(avx512bw, "avx512bw");
  add(avx512vnni, "avx512vnni");
  add(avx512vbmi, "avx512vbmi");
  add(avx512bf16, "avx512bf16");
  add(amx_int8, "amx-int8");
  add(amx_bf16, "amx-bf16");
  add(neon, "neon");
  add(dotprod, "dotprod");
  return s;
}

const CpuFeatures& cpu_features() {
  static const CpuFeatures features = detect_cpu_features();  // immutable after first use
  return features;
}

}  // namespace limarp::kernels
