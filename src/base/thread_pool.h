// A persistent pool of worker threads. Decoding one token of a 7B model runs a few hundred
// parallel operations, so threads are created once and woken per operation (spin briefly,
// then sleep on a futex) instead of being created per op.
//
// The calling thread takes part as worker 0. Work is split by output index, and every output
// element is computed by exactly one thread in a fixed order, so results do not depend on the
// thread count. Every thread has a scratch arena of its own (base/scratch_arena.h), so kernels
// need no allocation per call; the calling thread uses worker 0's, which is why one thread
// drives a pool at a time (the scheduler's, a command's main thread): two threads sharing a
// pool would share that memory.
#pragma once

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include "base/function_ref.h"
#include "base/scratch_arena.h"

namespace limarp {

class ThreadPool {
 public:
  explicit ThreadPool(int n_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return n_threads_; }

  // Runs fn(thread_index, n_threads) once on every thread and waits for all.
  void run(FunctionRef<void(int thread, int n_threads)> fn);

  // Calls fn(begin, end) over [0, n) in chunks of at most `grain`, handed out dynamically.
  void parallel_for(int64_t n, int64_t grain, FunctionRef<void(int64_t begin, int64_t end)> fn);

  // Splits [0, n) into one contiguous range per thread (boundaries rounded to multiples of
  // `align`) and calls fn(begin, end) on each: every core streams one long run of memory,
  // which hardware prefetchers follow far better than scattered chunks.
  void parallel_for_static(int64_t n, int64_t align, FunctionRef<void(int64_t begin, int64_t end)> fn);

  // The same, also passing the index of the thread running the chunk (for its arena).
  void parallel_for_indexed(int64_t n, int64_t grain,
                            FunctionRef<void(int64_t begin, int64_t end, int thread)> fn);
  void parallel_for_static_indexed(int64_t n, int64_t align,
                                   FunctionRef<void(int64_t begin, int64_t end, int thread)> fn);

  // Thread `thread`'s scratch memory (0: the calling thread). Only that thread touches it while
  // a parallel operation runs; between operations the caller may use any of them.
  ScratchArena& arena(int thread) { return arenas_[static_cast<size_t>(thread)]; }
  // Bytes held by every thread's arena.
  size_t scratch_bytes() const;

  // A pool sized for the machine when the user gave no -t.
  static int default_threads();

 private:
  void worker_loop(int index);

  int n_threads_;
  std::vector<std::thread> workers_;
  std::vector<ScratchArena> arenas_;
  const FunctionRef<void(int, int)>* job_ = nullptr;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  std::atomic<bool> stop_{false};
};

}  // namespace limarp
