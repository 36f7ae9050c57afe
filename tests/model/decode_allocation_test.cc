// Decoding a token allocates no memory once the buffers have grown: the forward pass's
// activations live in the backend's workspace and every kernel takes its temporary memory
// from the thread pool's arenas (issue: kernels used to allocate per call). Counted by
// interposing the C allocator in this test program, so allocations through operator new,
// aligned_alloc and posix_memalign are all seen, on every thread. Not under the sanitizers,
// which own the allocator themselves.
#include <gtest/gtest.h>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define LIMARP_COUNTS_ALLOCATIONS 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LIMARP_COUNTS_ALLOCATIONS 0
#endif
#endif
#ifndef LIMARP_COUNTS_ALLOCATIONS
#define LIMARP_COUNTS_ALLOCATIONS 1
#endif

#include <atomic>
#include <cerrno>
#include <cstdlib>

#include "backend/cpu_backend.h"
#include "model/forward.h"
#include "model/random_init.h"

#if LIMARP_COUNTS_ALLOCATIONS
namespace {
std::atomic<bool> g_counting{false};
std::atomic<int64_t> g_allocations{0};
void count() {
  if (g_counting.load(std::memory_order_relaxed)) g_allocations.fetch_add(1, std::memory_order_relaxed);
}
}  // namespace

// glibc's own entry points, under the names it exports for allocators that wrap it.
extern "C" {
void* __libc_malloc(size_t);
void* __libc_calloc(size_t, size_t);
void* __libc_realloc(void*, size_t);
void* __libc_memalign(size_t, size_t);
void __libc_free(void*);

void* malloc(size_t n) {
  count();
  return __libc_malloc(n);
}
void* calloc(size_t n, size_t size) {
  count();
  return __libc_calloc(n, size);
}
void* realloc(void* p, size_t n) {
  count();
  return __libc_realloc(p, n);
}
void* aligned_alloc(size_t alignment, size_t n) {
  count();
  return __libc_memalign(alignment, n);
}
void* memalign(size_t alignment, size_t n) {
  count();
  return __libc_memalign(alignment, n);
}
int posix_memalign(void** out, size_t alignment, size_t n) {
  count();
  *out = __libc_memalign(alignment, n);
  return *out ? 0 : ENOMEM;
}
void free(void* p) { __libc_free(p); }
}
#endif

namespace limarp {
namespace {

#if LIMARP_COUNTS_ALLOCATIONS
LlamaModel random_model(const char* type) {
  LlamaConfig c = named_shape("tiny").value();
  c.dim = 256;  // a whole Q4_K super-block per row, and rows in groups of 16 for the regrouped layouts
  c.hidden_dim = 512;
  c.tied_output = false;
  TensorStore store;
  store.source = std::string("random ") + type;
  c.to_metadata(store.metadata);
  for (auto& t : random_llama_tensors(c, QuantRecipe::parse(type).value(), 11)) {
    Tensor buf(t.type, t.shape);
    EXPECT_TRUE(t.fill(std::span<uint8_t>(buf.bytes(), buf.nbytes())).ok());
    store.add_owned(t.name, std::move(buf));
  }
  return std::move(LlamaModel::from_store(std::move(store)).value());
}
#endif

class DecodeAllocations : public ::testing::TestWithParam<const char*> {};

TEST_P(DecodeAllocations, NoneOnceWarm) {
#if !LIMARP_COUNTS_ALLOCATIONS
  GTEST_SKIP() << "the sanitizers own the allocator";
#else
  LlamaModel model = random_model(GetParam());
  ThreadPool pool(2);
  CpuBackend cpu(pool);
  const int64_t regrouped = model.prepare_weights(cpu);
  std::printf("%s: %lld matrices in the backend's layout\n", GetParam(), static_cast<long long>(regrouped));
  Forward fwd(model, cpu);
  // The q8_0 and q4_0 weight runs keep their cache in the same type (quantizing each new row,
  // dequantizing blocks for the value sums); the others use f16.
  const std::string type = GetParam();
  const DType kv = type == "q8_0" ? DType::kQ8_0 : type == "q4_0" ? DType::kQ4_0 : DType::kF16;
  KvCache cache(model.config(), 256, kv);
  std::vector<float> logits;
  // A prompt (the blocked attention path), then tokens one at a time to grow every buffer.
  std::vector<int32_t> prompt(40);
  for (size_t i = 0; i < prompt.size(); ++i) prompt[i] = static_cast<int32_t>(3 + 7 * i % 500);
  ASSERT_TRUE(fwd.eval(prompt, cache, logits).ok());
  for (int32_t t = 0; t < 8; ++t) ASSERT_TRUE(fwd.eval(std::span<const int32_t>(&t, 1), cache, logits).ok());
  const auto before = logits;
  g_allocations = 0;
  g_counting = true;
  for (int32_t t = 20; t < 24; ++t) {
    const Status s = fwd.eval(std::span<const int32_t>(&t, 1), cache, logits);
    ASSERT_TRUE(s.ok());
  }
  g_counting = false;
  EXPECT_EQ(g_allocations.load(), 0) << "allocations while decoding 4 tokens";
  EXPECT_NE(before, logits);  // the decode steps really ran
  // The check can fail: the same counter sees an allocation made the ordinary way.
  g_allocations = 0;
  g_counting = true;
  auto* probe = new std::vector<float>(1000);
  g_counting = false;
  delete probe;
  EXPECT_GE(g_allocations.load(), 1);
#endif
}

INSTANTIATE_TEST_SUITE_P(Types, DecodeAllocations, ::testing::Values("f32", "f16", "q8_0", "q4_0", "q4_k"),
                         [](const ::testing::TestParamInfo<const char*>& p) { return std::string(p.param); });

}  // namespace
}  // namespace limarp
