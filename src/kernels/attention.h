// Causal multi-head attention with grouped-query heads.
//
// Inference reads keys and values from a KV cache. A decoded token's scores are one row per
// head; a prompt batch (kBlockedAttentionMinTokens or more tokens) runs the blocked causal
// kernel of the training forward below, so nothing of size T x T is materialised either way.
//
// Training sees whole sequences at once (keys from the same batch rows) and needs a backward
// pass. Its forward saves only the log-sum-exp of each score row (lse [T, n_heads]); the
// backward recomputes the probabilities from q, k and lse (as flash attention does) instead
// of storing a T x T matrix per head — a 4k-token sequence of a 7B model would need 2 GiB per
// layer otherwise. Training kernels work on one key/value head group of one sequence, so the
// caller can spread (sequence, group) pairs over threads while every gradient element keeps
// exactly one writer. They are templates on the float type (double: the reference build).
#pragma once

#include <cstdint>

#include "base/thread_pool.h"
#include "tensor/dtype.h"

namespace limarp::kernels {

// From this many new tokens on, attention runs as blocks of matrix products (see attention.cc).
constexpr int64_t kBlockedAttentionMinTokens = 16;

struct AttentionShape {
  int64_t n_heads;
  int64_t n_kv_heads;
  int64_t head_dim;
};

// Keys or values of one layer as a KV cache holds them: per kv head, rows of head_dim
// elements (f32 or f16) for consecutive positions; head h's rows start head_stride elements
// after head h-1's.
struct KvHeads {
  const void* data;
  DType type;
  int64_t head_stride;
};

// out[t, h*hd..] = softmax(q[t,h] · K[0..pos_t]ᵀ / sqrt(hd)) · V[0..pos_t]
// q: [T, n_heads*hd]; k, v hold >= pos0+T positions; token t sits at position pos0 + t and
// sees positions 0..pos0+t.
void attention(float* out, const float* q, KvHeads k, KvHeads v, int64_t T, int64_t pos0, AttentionShape shape,
               ThreadPool& pool);

// Training forward for the query heads of kv head `group` of one sequence of T tokens:
//   out [T, n_heads*hd], lse [T, n_heads] (written for those heads only)
//   q [T, n_heads*hd], k, v [T, n_kv_heads*hd]; token t sees tokens 0..t.
// Blocks of kAttentionBlock queries become small matrix products (scores = Q·Kᵀ, out = P·V)
// on the f32 GEMM core; 48 rows are whole register tiles of both its builds (6 and 4 rows).
// scratch: attention_scratch_floats(T, shape) floats.
constexpr int64_t kAttentionBlock = 48;
int64_t attention_scratch_floats(int64_t T, AttentionShape shape);
void attention_forward_group(float* out, float* lse, const float* q, const float* k, const float* v, float* scratch,
                             int64_t T, AttentionShape shape, int64_t group);

// Its backward: dq for the group's query heads (assigned), dk and dv for kv head `group`
// (assigned: zeroed, then summed over the group's heads and query blocks in a fixed order).
//   dout, out [T, n_heads*hd]; lse [T, n_heads]; scratch as for the forward.
void attention_backward_group(float* dq, float* dk, float* dv, const float* dout, const float* q, const float* k,
                              const float* v, const float* out, const float* lse, float* scratch, int64_t T,
                              AttentionShape shape, int64_t group);

// The reference twins: one query and one key at a time, templates on the float type (double
// is the build that tests differentiate numerically). scratch: T values.
template <typename F>
void attention_forward_group_reference(F* out, F* lse, const F* q, const F* k, const F* v, F* scratch, int64_t T,
                                       AttentionShape shape, int64_t group);
template <typename F>
void attention_backward_group_reference(F* dq, F* dk, F* dv, const F* dout, const F* q, const F* k, const F* v,
                                        const F* out, const F* lse, int64_t T, AttentionShape shape, int64_t group);

}  // namespace limarp::kernels
