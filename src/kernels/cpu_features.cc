#include "kernels/cpu_features.h"

#include <cstdlib>
#include <cstring>

#if defined(__x86_64__)
#include <cpuid.h>
#endif

namespace limarp::kernels {
namespace {

CpuFeatures detect() {
  CpuFeatures f;
#if defined(__x86_64__)
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
  const bool osxsave = (c >> 27) & 1;
  f.fma = (c >> 12) & 1;
  f.f16c = (c >> 29) & 1;
  unsigned long long xcr0 = 0;
  if (osxsave) {
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    xcr0 = (static_cast<unsigned long long>(hi) << 32) | lo;
  }
  const bool ymm_os = (xcr0 & 0x6) == 0x6;
  const bool zmm_os = (xcr0 & 0xE6) == 0xE6;
  const bool amx_os = (xcr0 & 0x60000) == 0x60000;
  if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
    f.avx2 = ymm_os && ((b >> 5) & 1);
    f.avx512f = zmm_os && ((b >> 16) & 1);
    f.avx512bw = zmm_os && ((b >> 30) & 1);
    f.avx512vl = zmm_os && ((b >> 31) & 1);
    f.avx512vbmi = zmm_os && ((c >> 1) & 1);
    f.avx512vnni = zmm_os && ((c >> 11) & 1);
    f.amx_bf16 = amx_os && ((d >> 22) & 1);
    f.amx_tile = amx_os && ((d >> 24) & 1);
    f.amx_int8 = amx_os && ((d >> 25) & 1);
  }
  if (__get_cpuid_count(7, 1, &a, &b, &c, &d)) f.avx512bf16 = zmm_os && ((a >> 5) & 1);
  f.fma = f.fma && ymm_os;
  if (f.avx2 && f.fma && f.f16c) f.best = Isa::kAvx2;
  if (f.best == Isa::kAvx2 && f.avx512f && f.avx512bw && f.avx512vl && f.avx512vnni && f.avx512vbmi)
    f.best = Isa::kAvx512;
#endif
  return f;
}

}  // namespace

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::kScalar: return "scalar";
    case Isa::kAvx2: return "avx2";
    case Isa::kAvx512: return "avx512";
  }
  return "?";
}

std::string CpuFeatures::describe() const {
  std::string s = std::string("kernels: ") + isa_name(best) + " (";
  auto add = [&](bool on, const char* name) {
    if (on) s += std::string(s.back() == '(' ? "" : " ") + name;
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
  return s + ")";
}

const CpuFeatures& cpu_features() {
  static const CpuFeatures features = detect();  // immutable after first use
  return features;
}

Isa active_isa() {
  // Read once: kernels ask on every call, and the environment does not change under a run.
  static const Isa active = [] {
    Isa isa = cpu_features().best;
    if (const char* cap = std::getenv("LIMARP_ISA")) {
      Isa want = Isa::kAvx512;
      if (std::strcmp(cap, "scalar") == 0) want = Isa::kScalar;
      else if (std::strcmp(cap, "avx2") == 0) want = Isa::kAvx2;
      if (static_cast<int>(want) < static_cast<int>(isa)) isa = want;
    }
    return isa;
  }();
  return active;
}

}  // namespace limarp::kernels
