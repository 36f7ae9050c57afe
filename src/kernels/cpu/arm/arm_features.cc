// AArch64 feature detection from the kernel's hardware capabilities (getauxval(AT_HWCAP)):
// user space cannot read the ID registers portably, and the kernel reports only what it lets
// processes use.
#include <sys/auxv.h>

#include "kernels/cpu/cpu_features.h"

namespace limarp::kernels {

CpuFeatures detect_cpu_features() {
  CpuFeatures f;
  const unsigned long hwcap = getauxval(AT_HWCAP);
  f.neon = (hwcap & HWCAP_ASIMD) != 0;
  f.dotprod = f.neon && (hwcap & HWCAP_ASIMDDP) != 0;
  return f;
}

}  // namespace limarp::kernels
