#include "base/thread_pool.h"

#include <algorithm>
#include <chrono>
#include <thread>

#if defined(__x86_64__)
#include <immintrin.h>
#define LIMARP_PAUSE() _mm_pause()
#else
#define LIMARP_PAUSE() ((void)0)
#endif

namespace limarp {
namespace {
// Spinning keeps wake-up latency to well under a microsecond when every worker has a core; a
// futex wake-up costs tens of microseconds in a VM, and decoding a 7B model runs ~250 parallel
// operations per token with short serial gaps between them (measured: a 4 µs spin window gave
// 5.1 tok/s on a 7B Q4_0 model with 2 threads, a window of about 1 ms 6.3). After the window a
// waiter sleeps on the futex.
constexpr auto kSpinTime = std::chrono::microseconds(1000);

// Polls `done` with PAUSE until it is true or the spin window has passed. After the first few
// microseconds the spinner also yields its core every 256 polls: when the machine has more
// runnable threads than cores (ctest -j2 beside a training run, a busy server), the thread
// being waited for may be queued on this very core, and a pure spin would hold it off for the
// whole window at every barrier (measured: a small training run took 5x the CPU time on an
// oversubscribed 2-core VM). With a core per thread, yield returns at once.
template <typename Done>
bool spin_until(Done done) {
  const auto deadline = std::chrono::steady_clock::now() + kSpinTime;
  for (int i = 1;; ++i) {
    if (done()) return true;
    LIMARP_PAUSE();
    if ((i & 255) == 0) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      if (i >= 1024) std::this_thread::yield();
    }
  }
}
}

ThreadPool::ThreadPool(int n_threads) : n_threads_(std::max(1, n_threads)), arenas_(static_cast<size_t>(n_threads_)) {
  for (int i = 1; i < n_threads_; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
  stop_.store(true);
  generation_.fetch_add(1);
  generation_.notify_all();
  for (auto& t : workers_) t.join();
}

int ThreadPool::default_threads() {
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

void ThreadPool::worker_loop(int index) {
  uint64_t seen = 0;
  for (;;) {
    uint64_t g = generation_.load(std::memory_order_acquire);
    spin_until([&] { return (g = generation_.load(std::memory_order_acquire)) != seen; });
    while (g == seen) {
      generation_.wait(seen, std::memory_order_acquire);
      g = generation_.load(std::memory_order_acquire);
    }
    seen = g;
    if (stop_.load()) return;
    (*job_)(index, n_threads_);
    if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) pending_.notify_one();
  }
}

void ThreadPool::run(FunctionRef<void(int, int)> fn) {
  if (n_threads_ == 1) {
    fn(0, 1);
    return;
  }
  job_ = &fn;
  pending_.store(n_threads_ - 1, std::memory_order_release);
  generation_.fetch_add(1, std::memory_order_acq_rel);
  generation_.notify_all();
  fn(0, n_threads_);
  int left = pending_.load(std::memory_order_acquire);
  spin_until([&] { return (left = pending_.load(std::memory_order_acquire)) == 0; });
  while (left != 0) {
    pending_.wait(left, std::memory_order_acquire);
    left = pending_.load(std::memory_order_acquire);
  }
  job_ = nullptr;
}

void ThreadPool::parallel_for(int64_t n, int64_t grain, FunctionRef<void(int64_t, int64_t)> fn) {
  parallel_for_indexed(n, grain, [&](int64_t begin, int64_t end, int) { fn(begin, end); });
}

void ThreadPool::parallel_for_static(int64_t n, int64_t align, FunctionRef<void(int64_t, int64_t)> fn) {
  parallel_for_static_indexed(n, align, [&](int64_t begin, int64_t end, int) { fn(begin, end); });
}

void ThreadPool::parallel_for_indexed(int64_t n, int64_t grain, FunctionRef<void(int64_t, int64_t, int)> fn) {
  if (n <= 0) return;
  grain = std::max<int64_t>(1, grain);
  if (n_threads_ == 1 || n <= grain) {  // on this thread, still in chunks of at most `grain`
    for (int64_t begin = 0; begin < n; begin += grain) fn(begin, std::min(n, begin + grain), 0);
    return;
  }
  std::atomic<int64_t> next{0};
  run([&](int thread, int) {
    for (;;) {
      int64_t begin = next.fetch_add(grain, std::memory_order_relaxed);
      if (begin >= n) break;
      fn(begin, std::min(n, begin + grain), thread);
    }
  });
}

void ThreadPool::parallel_for_static_indexed(int64_t n, int64_t align,
                                             FunctionRef<void(int64_t, int64_t, int)> fn) {
  if (n <= 0) return;
  align = std::max<int64_t>(1, align);
  if (n_threads_ == 1 || n <= align) {
    fn(0, n, 0);
    return;
  }
  const int64_t units = (n + align - 1) / align;
  run([&](int thread, int n_threads) {
    const int64_t begin = std::min(n, units * thread / n_threads * align);
    const int64_t end = std::min(n, units * (thread + 1) / n_threads * align);
    if (begin < end) fn(begin, end, thread);
  });
}

size_t ThreadPool::scratch_bytes() const {
  size_t n = 0;
  for (const ScratchArena& a : arenas_) n += a.capacity();
  return n;
}

}  // namespace limarp
