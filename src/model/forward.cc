#include "model/forward.h"

#include <algorithm>
#include <cstdlib>

#include "backend/split_kv_storage.h"
#include "model/llama_layer.h"

namespace limarp {

namespace {

// Workspace slots of the inference pass.
enum ForwardSlot : uint32_t { kSlotResidual = kForwardSlots, kSlotNormed, kSlotQuery, kSlotKey, kSlotValue, kSlotAttention, kSlotGate, kSlotUp, kSlotRotary, kSlotLogits };


}  // namespace

// Inference's side of the layer: per-sequence adapters on every projection, keys and values
// stored in each sequence's KV cache and attended over there, on the backend of the layer.
class Forward::Hooks final : public LayerHooks {
 public:
  Hooks(const LlamaModel& model, Forward& forward, std::span<BatchItem> batch, std::span<const int64_t> row_start)
      : model_(model), fwd_(forward), batch_(batch), row_start_(row_start) {}

  void project(float* y, const float* x, int64_t layer, Projection p) override {
    Backend& be = fwd_.backend_of(layer);
    const TensorView& w = model_.layer(layer).projection(p);
    be.matmul(y, x, w, row_start_.back());
    const int64_t n_in = w.cols(), n_out = w.rows();
    for (size_t i = 0; i < batch_.size(); ++i) {
      if (!batch_[i].adapter) continue;
      const int64_t r0 = row_start_[i], n = row_start_[i + 1] - r0;
      batch_[i].adapter->apply(layer, p, x + r0 * n_in, y + r0 * n_out, n, be);
    }
  }

  void attend(float* att, float*, const float* q, const float* k, const float* v, int64_t layer) override {
    Backend& be = fwd_.backend_of(layer);
    const LlamaConfig& c = model_.config();
    const int64_t dim = c.dim, kv = c.kv_dim();
    for (size_t i = 0; i < batch_.size(); ++i) {
      KvCache& cache = *batch_[i].cache;
      const int64_t r0 = row_start_[i], n = row_start_[i + 1] - r0, pos0 = cache.size();
      cache.store(layer, pos0, n, k + r0 * kv, v + r0 * kv);
      const auto [storage, local] = kv_part(cache.storage(), layer);
      be.attention_cached(att + r0 * dim, q + r0 * dim, *storage, local, n, pos0, {c.n_heads, c.n_kv_heads, c.head_dim()});
    }
  }

 private:
  const LlamaModel& model_;
  Forward& fwd_;
  std::span<BatchItem> batch_;
  std::span<const int64_t> row_start_;
};

Status Forward::eval(std::span<const int32_t> tokens, KvCache& cache, std::vector<float>& logits,
                     LogitsWanted wanted, const LinearAdapter* adapter) {
  BatchItem item{tokens, &cache, wanted, &logits, adapter};
  return eval(std::span<BatchItem>(&item, 1));
}

Forward::Forward(const LlamaModel& model, ThreadPool& pool) : Forward(model, pool, nullptr) {}

namespace {
// Whether a pass needs the CPU backend: without a device, with none of the layers on it, or
// with some (offload).
bool needs_cpu(const Backend* backend, int64_t layers, int64_t n_layers) {
  return !backend || layers == 0 || (layers > 0 && layers < n_layers);
}
}  // namespace

Forward::Forward(const LlamaModel& model, ThreadPool& pool, Backend* backend, int64_t backend_layers)
    : model_(model),
      owned_backend_(needs_cpu(backend, backend_layers, model.config().n_layers) ? std::make_unique<CpuBackend>(pool)
                                                                               : nullptr),
      backend_(backend && backend_layers != 0 ? *backend : *owned_backend_),
      backend_layers_(backend && backend_layers > 0 && backend_layers < model.config().n_layers
                          ? backend_layers
                          : model.config().n_layers),
      rope_freq_(model.config().rope_frequencies()) {
  set_profiling(std::getenv("LIMARP_PROFILE") != nullptr);
}

KvCache Forward::make_kv_cache(int64_t capacity, DType type) {
  const LlamaConfig& c = model_.config();
  const KvShape shape{c.n_layers, c.n_kv_heads, c.head_dim(), capacity, type};
  if (backend_layers_ >= c.n_layers) return KvCache(backend_.make_kv_storage(shape));
  KvShape first = shape, second = shape;
  first.n_layers = backend_layers_;
  second.n_layers = c.n_layers - backend_layers_;
  return KvCache(std::make_unique<SplitKvStorage>(shape, backend_layers_, backend_.make_kv_storage(first),
                                                  owned_backend_->make_kv_storage(second)));
}

Forward::Forward(const LlamaModel& model, Backend& backend)
    : model_(model), backend_(backend), backend_layers_(model.config().n_layers), rope_freq_(model.config().rope_frequencies()) {
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
  // One set of buffers per backend serves every layer: the residual is updated in place, and
  // buffers whose contents are no longer needed take the next intermediate (llama_layer.h).
  struct Buffers {
    float *x, *cs;
    LayerActivations a;
  };
  auto buffers = [&](Backend& be) {
    float* x = be.workspace(kSlotResidual, N * dim);
    float* xn = be.workspace(kSlotNormed, N * dim);
    float* gate = be.workspace(kSlotGate, N * hid);
    return Buffers{x, be.workspace(kSlotRotary, N * hd),
                   LayerActivations{.xn1 = xn,
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
                                    .h = gate}};
  };
  const bool offload = backend_layers_ < c.n_layers;
  const Buffers first = buffers(backend_);
  const Buffers second = offload ? buffers(*owned_backend_) : first;

  const RotaryTable rotary{rope_freq_.inv_freq.data(), hd, rope_freq_.mscale};
  for (size_t i = 0; i < batch.size(); ++i) {
    const TensorView* embd = batch[i].adapter ? batch[i].adapter->token_embedding() : nullptr;
    const int64_t r0 = row_start_[i], n = row_start_[i + 1] - r0;
    backend_.embed(first.x + r0 * dim, embd ? *embd : model_.weights().token_embd, batch[i].tokens.data(), n);
    backend_.rope_table(first.cs + r0 * hd, rotary, batch[i].cache->size(), n);
    if (offload) owned_backend_->rope_table(second.cs + r0 * hd, rotary, batch[i].cache->size(), n);
  }
  Hooks hooks(model_, *this, batch, row_start_);
  for (int64_t l = 0; l < c.n_layers; ++l) {
    // Under offload the residual crosses to the host once, before the first CPU layer.
    if (offload && l == backend_layers_) backend_.read_rows(second.x, first.x, N * dim);
    const Buffers& b = l < backend_layers_ ? first : second;
    llama_layer_forward(backend_of(l), c, model_.layer(l), l, b.x, b.x, b.a, b.cs, N, hooks);
  }
  for (auto& item : batch) item.cache->set_size(item.cache->size() + static_cast<int64_t>(item.tokens.size()));
  output(batch, offload ? second.x : first.x, backend_of(c.n_layers - 1));
  if (profiling_) {
    ++calls_;
    tokens_ += N;
  }
  return {};
}

// Logits only for the rows someone wants: usually one per sequence. Sequences whose adapter
// replaces the output matrix are multiplied separately.
void Forward::output(std::span<BatchItem> batch, const float* x, Backend& be) {
  const LlamaConfig& c = model_.config();
  const int64_t dim = c.dim, V = c.vocab_size;
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
