// The LoRA branch of a projection, forward and backward: y += scale · B·(A·drop(x)),
// A [r, in], B [out, r] in f32, as PEFT computes it in training (dropout on the input of A
// only, kept values scaled by 1 / (1 - p)).
//
// The dropout mask is not stored: element e of a [T, in] input is kept when a hash of
// (seed, e) clears the threshold, so the mask is the same for any thread count and the
// backward pass (or a gradient-checkpointing recomputation) regenerates it from the seed.
//
// Shapes: x, dx [T, in]; y, dy [T, out]; ax, dax [T, r]; a, da [r, in]; b, db [out, r].
// Gradient contract: da, db accumulate; dx accumulates (it sums the base projection's and the
// branches' contributions); ax is assigned.
#pragma once

#include <cmath>
#include <cstdint>

#include "base/thread_pool.h"
#include "kernels/matmul.h"

namespace limarp::kernels {

struct LoraFactors {
  const float* a;  // [rank, n_in]
  const float* b;  // [n_out, rank]
  int64_t rank, n_in, n_out;
  float scale;     // alpha / r (PEFT's scaling)
};

struct Dropout {
  float p = 0;        // probability of dropping an element; 0 = off
  uint64_t seed = 0;  // one per (step, micro-batch, layer, projection)
};

// Whether element `index` survives dropout with this seed: a counter-based hash (splitmix64)
// of (seed, index / 2) gives 32 bits to each of two neighbouring elements (the high half to the
// even one); their top 24 bits u are kept when u / 2^24 >= p, i.e. u >= ceil(p · 2^24).
inline uint32_t dropout_threshold(float p) { return static_cast<uint32_t>(std::ceil(static_cast<double>(p) * 16777216.0)); }
inline bool dropout_keeps(const Dropout& d, uint64_t index) {
  uint64_t z = d.seed + ((index >> 1) + 1) * 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  z ^= z >> 31;
  const auto half = static_cast<uint32_t>(index & 1 ? z : z >> 32);
  return (half >> 8) >= dropout_threshold(d.p);
}
// The dropout whose element i is element first + i of d's (first even): the hash of pair j is
// seed + (j + 1) * golden, so starting at pair first / 2 moves the seed by first / 2 * golden.
inline Dropout dropout_from(const Dropout& d, uint64_t first) {
  return {d.p, d.seed + (first >> 1) * 0x9e3779b97f4a7c15ULL};
}

// out[e] = x[e] * keep(e) / (1 - p) for e < n; the mask is also written to `keep` when given.
// The AVX-512 version hashes 8 pairs at once; its twin is the scalar loop (identical masks).
void dropout_apply(float* out, uint8_t* keep, const float* x, const Dropout& d, int64_t n);
// The same masks, large arrays split over the pool.
void dropout_apply(float* out, uint8_t* keep, const float* x, const Dropout& d, int64_t n, ThreadPool& pool);
void dropout_apply_scalar(float* out, uint8_t* keep, const float* x, const Dropout& d, int64_t n);

// The backward's mask: out[e] += v[e] where keep[e] != 0. The AVX-512 version takes 16 at a
// time; its twin is the scalar loop.
void masked_add(float* out, const float* v, const uint8_t* keep, int64_t n);
void masked_add_scalar(float* out, const float* v, const uint8_t* keep, int64_t n);

// Caller-owned buffers, so the kernels never allocate: xd [T, in] and keep [T, in] (only
// when p > 0), dax [T, r].
struct LoraScratch {
  float* xd;
  float* dax;
  uint8_t* keep;
};

// y += scale · (drop(x) · Aᵀ) · Bᵀ;  ax = drop(x) · Aᵀ is saved for the backward pass.
// With ProductPrecision::kBF16, where the CPU has a matrix engine and every width (rank, in,
// out) is a multiple of its k-step, all of the branch's products, the factor gradients
// included, take bf16 operands on it (as autocast does; a rank-256 branch is a sizeable share
// of a step).
void lora_forward(float* y, float* ax, const float* x, const LoraFactors& f, const Dropout& d, int64_t T,
                  const LoraScratch& scratch, ThreadPool& pool,
                  ProductPrecision precision = ProductPrecision::kDefault);

// db += scale · dyᵀ · ax;  dax = scale · dy · B;  da += daxᵀ · drop(x);  dx += drop'(dax · A).
// dx may be null when the input needs no gradient.
void lora_backward(float* dx, float* da, float* db, const float* dy, const float* x, const float* ax,
                   const LoraFactors& f, const Dropout& d, int64_t T, const LoraScratch& scratch, ThreadPool& pool,
                   ProductPrecision precision = ProductPrecision::kDefault);

}  // namespace limarp::kernels
