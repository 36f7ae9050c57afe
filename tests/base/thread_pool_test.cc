// The pool's per-thread scratch arenas and the parallel loops that hand out thread indices:
// every index runs exactly once, on a thread whose arena it may use, and an arena hands back
// the same memory for any request it already covers.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <vector>

#include "base/function_ref.h"
#include "base/scratch_arena.h"
#include "base/thread_pool.h"

namespace limarp {
namespace {

TEST(ScratchArena, ReusesAlignedBlocksAndGrowsOnlyWhenAsked) {
  ScratchArena a;
  void* p = a.bytes(ScratchSlot::kMatmulActivations, 1000);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 64, 0u);
  EXPECT_EQ(a.bytes(ScratchSlot::kMatmulActivations, 10), p);
  EXPECT_EQ(a.bytes(ScratchSlot::kMatmulActivations, 1000), p);
  void* q = a.bytes(ScratchSlot::kAttentionScores, 1000);
  EXPECT_NE(p, q);  // slots never share a block
  static_cast<char*>(q)[999] = 1;
  void* big = a.bytes(ScratchSlot::kMatmulActivations, 1 << 20);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(big) % 64, 0u);
  static_cast<char*>(big)[(1 << 20) - 1] = 1;
  EXPECT_GE(a.capacity(), (1u << 20) + 1000u);
  EXPECT_EQ(a.bytes(ScratchSlot::kAttentionScores, 1000), q);
}

// Every index once, on a valid thread, in chunks of at most the grain (also on one thread:
// callers size per-chunk scratch by it).
TEST(ThreadPool, IndexedLoopsRunEveryIndexOnceOnAValidThread) {
  for (int threads : {1, 2, 3}) {
    ThreadPool pool(threads);
    for (int64_t n : {0, 1, 7, 1000}) {
      std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
      std::atomic<bool> bad_thread{false};
      pool.parallel_for_indexed(n, 3, [&](int64_t b, int64_t e, int thread) {
        if (thread < 0 || thread >= pool.size() || e - b > 3) bad_thread = true;  // chunks of at most grain
        pool.arena(thread).floats(ScratchSlot::kAttentionScores, static_cast<size_t>(e - b));
        for (int64_t i = b; i < e; ++i) hits[static_cast<size_t>(i)]++;
      });
      for (auto& h : hits) EXPECT_EQ(h.load(), 1);
      std::vector<std::atomic<int>> hits2(static_cast<size_t>(n));
      pool.parallel_for_static_indexed(n, 4, [&](int64_t b, int64_t e, int thread) {
        if (thread < 0 || thread >= pool.size()) bad_thread = true;
        for (int64_t i = b; i < e; ++i) hits2[static_cast<size_t>(i)]++;
      });
      for (auto& h : hits2) EXPECT_EQ(h.load(), 1);
      EXPECT_FALSE(bad_thread) << threads << " threads, n " << n;
    }
    EXPECT_GT(pool.scratch_bytes(), 0u);
  }
}

TEST(FunctionRef, CallsTheReferencedCallableWithItsCaptures) {
  int sum = 0;
  std::vector<int> seen;
  auto add = [&](int x) {
    sum += x;
    seen.push_back(x);
  };
  FunctionRef<void(int)> f = add;
  f(2);
  f(5);
  EXPECT_EQ(sum, 7);
  EXPECT_EQ(seen, (std::vector<int>{2, 5}));
  auto combine = [](int a, int b) { return a * 10 + b; };
  FunctionRef<int(int, int)> g = combine;
  EXPECT_EQ(g(4, 2), 42);
}

}  // namespace
}  // namespace limarp
