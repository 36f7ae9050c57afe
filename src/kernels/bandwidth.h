// Measures the machine's memory read bandwidth with the given threads: the ceiling for decoding
// is this bandwidth divided by the bytes of weights read per token.
#pragma once

#include <cstdint>

#include "base/thread_pool.h"

namespace limarp::kernels {

struct BandwidthResult {
  double gb_per_s;   // 1e9 bytes per second, best of the passes; 0 when no buffer could be had
  uint64_t bytes;    // buffer size read per pass
};

// Reads a buffer of `bytes` (much larger than the caches) `passes` times, split over the pool.
BandwidthResult measure_read_bandwidth(ThreadPool& pool, uint64_t bytes = uint64_t{1} << 30, int passes = 5);

}  // namespace limarp::kernels
