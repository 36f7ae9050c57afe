#include "model/forward.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>

#include "kernels/attention.h"
#include "kernels/matmul.h"
#include "kernels/ops.h"
#include "kernels/rope.h"

namespace limarp {

Status Forward::eval(std::span<const int32_t> tokens, KvCache& cache, std::vector<float>& logits,
                     LogitsWanted wanted, const LinearAdapter* adapter) {
  BatchItem item{tokens, &cache, wanted, &logits, adapter};
  return eval(std::span<BatchItem>(&item, 1));
}

void Forward::project(float* y, const float* x, int64_t layer, Projection p, std::span<BatchItem> batch) {
  const TensorView& w = model_.layer(layer).projection(p);
  const int64_t rows = row_start_.back();
  kernels::matmul(y, x, w, rows, pool_);
  const int64_t n_in = w.cols(), n_out = w.rows();
  for (size_t i = 0; i < batch.size(); ++i) {
    if (!batch[i].adapter) continue;
    const int64_t r0 = row_start_[i], n = row_start_[i + 1] - r0;
    batch[i].adapter->apply(layer, p, x + r0 * n_in, y + r0 * n_out, n, pool_);
  }
}

namespace {

// Adds the time since `start` to `slot` when profiling, and restarts the clock.
class StageTimer {
 public:
  explicit StageTimer(bool on) : on_(on), start_(std::chrono::steady_clock::now()) {}
  void lap(double& slot) {
    if (!on_) return;
    const auto now = std::chrono::steady_clock::now();
    slot += std::chrono::duration<double, std::milli>(now - start_).count();
    start_ = now;
  }

 private:
  bool on_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace

Forward::Forward(const LlamaModel& model, ThreadPool& pool)
    : model_(model),
      pool_(pool),
      rope_freq_(model.config().rope_frequencies()),
      profiling_(std::getenv("LIMARP_PROFILE") != nullptr) {}

std::string Forward::Profile::describe() const {
  const double total = embed + norm + matmul + rope + attention + ffn_act + output;
  auto pct = [&](double v) { return total > 0 ? 100.0 * v / total : 0.0; };
  return fmt::format("forward profile: {} calls, {} tokens, {:.0f} ms: matmul {:.0f}%, attention {:.0f}%, "
                     "norms {:.0f}%, rope {:.0f}%, swiglu+residual {:.0f}%, output {:.0f}%, embedding {:.0f}%",
                     calls, tokens, total, pct(matmul), pct(attention), pct(norm), pct(rope), pct(ffn_act),
                     pct(output), pct(embed));
}

Status Forward::eval(std::span<BatchItem> batch) {
  const LlamaConfig& c = model_.config();
  const int64_t dim = c.dim, kv = c.kv_dim(), hd = c.head_dim(), hid = c.hidden_dim;

  row_start_.assign(1, 0);
  for (const auto& item : batch) {
    if (!item.cache) return make_error("forward: batch item without a KV cache");
    if (item.tokens.empty()) return make_error("forward: batch item without tokens");
    if (item.cache->size() + static_cast<int64_t>(item.tokens.size()) > item.cache->capacity())
      return make_error("context full: {} cached + {} new tokens exceed the context of {}", item.cache->size(),
                        item.tokens.size(), item.cache->capacity());
    for (int32_t t : item.tokens)
      if (t < 0 || t >= c.vocab_size) return make_error("token id {} is outside the vocabulary (0..{})", t, c.vocab_size - 1);
    row_start_.push_back(row_start_.back() + static_cast<int64_t>(item.tokens.size()));
  }
  const int64_t N = row_start_.back();
  auto sized = [](std::vector<float>& v, int64_t n) {
    if (v.size() < static_cast<size_t>(n)) v.resize(static_cast<size_t>(n));
    return v.data();
  };
  float* x = sized(x_, N * dim);
  float* xn = sized(xn_, N * dim);
  float* q = sized(q_, N * dim);
  float* k = sized(k_, N * kv);
  float* v = sized(v_, N * kv);
  float* att = sized(att_, N * dim);
  float* gate = sized(gate_, N * hid);
  float* up = sized(up_, N * hid);
  float* cs = sized(rope_, N * hd);

  StageTimer timer(profiling_);
  for (size_t i = 0; i < batch.size(); ++i) {
    const TensorView* embd = batch[i].adapter ? batch[i].adapter->token_embedding() : nullptr;
    for (size_t t = 0; t < batch[i].tokens.size(); ++t) {
      const int64_t r = row_start_[i] + static_cast<int64_t>(t);
      kernels::weight_row(x + r * dim, embd ? *embd : model_.weights().token_embd, batch[i].tokens[t]);
      kernels::rope_cos_sin(cs + r * hd, batch[i].cache->size() + static_cast<int64_t>(t), rope_freq_.inv_freq.data(),
                            hd, rope_freq_.mscale);
    }
  }

  timer.lap(profile_.embed);
  for (int64_t l = 0; l < c.n_layers; ++l) {
    const LayerWeights& w = model_.layer(l);
    const auto* attn_norm = static_cast<const float*>(w.attn_norm.data);
    for (int64_t r = 0; r < N; ++r) kernels::rmsnorm(xn + r * dim, x + r * dim, attn_norm, dim, c.norm_eps);
    timer.lap(profile_.norm);
    project(q, xn, l, Projection::kQ, batch);
    project(k, xn, l, Projection::kK, batch);
    project(v, xn, l, Projection::kV, batch);
    timer.lap(profile_.matmul);
    for (int64_t r = 0; r < N; ++r) {
      kernels::rope_apply(q + r * dim, cs + r * hd, c.n_heads, hd, c.rope_layout);
      kernels::rope_apply(k + r * kv, cs + r * hd, c.n_kv_heads, hd, c.rope_layout);
    }
    timer.lap(profile_.rope);
    for (size_t i = 0; i < batch.size(); ++i) {
      KvCache& cache = *batch[i].cache;
      const int64_t r0 = row_start_[i], n = row_start_[i + 1] - r0, pos0 = cache.size();
      cache.store(l, pos0, n, k + r0 * kv, v + r0 * kv);
      kernels::attention(att + r0 * dim, q + r0 * dim, cache.keys(l), cache.values(l), n, pos0,
                         {c.n_heads, c.n_kv_heads, hd}, pool_);
    }
    timer.lap(profile_.attention);
    project(xn, att, l, Projection::kO, batch);
    timer.lap(profile_.matmul);
    kernels::add_inplace(x, xn, N * dim);

    const auto* ffn_norm = static_cast<const float*>(w.ffn_norm.data);
    for (int64_t r = 0; r < N; ++r) kernels::rmsnorm(xn + r * dim, x + r * dim, ffn_norm, dim, c.norm_eps);
    timer.lap(profile_.norm);
    project(gate, xn, l, Projection::kGate, batch);
    project(up, xn, l, Projection::kUp, batch);
    timer.lap(profile_.matmul);
    kernels::swiglu(gate, gate, up, N * hid);
    timer.lap(profile_.ffn_act);
    project(xn, gate, l, Projection::kDown, batch);
    timer.lap(profile_.matmul);
    kernels::add_inplace(x, xn, N * dim);
    timer.lap(profile_.ffn_act);
  }
  for (size_t i = 0; i < batch.size(); ++i)
    batch[i].cache->set_size(batch[i].cache->size() + static_cast<int64_t>(batch[i].tokens.size()));

  // Output only for the rows someone wants: usually one per sequence. Sequences whose adapter
  // replaces the output matrix are multiplied separately.
  const auto* out_norm = static_cast<const float*>(model_.weights().output_norm.data);
  const int64_t V = c.vocab_size;
  std::vector<const TensorView*> outputs;
  for (const auto& item : batch) {
    const TensorView* o = item.adapter && item.adapter->output() ? item.adapter->output() : &model_.weights().output;
    if (std::find(outputs.begin(), outputs.end(), o) == outputs.end()) outputs.push_back(o);
  }
  for (const TensorView* out_w : outputs) {
    std::vector<int64_t> rows;
    std::vector<size_t> owners;
    for (size_t i = 0; i < batch.size(); ++i) {
      const TensorView* o = batch[i].adapter && batch[i].adapter->output() ? batch[i].adapter->output()
                                                                            : &model_.weights().output;
      if (o != out_w || batch[i].logits_wanted == LogitsWanted::kNone || !batch[i].logits) continue;
      const int64_t first = batch[i].logits_wanted == LogitsWanted::kAll ? row_start_[i] : row_start_[i + 1] - 1;
      for (int64_t r = first; r < row_start_[i + 1]; ++r) rows.push_back(r);
      owners.push_back(i);
    }
    if (rows.empty()) continue;
    const int64_t R = static_cast<int64_t>(rows.size());
    for (int64_t j = 0; j < R; ++j) kernels::rmsnorm(xn + j * dim, x + rows[j] * dim, out_norm, dim, c.norm_eps);
    std::vector<float> all(static_cast<size_t>(R * V));
    kernels::matmul(all.data(), xn, *out_w, R, pool_);
    int64_t j = 0;
    for (size_t i : owners) {
      const int64_t n = batch[i].logits_wanted == LogitsWanted::kAll ? row_start_[i + 1] - row_start_[i] : 1;
      batch[i].logits->assign(all.begin() + j * V, all.begin() + (j + n) * V);
      j += n;
    }
  }
  timer.lap(profile_.output);
  if (profiling_) {
    ++profile_.calls;
    profile_.tokens += N;
  }
  return {};
}

}  // namespace limarp
