#include "model/forward.h"

#include <algorithm>
#include <cstdlib>

#include "model/llama_layer.h"

namespace limarp {

namespace {

// Workspace slots of the inference pass.
enum ForwardSlot : uint32_t { kSlotResidual = kForwardSlots, kSlotNormed, kSlotQuery, kSlotKey, kSlotValue, kSlotAttention, kSlotGate, kSlotUp, kSlotRotary, kSlotLogits };


}  // namespace

// Inference's side of the layer: per-sequence adapters on every projection, keys and values
// stored in each sequence's KV cache and attended over there.
class Forward::Hooks final : public LayerHooks {
 public:
  Hooks(const LlamaModel& model, Backend& backend, std::span<BatchItem> batch, std::span<const int64_t> row_start)
      : model_(model), be_(backend), batch_(batch), row_start_(row_start) {}

  void project(float* y, const float* x, int64_t layer, Projection p) override {
    const TensorView& w = model_.layer(layer).projection(p);
    be_.matmul(y, x, w, row_start_.back());
    const int64_t n_in = w.cols(), n_out = w.rows();
    for (size_t i = 0; i < batch_.size(); ++i) {
      if (!batch_[i].adapter) continue;
      const int64_t r0 = row_start_[i], n = row_start_[i + 1] - r0;
      batch_[i].adapter->apply(layer, p, x + r0 * n_in, y + r0 * n_out, n, be_);
    }
  }

  void attend(float* att, float*, const float* q, const float* k, const float* v, int64_t layer) override {
    const LlamaConfig& c = model_.config();
    const int64_t dim = c.dim, kv = c.kv_dim();
    for (size_t i = 0; i < batch_.size(); ++i) {
      KvCache& cache = *batch_[i].cache;
      const int64_t r0 = row_start_[i], n = row_start_[i + 1] - r0, pos0 = cache.size();
      cache.store(layer, pos0, n, k + r0 * kv, v + r0 * kv);
      be_.attention_cached(att + r0 * dim, q + r0 * dim, cache.storage(), layer, n, pos0,
                           {c.n_heads, c.n_kv_heads, c.head_dim()});
    }
  }

 private:
  const LlamaModel& model_;
  Backend& be_;
  std::span<BatchItem> batch_;
  std::span<const int64_t> row_start_;
};

Status Forward::eval(std::span<const int32_t> tokens, KvCache& cache, std::vector<float>& logits,
                     LogitsWanted wanted, const LinearAdapter* adapter) {
  BatchItem item{tokens, &cache, wanted, &logits, adapter};
  return eval(std::span<BatchItem>(&item, 1));
}

Forward::Forward(const LlamaModel& model, ThreadPool& pool)
    : model_(model),
      owned_backend_(std::make_unique<CpuBackend>(pool)),
      backend_(*owned_backend_),
      rope_freq_(model.config().rope_frequencies()) {
  set_profiling(std::getenv("LIMARP_PROFILE") != nullptr);
}

Forward::Forward(const LlamaModel& model, ThreadPool& pool, Backend* backend)
    : model_(model),
      owned_backend_(backend ? nullptr : std::make_unique<CpuBackend>(pool)),
      backend_(backend ? *backend : *owned_backend_),
      rope_freq_(model.config().rope_frequencies()) {
  set_profiling(std::getenv("LIMARP_PROFILE") != nullptr);
}

Forward::Forward(const LlamaModel& model, Backend& backend)
    : model_(model), backend_(backend), rope_freq_(model.config().rope_frequencies()) {
  set_profiling(std::getenv("LIMARP_PROFILE") != nullptr);
}

void Forward::set_profiling(bool on) {
  profiling_ = on;
  backend_.set_profiling(on);
}

std::string Forward::Profile::describe() const {
  const double total = ops.total();
  auto pct = [&](double v) { return total > 0 ? 100.0 * v / total : 0.0; };
  return fmt::format("forward profile: {} calls, {} tokens, {:.0f} ms: matmul {:.0f}%, attention {:.0f}%, "
                     "norms {:.0f}%, rope {:.0f}%, swiglu+residual {:.0f}%, embedding {:.0f}%",
                     calls, tokens, total, pct(ops.matmul), pct(ops.attention), pct(ops.norm), pct(ops.rope),
                     pct(ops.elementwise), pct(ops.embed));
}

Status Forward::check(std::span<BatchItem> batch) {
  const LlamaConfig& c = model_.config();
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
  return {};
}

Status Forward::eval(std::span<BatchItem> batch) {
  LIMARP_TRY(check(batch));
  const LlamaConfig& c = model_.config();
  const int64_t dim = c.dim, kv = c.kv_dim(), hd = c.head_dim(), hid = c.hidden_dim;
  const int64_t N = row_start_.back();
  Backend& be = backend_;
  float* x = be.workspace(kSlotResidual, N * dim);
  float* xn = be.workspace(kSlotNormed, N * dim);
  float* gate = be.workspace(kSlotGate, N * hid);
  float* cs = be.workspace(kSlotRotary, N * hd);
  // One set of buffers serves every layer: the residual is updated in place, and buffers whose
  // contents are no longer needed take the next intermediate (llama_layer.h).
  const LayerActivations a{.xn1 = xn,
                           .q = be.workspace(kSlotQuery, N * dim),
                           .k = be.workspace(kSlotKey, N * kv),
                           .v = be.workspace(kSlotValue, N * kv),
                           .att = be.workspace(kSlotAttention, N * dim),
                           .lse = nullptr,
                           .proj = xn,
                           .x_mid = x,
                           .xn2 = xn,
                           .gate = gate,
                           .up = be.workspace(kSlotUp, N * hid),
                           .h = gate};

  const RotaryTable rotary{rope_freq_.inv_freq.data(), hd, rope_freq_.mscale};
  for (size_t i = 0; i < batch.size(); ++i) {
    const TensorView* embd = batch[i].adapter ? batch[i].adapter->token_embedding() : nullptr;
    const int64_t r0 = row_start_[i], n = row_start_[i + 1] - r0;
    be.embed(x + r0 * dim, embd ? *embd : model_.weights().token_embd, batch[i].tokens.data(), n);
    be.rope_table(cs + r0 * hd, rotary, batch[i].cache->size(), n);
  }
  Hooks hooks(model_, be, batch, row_start_);
  for (int64_t l = 0; l < c.n_layers; ++l) llama_layer_forward(be, c, model_.layer(l), l, x, x, a, cs, N, hooks);
  for (auto& item : batch) item.cache->set_size(item.cache->size() + static_cast<int64_t>(item.tokens.size()));
  output(batch, x);
  if (profiling_) {
    ++calls_;
    tokens_ += N;
  }
  return {};
}

// Logits only for the rows someone wants: usually one per sequence. Sequences whose adapter
// replaces the output matrix are multiplied separately.
void Forward::output(std::span<BatchItem> batch, const float* x) {
  const LlamaConfig& c = model_.config();
  const int64_t dim = c.dim, V = c.vocab_size;
  Backend& be = backend_;
  auto output_of = [&](const BatchItem& item) {
    return item.adapter && item.adapter->output() ? item.adapter->output() : &model_.weights().output;
  };
  std::vector<const TensorView*>& outputs = output_weights_;
  outputs.clear();
  for (const auto& item : batch)
    if (std::find(outputs.begin(), outputs.end(), output_of(item)) == outputs.end()) outputs.push_back(output_of(item));
  for (const TensorView* out_w : outputs) {
    output_rows_.clear();
    for (size_t i = 0; i < batch.size(); ++i) {
      if (output_of(batch[i]) != out_w || batch[i].logits_wanted == LogitsWanted::kNone || !batch[i].logits) continue;
      const int64_t first = batch[i].logits_wanted == LogitsWanted::kAll ? row_start_[i] : row_start_[i + 1] - 1;
      for (int64_t r = first; r < row_start_[i + 1]; ++r) output_rows_.push_back(r);
    }
    if (output_rows_.empty()) continue;
    const auto R = static_cast<int64_t>(output_rows_.size());
    float* xn = be.workspace(kSlotNormed, R * dim);
    // Rows of one sequence are consecutive: normalise each run of them in one call.
    for (int64_t j = 0; j < R;) {
      int64_t run = 1;
      while (j + run < R && output_rows_[static_cast<size_t>(j + run)] == output_rows_[static_cast<size_t>(j)] + run) ++run;
      be.rmsnorm(xn + j * dim, x + output_rows_[static_cast<size_t>(j)] * dim, model_.weights().output_norm.f32(), run,
                 dim, c.norm_eps);
      j += run;
    }
    float* logits = be.workspace(kSlotLogits, R * V);
    be.matmul(logits, xn, *out_w, R);
    int64_t j = 0;
    for (size_t i = 0; i < batch.size(); ++i) {
      if (output_of(batch[i]) != out_w || batch[i].logits_wanted == LogitsWanted::kNone || !batch[i].logits) continue;
      const int64_t n = batch[i].logits_wanted == LogitsWanted::kAll ? row_start_[i + 1] - row_start_[i] : 1;
      batch[i].logits->resize(static_cast<size_t>(n * V));
      be.read_rows(batch[i].logits->data(), logits + j * V, n * V);
      j += n;
    }
  }
}

}  // namespace limarp
