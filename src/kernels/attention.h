// Causal multi-head attention with grouped-query heads, reading keys and values from a KV
// cache. Only one row of scores per (token, head) exists at a time; nothing of size
// T x T is materialised.
#pragma once

#include <cstdint>

#include "base/thread_pool.h"

namespace limarp::kernels {

// From this many new tokens on, attention runs as matrix products (see attention.cc).
constexpr int64_t kBlockedAttentionMinTokens = 16;

struct AttentionShape {
  int64_t n_heads;
  int64_t n_kv_heads;
  int64_t head_dim;
};

// out[t, h*hd..] = softmax(q[t,h] · K[0..pos_t]ᵀ / sqrt(hd)) · V[0..pos_t]
// q: [T, n_heads*hd]; k, v: [>= pos0+T, n_kv_heads*hd] (row stride kv_stride floats);
// token t sits at position pos0 + t and sees positions 0..pos0+t.
void attention(float* out, const float* q, const float* k, const float* v, int64_t kv_stride, int64_t T,
               int64_t pos0, AttentionShape shape, ThreadPool& pool);

}  // namespace limarp::kernels
