// The compute seam between the model and the kernels. The model layer says *what* a Llama layer
// computes (model/llama_layer.h); a backend says *where and how*: it owns the memory the
// activations live in (its workspace), puts weight matrices in the layout its kernels read
// fastest, and runs each operation of the layer and its backward twin.
//
// Activations are [rows, width] f32 arrays obtained from workspace(); the model only offsets
// into them and passes them back, never reads them, so a device backend can hand out device
// pointers. The exception is named: logits are copied out with read_rows(). KV caches keep
// their rows in a KvStorage the backend makes, and weights are TensorViews in the backend's
// layout after prepare_weights().
//
// Every operation is deterministic and independent of the thread count: each output element
// has one writer and a fixed summation order (the kernels' contract).
//
//   CpuBackend cpu(pool);                          // backend/cpu_backend.h
//   float* x = cpu.workspace(kResidual, rows * dim);
//   cpu.rmsnorm(xn, x, norm_weight, rows, dim, eps);
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "backend/kv_storage.h"
#include "backend/rotary_table.h"
#include "kernels/attention.h"
#include "kernels/lora.h"
#include "kernels/rope.h"
#include "tensor/tensor.h"

namespace limarp {

// Rows [start, start + length) of a batch that form one sequence (its positions start at 0).
struct SequenceSpan {
  int64_t start = 0;
  int64_t length = 0;
};

// Weight matrices handed to prepare_weights, and where they came from.
struct WeightOrigin {
  std::string source;          // for messages
  bool mapped_file = false;    // views into a file mapping whose pages can be released
};

// What prepare_weights did: what the caller keeps as long as the views (memory behind the
// rewritten views, or a device's copies of them, released with it), and how many matrices it
// rewrote or copied (0: all stay in the stored layout).
struct PreparedWeights {
  std::shared_ptr<void> memory;
  int64_t matrices = 0;
};

// Time per kind of operation, accumulated while profiling is on: where a pass's time goes.
struct OpTimes {
  double embed = 0, norm = 0, matmul = 0, rope = 0, attention = 0, elementwise = 0;
  double total() const { return embed + norm + matmul + rope + attention + elementwise; }
};

// What a device backend holds in its own memory, and the largest buffer it can bind; zeros for
// a backend that computes in host memory.
struct DeviceMemory {
  uint64_t weight_bytes = 0;
  uint64_t max_buffer_bytes = 0;
};

// Workspace slots are numbered per user, so users of one backend never share a buffer.
enum WorkspaceSlots : uint32_t { kForwardSlots = 0, kAdapterSlots = 32, kSlotsEnd = 64 };

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;

  // ---- Memory
  // A grow-only activation buffer of at least `floats` elements, reused by every call with the
  // same slot (the caller's numbering); valid until that slot is asked for more.
  virtual float* workspace(uint32_t slot, int64_t floats) = 0;
  // Sets n floats of an activation buffer to zero.
  virtual void zero(float* x, int64_t n) = 0;
  // Copies rows of an activation buffer to host memory (logits for the sampler).
  virtual void read_rows(float* host, const float* rows, int64_t floats) = 0;
  // Rewrites the given matrices in place into the layout this backend computes with fastest
  // (the views then point into PreparedWeights::memory). For inference only: training,
  // merging and writing read the stored layout.
  virtual PreparedWeights prepare_weights(std::span<TensorView* const> matrices, const WeightOrigin& origin) = 0;
  // Storage for a KV cache of this shape, read by attention_cached.
  virtual std::unique_ptr<KvStorage> make_kv_storage(const KvShape& shape) = 0;
  virtual DeviceMemory device_memory() const { return {}; }

  // ---- Forward operations
  // x[r] = row tokens[r] of the embedding table.
  virtual void embed(float* x, const TensorView& table, const int32_t* tokens, int64_t rows) = 0;
  // cos_sin[r] = the rotary table of position pos0 + r, for r < rows.
  virtual void rope_table(float* cos_sin, const RotaryTable& table, int64_t pos0, int64_t rows) = 0;
  // out[r] = rmsnorm(x[r]) · weight
  virtual void rmsnorm(float* out, const float* x, const float* weight, int64_t rows, int64_t dim, float eps) = 0;
  // y = x · Wᵀ for W [out, in] in this backend's layout.
  virtual void matmul(float* y, const float* x, const TensorView& w, int64_t rows) = 0;
  // y += LoRA branch of x (kernels/lora.h), saving A·drop(x) in ax.
  virtual void lora(float* y, float* ax, const float* x, const kernels::LoraFactors& f, const kernels::Dropout& d,
                    int64_t rows, const kernels::LoraScratch& scratch) = 0;
  // Rotates every head of each row in place by the row's entry of cos_sin.
  virtual void rope(float* x, const float* cos_sin, int64_t rows, int64_t n_heads, int64_t head_dim,
                    RopeLayout layout) = 0;
  // Causal attention of `rows` new queries at positions pos0.. over layer `layer` of a KV cache
  // (storage this backend made; the new rows already stored).
  virtual void attention_cached(float* out, const float* q, const KvStorage& kv, int64_t layer, int64_t rows,
                                int64_t pos0, kernels::AttentionShape shape) = 0;
  // Causal attention within each sequence of a batch (keys and values are the batch's own
  // rows); lse [rows, n_heads] receives each score row's log-sum-exp for the backward pass.
  virtual void attention_causal(float* out, float* lse, const float* q, const float* k, const float* v,
                                std::span<const SequenceSpan> sequences, kernels::AttentionShape shape) = 0;
  // out = silu(gate) · up (out may alias gate); out = a + b (out may alias a).
  virtual void swiglu(float* out, const float* gate, const float* up, int64_t n) = 0;
  virtual void add(float* out, const float* a, const float* b, int64_t n) = 0;
  // y += alpha · x
  virtual void axpy(float* y, float alpha, const float* x, int64_t n) = 0;

  // ---- Backward operations (gradient contract of kernels/ops.h: parameter gradients and the
  // residual's gradient accumulate, other activation gradients are assigned)
  virtual void rmsnorm_backward(float* dx, float* dweight, const float* dout, const float* x, const float* weight,
                                int64_t rows, int64_t dim, float eps) = 0;
  // dx += dy · W
  virtual void matmul_backward_input(float* dx, const float* dy, const TensorView& w, int64_t rows) = 0;
  // dw += dyᵀ · x for a dense f32 weight [out, in]
  virtual void matmul_backward_weight(float* dw, const float* dy, const float* x, int64_t rows, int64_t n_out,
                                      int64_t n_in) = 0;
  virtual void lora_backward(float* dx, float* da, float* db, const float* dy, const float* x, const float* ax,
                             const kernels::LoraFactors& f, const kernels::Dropout& d, int64_t rows,
                             const kernels::LoraScratch& scratch) = 0;
  virtual void rope_backward(float* dx, const float* cos_sin, int64_t rows, int64_t n_heads, int64_t head_dim,
                             RopeLayout layout) = 0;
  virtual void attention_causal_backward(float* dq, float* dk, float* dv, const float* dout, const float* q,
                                         const float* k, const float* v, const float* out, const float* lse,
                                         std::span<const SequenceSpan> sequences,
                                         kernels::AttentionShape shape) = 0;
  virtual void swiglu_backward(float* dgate, float* dup, const float* dout, const float* gate, const float* up,
                               int64_t n) = 0;
  // dtable[tokens[r]] += dx[r]
  virtual void embed_backward(float* dtable, const float* dx, const int32_t* tokens, int64_t rows, int64_t dim) = 0;

  // ---- Profiling
  virtual void set_profiling(bool on) = 0;
  virtual const OpTimes& op_times() const = 0;
};

}  // namespace limarp
