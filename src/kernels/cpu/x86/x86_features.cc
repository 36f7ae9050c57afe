// x86-64 feature detection: cpuid for what the processor has, xgetbv for the register state
// the OS saves (a feature whose registers the OS does not preserve cannot be used).
#include <cpuid.h>

#include "kernels/cpu/cpu_features.h"

namespace limarp::kernels {

CpuFeatures detect_cpu_features() {
  CpuFeatures f;
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
  return f;
}

}  // namespace limarp::kernels
