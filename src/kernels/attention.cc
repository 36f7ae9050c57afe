#include "kernels/attention.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "base/status.h"
#include "kernels/gemm.h"
#include "kernels/kv_rows.h"
#include "kernels/ops.h"
#include "kernels/vector_math.h"
#include "kernels/weight_kernels.h"
#include "tensor/tensor.h"

namespace limarp::kernels {

namespace {

// Bytes from a KvHeads' start to its element `elements`.
size_t kv_row_offset(const KvHeads& kv, int64_t elements) {
  return kv_bytes(kv.type, elements);
}

// A head's keys (or values) transposed into panels of kPanel positions: panel j holds
// positions [j*kPanel, (j+1)*kPanel) as [hd][kPanel], so a block of queries' products with a
// panel read it contiguously. (A plain [hd, T] transpose puts each of a panel's hd rows on its
// own page at long contexts: the GEMM core ran 1.4-1.6x slower on it.) Written in runs of 16
// positions: each write fills a whole cache line while the rows read stay in L1.
constexpr int64_t kPanel = 64;

int64_t panel_floats(int64_t T, int64_t hd) { return (T + kPanel - 1) / kPanel * kPanel * hd; }

void pack_panels(float* panels, const float* k, int64_t stride, int64_t T, int64_t hd) {
  constexpr int64_t kRun = 16;
  for (int64_t p0 = 0; p0 < T; p0 += kRun) {
    const int64_t p1 = std::min(T, p0 + kRun);
    float* panel = panels + (p0 / kPanel) * kPanel * hd + p0 % kPanel;
    for (int64_t i = 0; i < hd; ++i)
      for (int64_t p = p0; p < p1; ++p) panel[i * kPanel + (p - p0)] = k[p * stride + i];
  }
}

// c[r, p] += alpha * a_r · k_p for r < rows, p < keys: rows of a (hd long) against packed panels.
void products_with_panels(float* c, int64_t ldc, StridedMatrix a, const float* panels, int64_t rows, int64_t keys,
                          int64_t hd, float alpha) {
  for (int64_t j0 = 0; j0 < keys; j0 += kPanel)
    gemm_accumulate(c + j0, ldc, a, panels + j0 * hd, kPanel, rows, std::min(kPanel, keys - j0), hd, alpha);
}

// Probabilities of a block of score rows in place: row r (query t0 + r) sees keys 0..t0+r.
// With lse given (backward) they are exp(s - lse); otherwise the row is normalised and its
// log-sum-exp written to lse_out, when given.
void softmax_rows(float* s, int64_t ld, int64_t t0, int64_t rows, const float* lse_in, float* lse_out,
                  int64_t lse_stride) {
  for (int64_t r = 0; r < rows; ++r) {
    float* row = s + r * ld;
    const int64_t valid = t0 + r + 1;
    if (lse_in) {
      exp_shifted_inplace(row, lse_in[r * lse_stride], valid);
    } else {
      const float mx = max_f32(row, valid);
      exp_shifted_inplace(row, mx, valid);
      const double sum = sum_f32(row, valid);
      const auto inv = static_cast<float>(1.0 / sum);
      for (int64_t p = 0; p < valid; ++p) row[p] *= inv;
      if (lse_out) lse_out[r * lse_stride] = mx + static_cast<float>(std::log(sum));
    }
    for (int64_t p = valid; p < ld; ++p) row[p] = 0;
  }
}

void zero_rows(float* x, int64_t stride, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r) std::memset(x + r * stride, 0, sizeof(float) * static_cast<size_t>(cols));
}

// Causal attention of query head h over keys already in f32, in blocks of kAttentionBlock
// queries: scores = scale·Q_block·Kᵀ and out = P·V are products on the GEMM core, and a block
// computes scores only up to its last query's position. Token t sits at position pos0 + t.
//   kp: the keys packed by pack_panels; v: rows of hd floats, ldv apart; scores: kAttentionBlock
//   * (pos0 + T) floats; lse [T, n_heads], written for head h when given.
void attend_head_blocks(float* out, float* lse, const float* q, const float* kp, const float* v, int64_t ldv,
                        float* scores, int64_t T, int64_t pos0, AttentionShape s, int64_t h) {
  const int64_t hd = s.head_dim, dim = s.n_heads * hd;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  for (int64_t t0 = 0; t0 < T; t0 += kAttentionBlock) {
    const int64_t rows = std::min(kAttentionBlock, T - t0), keys = pos0 + t0 + rows;
    zero_rows(scores, keys, rows, keys);
    products_with_panels(scores, keys, {q + t0 * dim + h * hd, dim, 1}, kp, rows, keys, hd, scale);
    softmax_rows(scores, keys, pos0 + t0, rows, nullptr, lse ? lse + t0 * s.n_heads + h : nullptr, s.n_heads);
    float* o = out + t0 * dim + h * hd;
    zero_rows(o, dim, rows, hd);
    gemm_accumulate(o, dim, {scores, keys, 1}, v, ldv, rows, hd, keys, 1.0f);
  }
}

// Keys of one kv head packed in f32 panels (see pack_panels), and its values as f32 rows
// [n_keys, hd] — the cache's own rows when they already are f32.
const float* head_in_f32(float* kp, float* values, const KvHeads& k, const KvHeads& v, int64_t kv_head, int64_t n_keys,
                         int64_t hd) {
  const auto* kh = static_cast<const uint8_t*>(k.data) + kv_row_offset(k, kv_head * k.head_stride);
  const auto* vh = static_cast<const uint8_t*>(v.data) + kv_row_offset(v, kv_head * v.head_stride);
  const float* keys = reinterpret_cast<const float*>(kh);
  if (k.type != DType::kF32) {
    load_kv_row(values, kh, k.type, n_keys * hd);  // the keys as f32 rows, before packing
    keys = values;
  }
  pack_panels(kp, keys, hd, n_keys, hd);
  if (v.type == DType::kF32) return reinterpret_cast<const float*>(vh);
  load_kv_row(values, vh, v.type, n_keys * hd);
  return values;
}

// Many queries at once: each query head runs the blocked causal kernel training uses (scores
// and values as small products on the f32 GEMM core, keys only up to each block's last query).
// Query heads are spread over the threads, each converting its kv head's cache rows to f32.
void attention_blocked(float* out, const float* q, KvHeads k, KvHeads v, int64_t T, int64_t pos0, AttentionShape s,
                       ThreadPool& pool) {
  const int64_t hd = s.head_dim, n_keys = pos0 + T, group = s.n_heads / s.n_kv_heads;
  pool.parallel_for_static_indexed(s.n_heads, 1, [&](int64_t begin, int64_t end, int thread) {
    ScratchArena& arena = pool.arena(thread);
    float* kpf = arena.floats(ScratchSlot::kAttentionKeys, static_cast<size_t>(panel_floats(n_keys, hd)));
    float* values = arena.floats(ScratchSlot::kAttentionValues, static_cast<size_t>(n_keys * hd));
    float* scores = arena.floats(ScratchSlot::kAttentionScores, static_cast<size_t>(kAttentionBlock * n_keys));
    int64_t loaded = -1;
    const float* vf = nullptr;
    for (int64_t h = begin; h < end; ++h) {
      if (h / group != loaded) {
        loaded = h / group;
        vf = head_in_f32(kpf, values, k, v, loaded, n_keys, hd);
      }
      attend_head_blocks(out, nullptr, q, kpf, vf, hd, scores, T, pos0, s, h);
    }
  });
}

}  // namespace

void attention(float* out, const float* q, KvHeads k, KvHeads v, int64_t T, int64_t pos0, AttentionShape s,
               ThreadPool& pool) {
  LIMARP_CHECK(is_kv_type(k.type) && is_kv_type(v.type));
  if (T >= kBlockedAttentionMinTokens) {
    attention_blocked(out, q, k, v, T, pos0, s, pool);
    return;
  }
  const int64_t dim = s.n_heads * s.head_dim;
  const int64_t group = s.n_heads / s.n_kv_heads;
  const float scale = 1.0f / std::sqrt(static_cast<float>(s.head_dim));
  // Work grows with the keys each query sees; small problems stay on the calling thread.
  const int64_t work = T * s.n_heads * (pos0 + T) * s.head_dim;
  // Scores are a matrix-vector product with the head's keys as the matrix: the f32/f16 weight
  // kernels (4 rows at a time, prefetching ahead) compute them.
  const WeightKernel* dot = select_kernel(k.type, s.head_dim);
  const size_t key_row_bytes = kv_row_offset(k, s.head_dim);
  auto body = [&](int64_t begin, int64_t end, int thread) {
    ScratchArena& arena = pool.arena(thread);
    float* scores = arena.floats(ScratchSlot::kAttentionScores, static_cast<size_t>(pos0 + T));
    auto* prepared_q = static_cast<uint8_t*>(arena.bytes(ScratchSlot::kAttentionQuery, dot->prepared_bytes(s.head_dim)));
    for (int64_t task = begin; task < end; ++task) {
      const int64_t t = task / s.n_heads, h = task % s.n_heads;
      const int64_t kvh = h / group;
      const int64_t n_keys = pos0 + t + 1;
      const float* qh = q + t * dim + h * s.head_dim;
      const auto* kh = static_cast<const uint8_t*>(k.data) + kv_row_offset(k, kvh * k.head_stride);
      const auto* vh = static_cast<const uint8_t*>(v.data) + kv_row_offset(v, kvh * v.head_stride);
      dot->prepare(qh, s.head_dim, prepared_q);
      dot->tile(scores, n_keys, kh, key_row_bytes, n_keys, prepared_q, 0, 1, s.head_dim);
      for (int64_t p = 0; p < n_keys; ++p) scores[p] *= scale;
      softmax(scores, n_keys);
      weighted_row_sum(out + t * dim + h * s.head_dim, scores, vh, v.type, n_keys, s.head_dim);
    }
  };
  if (work < (int64_t{1} << 16)) body(0, T * s.n_heads, 0);
  else pool.parallel_for_indexed(T * s.n_heads, 1, body);
}

namespace {

template <typename F>
F dot(const F* a, const F* b, int64_t n) {
  F s = 0;
  for (int64_t i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

}  // namespace

template <typename F>
void attention_forward_group_reference(F* out, F* lse, const F* q, const F* k, const F* v, F* scratch, int64_t T,
                             AttentionShape s, int64_t group) {
  const int64_t hd = s.head_dim, dim = s.n_heads * hd, kv = s.n_kv_heads * hd;
  const int64_t per_group = s.n_heads / s.n_kv_heads;
  const F scale = F(1) / std::sqrt(static_cast<F>(hd));
  const F* kg = k + group * hd;
  const F* vg = v + group * hd;
  for (int64_t h = group * per_group; h < (group + 1) * per_group; ++h)
    for (int64_t t = 0; t < T; ++t) {
      const F* qt = q + t * dim + h * hd;
      F mx = -INFINITY;
      for (int64_t p = 0; p <= t; ++p) {
        scratch[p] = dot(qt, kg + p * kv, hd) * scale;
        mx = std::max(mx, scratch[p]);
      }
      double sum = 0;
      for (int64_t p = 0; p <= t; ++p) {
        scratch[p] = std::exp(scratch[p] - mx);
        sum += static_cast<double>(scratch[p]);
      }
      const F inv = static_cast<F>(1.0 / sum);
      F* ot = out + t * dim + h * hd;
      for (int64_t i = 0; i < hd; ++i) ot[i] = 0;
      for (int64_t p = 0; p <= t; ++p) {
        const F w = scratch[p] * inv;
        const F* vp = vg + p * kv;
        for (int64_t i = 0; i < hd; ++i) ot[i] += w * vp[i];
      }
      lse[t * s.n_heads + h] = mx + static_cast<F>(std::log(sum));
    }
}

template <typename F>
void attention_backward_group_reference(F* dq, F* dk, F* dv, const F* dout, const F* q, const F* k, const F* v, const F* out,
                              const F* lse, int64_t T, AttentionShape s, int64_t group) {
  const int64_t hd = s.head_dim, dim = s.n_heads * hd, kv = s.n_kv_heads * hd;
  const int64_t per_group = s.n_heads / s.n_kv_heads;
  const F scale = F(1) / std::sqrt(static_cast<F>(hd));
  const F* kg = k + group * hd;
  const F* vg = v + group * hd;
  F* dkg = dk + group * hd;
  F* dvg = dv + group * hd;
  for (int64_t p = 0; p < T; ++p)
    for (int64_t i = 0; i < hd; ++i) dkg[p * kv + i] = dvg[p * kv + i] = 0;
  for (int64_t h = group * per_group; h < (group + 1) * per_group; ++h)
    for (int64_t t = 0; t < T; ++t) {
      // Forward: s_p = scale q·k_p, P_p = exp(s_p - lse), o = sum_p P_p v_p.
      const F* qt = q + t * dim + h * hd;
      const F* dot_ = dout + t * dim + h * hd;
      const F l = lse[t * s.n_heads + h];
      // D = sum_p P_p (dout·v_p) = dout·o, the softmax-backward correction.
      const F d = dot(dot_, out + t * dim + h * hd, hd);
      F* dqt = dq + t * dim + h * hd;
      for (int64_t i = 0; i < hd; ++i) dqt[i] = 0;
      for (int64_t p = 0; p <= t; ++p) {
        const F prob = std::exp(dot(qt, kg + p * kv, hd) * scale - l);
        const F dprob = dot(dot_, vg + p * kv, hd);
        const F ds = prob * (dprob - d) * scale;  // d loss / d (q·k_p)
        const F* kp = kg + p * kv;
        F* dkp = dkg + p * kv;
        F* dvp = dvg + p * kv;
        for (int64_t i = 0; i < hd; ++i) {
          dqt[i] += ds * kp[i];
          dkp[i] += ds * qt[i];
          dvp[i] += prob * dot_[i];
        }
      }
    }
}

// ---------------------------------------------------------------------------------------------
// Blocked training attention on the GEMM core.

int64_t attention_scratch_floats(int64_t T, AttentionShape s) {
  return 2 * panel_floats(T, s.head_dim) + 2 * kAttentionBlock * T;
}

void attention_forward_group(float* out, float* lse, const float* q, const float* k, const float* v, float* scratch,
                             int64_t T, AttentionShape s, int64_t group) {
  const int64_t hd = s.head_dim, kv = s.n_kv_heads * hd;
  const int64_t per_group = s.n_heads / s.n_kv_heads;
  float* kp = scratch;                                  // keys in panels
  float* scores = scratch + 2 * panel_floats(T, hd);  // [block, keys]
  pack_panels(kp, k + group * hd, kv, T, hd);
  for (int64_t h = group * per_group; h < (group + 1) * per_group; ++h)
    attend_head_blocks(out, lse, q, kp, v + group * hd, kv, scores, T, 0, s, h);
}

void attention_backward_group(float* dq, float* dk, float* dv, const float* dout, const float* q, const float* k,
                              const float* v, const float* out, const float* lse, float* scratch, int64_t T,
                              AttentionShape s, int64_t group) {
  const int64_t hd = s.head_dim, dim = s.n_heads * hd, kv = s.n_kv_heads * hd;
  const int64_t per_group = s.n_heads / s.n_kv_heads;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  float* kp = scratch;                           // keys in panels
  float* vp = scratch + panel_floats(T, hd);     // values in panels
  float* probs = vp + panel_floats(T, hd);       // [block, keys]
  float* dprobs = probs + kAttentionBlock * T;   // [block, keys]
  pack_panels(kp, k + group * hd, kv, T, hd);
  pack_panels(vp, v + group * hd, kv, T, hd);
  float* dkg = dk + group * hd;
  float* dvg = dv + group * hd;
  zero_rows(dkg, kv, T, hd);
  zero_rows(dvg, kv, T, hd);
  for (int64_t h = group * per_group; h < (group + 1) * per_group; ++h)
    for (int64_t t0 = 0; t0 < T; t0 += kAttentionBlock) {
      const int64_t rows = std::min(kAttentionBlock, T - t0), keys = t0 + rows;
      const float* qb = q + t0 * dim + h * hd;
      const float* dob = dout + t0 * dim + h * hd;
      // Forward: S = scale · Q·Kᵀ, P = exp(S - lse) (recomputed, not stored).
      zero_rows(probs, keys, rows, keys);
      products_with_panels(probs, keys, {qb, dim, 1}, kp, rows, keys, hd, scale);
      softmax_rows(probs, keys, t0, rows, lse + t0 * s.n_heads + h, nullptr, s.n_heads);
      // dP = dO · Vᵀ; dS = P ⊙ (dP - rowsum(dO ⊙ O)) · scale
      zero_rows(dprobs, keys, rows, keys);
      products_with_panels(dprobs, keys, {dob, dim, 1}, vp, rows, keys, hd, 1.0f);
      for (int64_t r = 0; r < rows; ++r) {
        const float* o = out + (t0 + r) * dim + h * hd;
        float d = 0;
        for (int64_t i = 0; i < hd; ++i) d += dob[r * dim + i] * o[i];
        float* ds = dprobs + r * keys;
        const float* p = probs + r * keys;
        for (int64_t j = 0; j < keys; ++j) ds[j] = p[j] * (ds[j] - d) * scale;
      }
      // dQ = dS · K;  dK += dSᵀ · Q;  dV += Pᵀ · dO   (out = P · V)
      float* dqb = dq + t0 * dim + h * hd;
      zero_rows(dqb, dim, rows, hd);
      gemm_accumulate(dqb, dim, {dprobs, keys, 1}, k + group * hd, kv, rows, hd, keys, 1.0f);
      gemm_accumulate(dkg, kv, {dprobs, 1, keys}, qb, dim, keys, hd, rows, 1.0f);
      gemm_accumulate(dvg, kv, {probs, 1, keys}, dob, dim, keys, hd, rows, 1.0f);
    }
}

#define LIMARP_INSTANTIATE(F)                                                                                \
  template void attention_forward_group_reference<F>(F*, F*, const F*, const F*, const F*, F*, int64_t,         \
                                                     AttentionShape, int64_t);                               \
  template void attention_backward_group_reference<F>(F*, F*, F*, const F*, const F*, const F*, const F*,      \
                                                      const F*, const F*, int64_t, AttentionShape, int64_t);
LIMARP_INSTANTIATE(float)
LIMARP_INSTANTIATE(double)
#undef LIMARP_INSTANTIATE

}  // namespace limarp::kernels
