#include "model/training_pass.h"

#include <algorithm>
#include <cstring>

#include "base/half.h"
#include "kernels/cross_entropy.h"
#include "model/llama_layer.h"

namespace limarp {

int64_t TrainBatch::loss_tokens() const {
  return std::count_if(targets.begin(), targets.end(), [](int32_t t) { return t >= 0; });
}

namespace {

// Per-row extras are stored only once some sequence has them; earlier rows get `fill`.
template <typename T>
void append_extra(std::vector<T>& all, size_t rows_before, std::span<const T> added, size_t n, T fill) {
  if (!added.empty() && all.empty()) all.assign(rows_before, fill);
  if (!added.empty()) all.insert(all.end(), added.begin(), added.end());
  else if (!all.empty()) all.insert(all.end(), n, fill);
}

}  // namespace

void TrainBatch::add_sequence(std::span<const int32_t> t, std::span<const int32_t> y, std::span<const float> w,
                              std::span<const StopChoice> c) {
  LIMARP_CHECK(y.size() == t.size() && (w.empty() || w.size() == t.size()) && (c.empty() || c.size() == t.size()));
  const size_t before = tokens.size();
  sequences.push_back({rows(), static_cast<int64_t>(t.size())});
  tokens.insert(tokens.end(), t.begin(), t.end());
  targets.insert(targets.end(), y.begin(), y.end());
  append_extra(weights, before, w, t.size(), 1.0f);
  append_extra(choices, before, c, t.size(), StopChoice{});
}

void TrainBatch::clear() {
  tokens.clear();
  targets.clear();
  weights.clear();
  choices.clear();
  sequences.clear();
}

namespace {

// Grow-only sizing: buffers keep their capacity across micro-batches of different sizes.
float* sized(std::vector<float>& v, int64_t n) {
  if (v.size() < static_cast<size_t>(n)) v.resize(static_cast<size_t>(n));
  return v.data();
}

void zero(float* p, int64_t n) { std::memset(p, 0, sizeof(float) * static_cast<size_t>(n)); }

uint64_t mix(uint64_t a, uint64_t b) {
  uint64_t z = a + (b + 1) * 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}


// Rows per task for row-wise kernels: enough work to be worth handing to another thread.
constexpr int64_t kRowGrain = 32;

}  // namespace

TrainingPass::TrainingPass(TrainableModel& model, ThreadPool& pool, TrainingPassOptions options)
    : model_(model),
      pool_(pool),
      backend_(std::make_unique<CpuBackend>(pool, options.precision == TrainPrecision::kBF16
                                                      ? kernels::ProductPrecision::kBF16
                                                      : kernels::ProductPrecision::kF32)),
      options_(options),
      rope_freq_(model.config().rope_frequencies()) {
  if (options_.classifier_rows <= 0) options_.classifier_rows = default_classifier_rows(model.config().vocab_size);
  const int64_t L = model_.config().n_layers;
  x_in_.resize(static_cast<size_t>(L + 1));
  acts_.resize(options_.checkpointing == Checkpointing::kPerLayer ? 1 : static_cast<size_t>(L));
}

TrainingPass::LayerActs& TrainingPass::acts_for(int64_t layer) {
  return acts_.size() == 1 ? acts_[0] : acts_[static_cast<size_t>(layer)];
}

template <typename Fn>
void TrainingPass::for_rows(int64_t N, bool parallel, const Fn& fn) {
  if (!parallel || N < 2 * kRowGrain) {
    for (int64_t r = 0; r < N; ++r) fn(r);
    return;
  }
  pool_.parallel_for(N, kRowGrain, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) fn(r);
  });
}

void TrainingPass::size_buffers(int64_t N) {
  const LlamaConfig& c = model_.config();
  const int64_t D = c.dim, KV = c.kv_dim(), H = c.hidden_dim, NH = c.n_heads;
  for (auto& x : x_in_) sized(x, N * D);
  const int64_t r = model_.max_lora_rank();
  for (int64_t l = 0; l < static_cast<int64_t>(acts_.size()); ++l) {
    LayerActs& a = acts_[static_cast<size_t>(l)];
    sized(a.xn1, N * D), sized(a.q, N * D), sized(a.k, N * KV), sized(a.v, N * KV), sized(a.att, N * D);
    sized(a.lse, N * NH), sized(a.x_mid, N * D), sized(a.xn2, N * D);
    sized(a.gate, N * H), sized(a.up, N * H), sized(a.h, N * H);
    for (Projection p : kAllProjections) {
      // Shared activations (checkpointing) serve every layer: size for the largest rank.
      const LoraSlot& s = model_.lora_slot(acts_.size() == 1 ? 0 : l, p);
      const int64_t rank = acts_.size() == 1 ? r : (s.active() ? s.a->value.shape()[0] : 0);
      if (rank > 0) sized(a.ax[static_cast<size_t>(p)], N * rank);
    }
  }
  sized(cos_sin_, N * c.head_dim());
  sized(xn_final_, N * D), sized(dxn_final_, N * D), sized(losses_, N), sized(dloss_, N);
  sized(logits_, std::min(N, options_.classifier_rows) * c.vocab_size);
  sized(tmp_, N * D), sized(dx_, N * D), sized(dxn_, N * D), sized(dq_, N * D), sized(dk_, N * KV),
      sized(dv_, N * KV), sized(datt_, N * D), sized(dh_, N * H), sized(dgate_, N * H), sized(dup_, N * H);
  if (r > 0) {
    const int64_t widest = std::max(D, H);
    if (model_.lora_dropout() > 0) {
      sized(lora_xd_, N * widest);
      if (lora_keep_.size() < static_cast<size_t>(N * widest)) lora_keep_.resize(static_cast<size_t>(N * widest));
    }
    sized(lora_dax_, N * r);
  }
}

uint64_t TrainingPass::buffer_bytes() const {
  uint64_t n = 0;
  for (const auto& x : x_in_) n += x.capacity();
  for (const auto& a : acts_) {
    for (const auto* v : {&a.xn1, &a.q, &a.k, &a.v, &a.att, &a.lse, &a.x_mid, &a.xn2, &a.gate, &a.up, &a.h})
      n += v->capacity();
    for (const auto& v : a.ax) n += v.capacity();
  }
  for (const auto* v : {&cos_sin_, &xn_final_, &dxn_final_, &logits_, &losses_, &dloss_, &tmp_, &dx_, &dxn_, &dq_,
                        &dk_, &dv_, &datt_, &dh_, &dgate_, &dup_, &lora_xd_, &lora_dax_})
    n += v->capacity();
  return n * sizeof(float) + lora_keep_.capacity();
}

int64_t default_classifier_rows(int64_t vocab_size) {
  constexpr int64_t kLogitsBytes = int64_t{128} << 20;
  return std::max<int64_t>(256, kLogitsBytes / (static_cast<int64_t>(sizeof(float)) * std::max<int64_t>(1, vocab_size)));
}

uint64_t TrainingPass::scratch_bytes() const { return backend_->workspace_bytes(); }

uint64_t TrainingPass::buffer_bytes_for(const LlamaConfig& c, const PassBufferShape& s) {
  const uint64_t N = static_cast<uint64_t>(s.rows), D = static_cast<uint64_t>(c.dim),
                 KV = static_cast<uint64_t>(c.kv_dim()), H = static_cast<uint64_t>(c.hidden_dim),
                 NH = static_cast<uint64_t>(c.n_heads), L = static_cast<uint64_t>(c.n_layers),
                 V = static_cast<uint64_t>(c.vocab_size), r = static_cast<uint64_t>(s.lora_rank);
  const uint64_t layer_sets = s.checkpointing == Checkpointing::kPerLayer ? 1 : L;
  uint64_t floats = (L + 1) * N * D;                                                  // layer inputs
  floats += layer_sets * N * (5 * D + 2 * KV + NH + 3 * H + r * static_cast<uint64_t>(s.lora_targets));
  floats += N * static_cast<uint64_t>(c.head_dim()) + 2 * N * D + 2 * N;              // rope, final norm, losses
  const int64_t chunk = s.classifier_rows > 0 ? s.classifier_rows : default_classifier_rows(c.vocab_size);
  floats += std::min(N, static_cast<uint64_t>(chunk)) * V;                            // logits chunk
  floats += N * (5 * D + 2 * KV + 3 * H);                                             // backward buffers
  if (r > 0) floats += (s.lora_dropout ? N * std::max(D, H) : 0) + N * r;             // LoRA scratch
  const uint64_t mask_bytes = r > 0 && s.lora_dropout ? N * std::max(D, H) : 0;        // dropout mask
  return floats * sizeof(float) + mask_bytes;
}

kernels::Dropout TrainingPass::dropout_for(int64_t l, Projection p, PassMode mode) const {
  if (mode == PassMode::kEval || model_.lora_dropout() <= 0) return {};
  // One independent stream per (micro-batch seed, layer, projection): PEFT gives every
  // projection its own dropout module.
  return {model_.lora_dropout(), mix(seed_, static_cast<uint64_t>(l * 7 + static_cast<int64_t>(p)))};
}

kernels::LoraScratch TrainingPass::lora_scratch() {
  return {lora_xd_.data(), lora_dax_.data(), lora_keep_.data()};
}

kernels::LoraFactors TrainingPass::factors_of(int64_t l, Projection p) const {
  const LoraSlot& s = model_.lora_slot(l, p);
  const Shape& a = s.a->value.shape();
  const Shape& b = s.b->value.shape();
  if (options_.precision == TrainPrecision::kBF16) {
    const auto& r = rounded_[static_cast<size_t>(l * 7 + static_cast<int64_t>(p))];
    return {r.first.data(), r.second.data(), a[0], a[1], b[0], s.scale};
  }
  return {s.a->value.f32(), s.b->value.f32(), a[0], a[1], b[0], s.scale};
}

void TrainingPass::round_lora_factors() {
  const int64_t L = model_.config().n_layers;
  rounded_.resize(static_cast<size_t>(L * 7));
  auto round = [](std::vector<float>& dst, const Tensor& src) {
    const int64_t n = src.elements();
    const float* v = src.f32();
    dst.resize(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) dst[static_cast<size_t>(i)] = bf16_to_f32(f32_to_bf16(v[i]));
  };
  for (int64_t l = 0; l < L; ++l)
    for (Projection p : kAllProjections) {
      const LoraSlot& s = model_.lora_slot(l, p);
      if (!s.active()) continue;
      auto& r = rounded_[static_cast<size_t>(l * 7 + static_cast<int64_t>(p))];
      round(r.first, s.a->value);
      round(r.second, s.b->value);
    }
}

// ---------------------------------------------------------------------------------------------
// Forward

// Training's side of the layer (model/llama_layer.h): trained LoRA factors with dropout on the
// projections, recording A·drop(x) for the backward pass; attention within each sequence of
// the batch; and the backward twins of both.
class TrainingPass::Hooks final : public LayerHooks, public LayerBackwardHooks {
 public:
  Hooks(TrainingPass& pass, LayerActs& acts, const TrainBatch& batch, PassMode mode)
      : pass_(pass), acts_(acts), batch_(batch), mode_(mode) {}

  void project(float* y, const float* x, int64_t l, Projection p) override {
    Backend& be = *pass_.backend_;
    be.matmul(y, x, pass_.weight(l, p), batch_.rows());  // y = x · Wᵀ
    if (!pass_.model_.lora_slot(l, p).active()) return;
    be.lora(y, acts_.ax[static_cast<size_t>(p)].data(), x, pass_.factors_of(l, p), pass_.dropout_for(l, p, mode_),
            batch_.rows(), pass_.lora_scratch());  // y += scale · B·A·drop(x)
  }

  void attend(float* att, float* lse, const float* q, const float* k, const float* v, int64_t) override {
    pass_.backend_->attention_causal(att, lse, q, k, v, batch_.sequences, pass_.attention_shape());
  }

  void project_backward(float* dx, const float* dy, const float* x, int64_t l, Projection p) override {
    // Forward: y = x · Wᵀ (+ scale · B·A·drop(x)).
    Backend& be = *pass_.backend_;
    const TensorView& w = pass_.weight(l, p);
    const int64_t N = batch_.rows();
    if (dx) be.matmul_backward_input(dx, dy, w, N);  // dx += dy · W
    TrainableModel& m = pass_.model_;
    if (m.is_full()) {
      Parameter* param = m.dense()->layers[static_cast<size_t>(l)].projection[static_cast<size_t>(p)];
      be.matmul_backward_weight(param->grad.f32(), dy, x, N, w.rows(), w.cols());  // dW += dyᵀ · x
    }
    const LoraSlot& s = m.lora_slot(l, p);
    if (!s.active()) return;
    be.lora_backward(dx, s.a->grad.f32(), s.b->grad.f32(), dy, x, acts_.ax[static_cast<size_t>(p)].data(),
                     pass_.factors_of(l, p), pass_.dropout_for(l, p, PassMode::kTrain), N, pass_.lora_scratch());
  }

  void attend_backward(float* dq, float* dk, float* dv, const float* datt, const LayerActivations& a,
                       int64_t) override {
    pass_.backend_->attention_causal_backward(dq, dk, dv, datt, a.q, a.k, a.v, a.att, a.lse, batch_.sequences,
                                              pass_.attention_shape());
  }

 private:
  TrainingPass& pass_;
  LayerActs& acts_;
  const TrainBatch& batch_;
  PassMode mode_;
};

const TensorView& TrainingPass::weight(int64_t l, Projection p) const {
  return model_.weights().layers[static_cast<size_t>(l)].projection(p);
}

kernels::AttentionShape TrainingPass::attention_shape() const {
  const LlamaConfig& c = model_.config();
  return {c.n_heads, c.n_kv_heads, c.head_dim()};
}

LayerActivations TrainingPass::activations(LayerActs& a) {
  return {.xn1 = a.xn1.data(),
          .q = a.q.data(),
          .k = a.k.data(),
          .v = a.v.data(),
          .att = a.att.data(),
          .lse = a.lse.data(),
          .proj = tmp_.data(),
          .x_mid = a.x_mid.data(),
          .xn2 = a.xn2.data(),
          .gate = a.gate.data(),
          .up = a.up.data(),
          .h = a.h.data()};
}

void TrainingPass::layer_forward(int64_t l, LayerActs& a, const float* x, float* x_out, const TrainBatch& batch,
                                 PassMode mode) {
  Hooks hooks(*this, a, batch, mode);
  llama_layer_forward(*backend_, model_.config(), model_.weights().layers[static_cast<size_t>(l)], l, x, x_out,
                      activations(a), cos_sin_.data(), batch.rows(), hooks);
}

double TrainingPass::classifier(const TrainBatch& batch, PassMode mode, float grad_scale) {
  const LlamaConfig& c = model_.config();
  const int64_t N = batch.rows(), D = c.dim, V = c.vocab_size;
  const TensorView& w_out = model_.weights().output;
  const bool train = mode == PassMode::kTrain;
  if (train) zero(dxn_final_.data(), N * D);
  Parameter* dense_out = model_.is_full() ? model_.dense()->output : nullptr;
  double total = 0;
  for (int64_t r0 = 0; r0 < N; r0 += options_.classifier_rows) {
    const int64_t rows = std::min(options_.classifier_rows, N - r0);
    const int32_t* targets = &batch.targets[static_cast<size_t>(r0)];
    float* logits = logits_.data();
    backend_->matmul(logits, &xn_final_[r0 * D], w_out, rows);  // logits = xn · Woutᵀ
    for_rows(rows, true, [&](int64_t r) {
      kernels::cross_entropy_forward(&losses_[r0 + r], logits + r * V, targets + r, 1, V);
    });
    for (int64_t r = 0; r < rows; ++r) total += losses_[r0 + r];
    if (!train) continue;
    // Fused classifier backward (llm.c): the loss gradient is known now, so the logits are
    // turned into their gradient in place and never stored.
    for (int64_t r = 0; r < rows; ++r) dloss_[r0 + r] = targets[r] >= 0 ? grad_scale * batch.weight(r0 + r) : 0.0f;
    for_rows(rows, true, [&](int64_t r) {
      float* row = logits + r * V;
      const StopChoice choice = batch.choice(r0 + r);
      if (choice.stop >= 0 && targets[r] >= 0)
        kernels::stop_choice_backward(row, row, targets[r], choice.stop, dloss_[r0 + r], grad_scale * choice.weight, V);
      else
        kernels::cross_entropy_backward(row, row, targets + r, &dloss_[r0 + r], 1, V);
    });
    backend_->matmul_backward_input(&dxn_final_[r0 * D], logits, w_out, rows);  // dxn = dlogits · Wout
    if (dense_out) backend_->matmul_backward_weight(dense_out->grad.f32(), logits, &xn_final_[r0 * D], rows, V, D);
  }
  return total;
}

double TrainingPass::forward(const TrainBatch& batch, PassMode mode, float grad_scale, uint64_t dropout_seed) {
  const LlamaConfig& c = model_.config();
  const int64_t N = batch.rows(), D = c.dim, hd = c.head_dim(), L = c.n_layers;
  LIMARP_CHECK(static_cast<int64_t>(batch.targets.size()) == N);
  seed_ = dropout_seed;
  n_rows_ = N;
  size_buffers(N);
  if (options_.precision == TrainPrecision::kBF16) round_lora_factors();
  const RotaryTable rotary{rope_freq_.inv_freq.data(), hd, rope_freq_.mscale};
  for (const SequenceSpan& s : batch.sequences) backend_->rope_table(&cos_sin_[s.start * hd], rotary, 0, s.length);
  backend_->embed(x_in_[0].data(), model_.weights().token_embd, batch.tokens.data(), N);
  for (int64_t l = 0; l < L; ++l)
    layer_forward(l, acts_for(l), x_in_[static_cast<size_t>(l)].data(), x_in_[static_cast<size_t>(l + 1)].data(), batch,
                  mode);
  backend_->rmsnorm(xn_final_.data(), x_in_[static_cast<size_t>(L)].data(), model_.weights().output_norm.f32(), N, D,
                    c.norm_eps);
  return classifier(batch, mode, grad_scale);
}

// ---------------------------------------------------------------------------------------------
// Backward

void TrainingPass::layer_backward(int64_t l, LayerActs& a, const float* x, float* dx, const TrainBatch& batch) {
  const DenseSlots::Layer* dense = model_.is_full() ? &model_.dense()->layers[static_cast<size_t>(l)] : nullptr;
  const LayerGradients g{.dh = dh_.data(),
                         .dgate = dgate_.data(),
                         .dup = dup_.data(),
                         .dxn = dxn_.data(),
                         .datt = datt_.data(),
                         .dq = dq_.data(),
                         .dk = dk_.data(),
                         .dv = dv_.data(),
                         .d_attn_norm = dense ? dense->attn_norm->grad.f32() : nullptr,
                         .d_ffn_norm = dense ? dense->ffn_norm->grad.f32() : nullptr};
  // The first layer's input gradient only feeds the embedding: LoRA training skips it.
  const bool want_dx = dense || l > 0;
  Hooks hooks(*this, a, batch, PassMode::kTrain);
  llama_layer_backward(*backend_, model_.config(), model_.weights().layers[static_cast<size_t>(l)], l, x, dx,
                       activations(a), g, cos_sin_.data(), batch.rows(), want_dx, hooks);
}

void TrainingPass::backward(const TrainBatch& batch) {
  const LlamaConfig& c = model_.config();
  const int64_t N = batch.rows(), D = c.dim, L = c.n_layers;
  LIMARP_CHECK(N == n_rows_);
  const DenseSlots* dense = model_.dense();
  float* dx = dx_.data();
  zero(dx, N * D);
  // xn_final = rmsnorm(x_in[L]) · output_norm
  backend_->rmsnorm_backward(dx, dense ? dense->output_norm->grad.f32() : nullptr, dxn_final_.data(),
                             x_in_[static_cast<size_t>(L)].data(), model_.weights().output_norm.f32(), N, D, c.norm_eps);
  for (int64_t l = L - 1; l >= 0; --l) {
    LayerActs& a = acts_for(l);
    const float* x = x_in_[static_cast<size_t>(l)].data();
    if (acts_.size() == 1 && l != L - 1) {
      // Checkpointing: recompute this layer's activations from its saved input (same seed, so
      // the same dropout masks). Its output is not needed again: write it to a scratch row set.
      layer_forward(l, a, x, dxn_.data(), batch, PassMode::kTrain);
    }
    layer_backward(l, a, x, dx, batch);
  }
  // x_in[0] = embedding rows of the tokens
  if (dense) backend_->embed_backward(dense->token_embd->grad.f32(), dx, batch.tokens.data(), N, D);
}

}  // namespace limarp
