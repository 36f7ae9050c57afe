#include "kernels/bandwidth.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>

#include "base/log.h"
#include "base/mapped_file.h"
#include "kernels/vector_math.h"

namespace limarp::kernels {

BandwidthResult measure_read_bandwidth(ThreadPool& pool, uint64_t bytes, int passes) {
  // Allocated like the regrouped weights (huge pages where the kernel gives them), so the probe
  // sees the same TLB behaviour as decoding.
  std::shared_ptr<uint8_t> buf = allocate_weight_memory(bytes);
  if (!buf) {
    log::warn("bandwidth probe: no memory for its {:.0f} MiB buffer; not measured",
              static_cast<double>(bytes) / (1 << 20));
    return {0, bytes};
  }
  // Touch every page with non-zero data so the reads hit real memory, not the zero page.
  std::memset(buf.get(), 1, bytes);
  const auto* words = reinterpret_cast<const uint64_t*>(buf.get());
  const size_t n = bytes / 8;
  std::atomic<uint64_t> sink{0};
  double best = 0;
  for (int p = 0; p < passes; ++p) {
    const auto t0 = std::chrono::steady_clock::now();
    pool.run([&](int thread, int n_threads) {
      const size_t begin = n * static_cast<size_t>(thread) / static_cast<size_t>(n_threads);
      const size_t end = n * static_cast<size_t>(thread + 1) / static_cast<size_t>(n_threads);
      sink.fetch_add(sum_u64(words + begin, end - begin), std::memory_order_relaxed);
    });
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::max(best, static_cast<double>(bytes) / s / 1e9);
  }
  if (sink.load() == 42) best += 0;  // the sum is used
  return {best, bytes};
}

}  // namespace limarp::kernels
