#include "backend/cpu_backend.h"

#include <chrono>
#include <cstring>

#include "base/log.h"
#include "base/mapped_file.h"
#include "kernels/cpu/registry.h"
#include "kernels/embedding.h"
#include "kernels/gemm.h"
#include "kernels/matmul.h"
#include "kernels/ops.h"
#include "kernels/weight_kernels.h"
#include "tensor/row_interleave.h"

namespace limarp {

namespace {

// Rows per task for row-wise kernels: enough work to be worth handing to another thread.
constexpr int64_t kRowGrain = 32;

// Adds the time of its scope to `slot` when profiling is on.
class OpTimer {
 public:
  OpTimer(bool on, double& slot) : slot_(on ? &slot : nullptr) {
    if (slot_) start_ = std::chrono::steady_clock::now();
  }
  ~OpTimer() {
    if (slot_) *slot_ += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start_).count();
  }
  OpTimer(const OpTimer&) = delete;
  OpTimer& operator=(const OpTimer&) = delete;

 private:
  double* slot_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace

CpuBackend::CpuBackend(ThreadPool& pool, kernels::ProductPrecision precision) : pool_(pool), precision_(precision) {}

std::string CpuBackend::name() const {
  return fmt::format("cpu ({}, {} threads)", kernels::isa_name(kernels::active_isa()), pool_.size());
}

uint64_t CpuBackend::workspace_bytes() const {
  uint64_t n = pool_.scratch_bytes();
  for (size_t f : workspace_floats_) n += f * sizeof(float);
  return n;
}

float* CpuBackend::workspace(uint32_t slot, int64_t floats) {
  if (workspace_.size() <= slot) {
    workspace_.resize(slot + 1);
    workspace_floats_.resize(slot + 1, 0);
  }
  const auto n = static_cast<size_t>(floats);
  if (workspace_floats_[slot] < n || !workspace_[slot]) {
    workspace_[slot] = allocate_aligned_uninitialized(sizeof(float) * std::max<size_t>(n, 1));
    workspace_floats_[slot] = n;
  }
  return reinterpret_cast<float*>(workspace_[slot].get());
}

void CpuBackend::zero(float* x, int64_t n) { std::memset(x, 0, sizeof(float) * static_cast<size_t>(n)); }

void CpuBackend::read_rows(float* host, const float* rows, int64_t floats) {
  if (host != rows) std::memcpy(host, rows, sizeof(float) * static_cast<size_t>(floats));
}

PreparedWeights CpuBackend::prepare_weights(std::span<TensorView* const> matrices, const WeightOrigin& origin) {
  std::vector<TensorView*> todo;
  // Only where the active level has a SIMD kernel for the regrouped layout: the scalar twins
  // regather every row and would be slower than the stored layout's kernels.
  for (TensorView* t : matrices) {
    if (!has_interleaved_layout(t->type) || t->layout != RowLayout::kStored || t->shape.size() != 2 ||
        t->rows() % kInterleaveRows != 0)
      continue;
    const kernels::WeightKernel* k = kernels::select_kernel(t->type, t->cols(), RowLayout::kInterleaved16);
    if (k && k->isa != kernels::Isa::kScalar) todo.push_back(t);
  }
  if (todo.empty()) return {};
  // Each matrix starts on a cache line.
  auto padded = [](uint64_t n) { return (n + 63) / 64 * 64; };
  uint64_t total = 0;
  for (const TensorView* t : todo) total += padded(t->nbytes);
  const auto start = std::chrono::steady_clock::now();
  std::shared_ptr<uint8_t> memory = allocate_weight_memory(total);
  if (!memory) {
    log::warn("{}: no memory for the regrouped weights ({:.0f} MiB); computing in the stored layout", origin.source,
              static_cast<double>(total) / (1 << 20));
    return {};
  }
  std::vector<uint8_t*> out(todo.size());
  uint8_t* next = memory.get();
  for (size_t i = 0; i < todo.size(); ++i) {
    out[i] = next;
    next += padded(todo[i]->nbytes);
  }
  // Matrices are independent: the pool's threads share them (page faults on both sides
  // dominate), releasing each matrix's pages of the mapped file once copied so memory holds
  // one copy.
  pool_.parallel_for(static_cast<int64_t>(todo.size()), 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const TensorView& t = *todo[static_cast<size_t>(i)];
      interleave_rows(t.type, static_cast<const uint8_t*>(t.data), t.rows(), t.cols(), out[static_cast<size_t>(i)]);
      if (origin.mapped_file) release_mapped_pages(t.data, t.nbytes);
    }
  });
  for (size_t i = 0; i < todo.size(); ++i) {
    todo[i]->layout = RowLayout::kInterleaved16;
    todo[i]->data = out[i];
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  log::debug("{}: {} matrices ({:.0f} MiB) regrouped 16 rows at a time for the {} kernels in {:.1f} s", origin.source,
             todo.size(), static_cast<double>(total) / (1 << 20), kernels::isa_name(kernels::active_isa()), seconds);
  return {std::move(memory), static_cast<int64_t>(todo.size())};
}

template <typename Fn>
void CpuBackend::for_rows(int64_t rows, const Fn& fn) {
  if (rows < 2 * kRowGrain) {
    for (int64_t r = 0; r < rows; ++r) fn(r);
    return;
  }
  pool_.parallel_for(rows, kRowGrain, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) fn(r);
  });
}

template <typename Fn>
void CpuBackend::for_attention_groups(std::span<const SequenceSpan> sequences, kernels::AttentionShape shape,
                                      const Fn& fn) {
  const auto tasks = static_cast<int64_t>(sequences.size()) * shape.n_kv_heads;
  pool_.parallel_for_indexed(tasks, 1, [&](int64_t begin, int64_t end, int thread) {
    for (int64_t task = begin; task < end; ++task) {
      const SequenceSpan& s = sequences[static_cast<size_t>(task / shape.n_kv_heads)];
      float* scratch = pool_.arena(thread).floats(ScratchSlot::kAttentionScores,
                                                  static_cast<size_t>(kernels::attention_scratch_floats(s.length, shape)));
      fn(s, task % shape.n_kv_heads, scratch);
    }
  });
}

void CpuBackend::embed(float* x, const TensorView& table, const int32_t* tokens, int64_t rows) {
  OpTimer t(profiling_, times_.embed);
  kernels::embedding_forward(x, table, tokens, rows);
}

void CpuBackend::rope_table(float* cos_sin, const RotaryTable& table, int64_t pos0, int64_t rows) {
  OpTimer t(profiling_, times_.rope);
  for (int64_t r = 0; r < rows; ++r)
    kernels::rope_cos_sin(cos_sin + r * table.head_dim, pos0 + r, table.inv_freq, table.head_dim, table.mscale);
}

void CpuBackend::rmsnorm(float* out, const float* x, const float* weight, int64_t rows, int64_t dim, float eps) {
  OpTimer t(profiling_, times_.norm);
  for_rows(rows, [&](int64_t r) { kernels::rmsnorm(out + r * dim, x + r * dim, weight, dim, eps); });
}

void CpuBackend::matmul(float* y, const float* x, const TensorView& w, int64_t rows) {
  OpTimer t(profiling_, times_.matmul);
  kernels::matmul(y, x, w, rows, pool_, precision_);
}

void CpuBackend::lora(float* y, float* ax, const float* x, const kernels::LoraFactors& f, const kernels::Dropout& d,
                      int64_t rows, const kernels::LoraScratch& scratch) {
  OpTimer t(profiling_, times_.matmul);
  kernels::lora_forward(y, ax, x, f, d, rows, scratch, pool_, precision_);
}

void CpuBackend::rope(float* x, const float* cos_sin, int64_t rows, int64_t n_heads, int64_t head_dim,
                      RopeLayout layout) {
  OpTimer t(profiling_, times_.rope);
  const int64_t width = n_heads * head_dim;
  for_rows(rows, [&](int64_t r) { kernels::rope_apply(x + r * width, cos_sin + r * head_dim, n_heads, head_dim, layout); });
}

std::unique_ptr<KvStorage> CpuBackend::make_kv_storage(const KvShape& shape) {
  return std::make_unique<CpuKvStorage>(shape);
}

void CpuBackend::attention_cached(float* out, const float* q, const KvStorage& kv, int64_t layer, int64_t rows,
                                  int64_t pos0, kernels::AttentionShape shape) {
  OpTimer t(profiling_, times_.attention);
  const auto* cpu = dynamic_cast<const CpuKvStorage*>(&kv);
  LIMARP_CHECK(cpu != nullptr);  // a cache made by another backend
  kernels::attention(out, q, cpu->keys(layer), cpu->values(layer), rows, pos0, shape, pool_);
}

void CpuBackend::attention_causal(float* out, float* lse, const float* q, const float* k, const float* v,
                                  std::span<const SequenceSpan> sequences, kernels::AttentionShape shape) {
  OpTimer t(profiling_, times_.attention);
  const int64_t D = shape.n_heads * shape.head_dim, KV = shape.n_kv_heads * shape.head_dim;
  for_attention_groups(sequences, shape, [&](const SequenceSpan& s, int64_t group, float* scratch) {
    kernels::attention_forward_group(out + s.start * D, lse + s.start * shape.n_heads, q + s.start * D,
                                     k + s.start * KV, v + s.start * KV, scratch, s.length, shape, group);
  });
}

void CpuBackend::swiglu(float* out, const float* gate, const float* up, int64_t n) {
  OpTimer t(profiling_, times_.elementwise);
  pool_.parallel_for(n, kernels::kElementGrain,
                     [&](int64_t b, int64_t e) { kernels::swiglu(out + b, gate + b, up + b, e - b); });
}

void CpuBackend::add(float* out, const float* a, const float* b, int64_t n) {
  OpTimer t(profiling_, times_.elementwise);
  if (out == a) {
    kernels::add_inplace(out, b, n);
    return;
  }
  for (int64_t i = 0; i < n; ++i) out[i] = a[i] + b[i];
}

void CpuBackend::axpy(float* y, float alpha, const float* x, int64_t n) {
  OpTimer t(profiling_, times_.elementwise);
  kernels::axpy(y, alpha, x, n);
}

void CpuBackend::rmsnorm_backward(float* dx, float* dweight, const float* dout, const float* x, const float* weight,
                                  int64_t rows, int64_t dim, float eps) {
  auto row = [&](int64_t r) { kernels::rmsnorm_backward(dx + r * dim, dweight, dout + r * dim, x + r * dim, weight, dim, eps); };
  // A trained norm weight sums over every row: one writer, rows in order.
  if (dweight) {
    for (int64_t r = 0; r < rows; ++r) row(r);
  } else {
    for_rows(rows, row);
  }
}

void CpuBackend::matmul_backward_input(float* dx, const float* dy, const TensorView& w, int64_t rows) {
  kernels::matmul_transposed_accumulate(dx, dy, w, rows, pool_, precision_);
}

void CpuBackend::matmul_backward_weight(float* dw, const float* dy, const float* x, int64_t rows, int64_t n_out,
                                        int64_t n_in) {
  kernels::matmul_weight_grad(dw, dy, x, rows, n_out, n_in, 1.0f, pool_);
}

void CpuBackend::lora_backward(float* dx, float* da, float* db, const float* dy, const float* x, const float* ax,
                               const kernels::LoraFactors& f, const kernels::Dropout& d, int64_t rows,
                               const kernels::LoraScratch& scratch) {
  kernels::lora_backward(dx, da, db, dy, x, ax, f, d, rows, scratch, pool_, precision_);
}

void CpuBackend::rope_backward(float* dx, const float* cos_sin, int64_t rows, int64_t n_heads, int64_t head_dim,
                               RopeLayout layout) {
  const int64_t width = n_heads * head_dim;
  for_rows(rows, [&](int64_t r) { kernels::rope_backward(dx + r * width, cos_sin + r * head_dim, n_heads, head_dim, layout); });
}

void CpuBackend::attention_causal_backward(float* dq, float* dk, float* dv, const float* dout, const float* q,
                                           const float* k, const float* v, const float* out, const float* lse,
                                           std::span<const SequenceSpan> sequences, kernels::AttentionShape shape) {
  const int64_t D = shape.n_heads * shape.head_dim, KV = shape.n_kv_heads * shape.head_dim;
  for_attention_groups(sequences, shape, [&](const SequenceSpan& s, int64_t group, float* scratch) {
    kernels::attention_backward_group(dq + s.start * D, dk + s.start * KV, dv + s.start * KV, dout + s.start * D,
                                      q + s.start * D, k + s.start * KV, v + s.start * KV, out + s.start * D,
                                      lse + s.start * shape.n_heads, scratch, s.length, shape, group);
  });
}

void CpuBackend::swiglu_backward(float* dgate, float* dup, const float* dout, const float* gate, const float* up,
                                 int64_t n) {
  pool_.parallel_for(n, kernels::kElementGrain, [&](int64_t b, int64_t e) {
    kernels::swiglu_backward(dgate + b, dup + b, dout + b, gate + b, up + b, e - b);
  });
}

void CpuBackend::embed_backward(float* dtable, const float* dx, const int32_t* tokens, int64_t rows, int64_t dim) {
  kernels::embedding_backward(dtable, dx, tokens, rows, dim);
}

}  // namespace limarp
