// The CPU backend: the kernels of src/kernels on a thread pool. Its workspace is host memory,
// its weight layout regroups Q4_0, Q8_0, Q4_K and Q6_K matrices 16 rows at a time where the active
// instruction-set level has kernels for that layout (tensor/row_interleave.h), and temporary
// memory inside kernels comes from the pool's per-thread arenas, so a decoded token allocates
// nothing once the buffers have grown.
#pragma once

#include <vector>

#include "backend/backend.h"
#include "backend/cpu_kv_storage.h"
#include "base/thread_pool.h"
#include "kernels/matmul.h"

namespace limarp {

class CpuBackend final : public Backend {
 public:
  // precision: how many-token products round (kernels/matmul.h); training passes ask for
  // kBF16 when the run is mixed precision.
  explicit CpuBackend(ThreadPool& pool, kernels::ProductPrecision precision = kernels::ProductPrecision::kDefault);

  ThreadPool& pool() { return pool_; }
  // Bytes of workspace and kernel scratch held now.
  uint64_t workspace_bytes() const;

  std::string name() const override;
  float* workspace(uint32_t slot, int64_t floats) override;
  void zero(float* x, int64_t n) override;
  void read_rows(float* host, const float* rows, int64_t floats) override;
  PreparedWeights prepare_weights(std::span<TensorView* const> matrices, const WeightOrigin& origin) override;
  std::unique_ptr<KvStorage> make_kv_storage(const KvShape& shape) override;

  void embed(float* x, const TensorView& table, const int32_t* tokens, int64_t rows) override;
  void rope_table(float* cos_sin, const RotaryTable& table, int64_t pos0, int64_t rows) override;
  void rmsnorm(float* out, const float* x, const float* weight, int64_t rows, int64_t dim, float eps) override;
  void matmul(float* y, const float* x, const TensorView& w, int64_t rows) override;
  void lora(float* y, float* ax, const float* x, const kernels::LoraFactors& f, const kernels::Dropout& d,
            int64_t rows, const kernels::LoraScratch& scratch) override;
  void rope(float* x, const float* cos_sin, int64_t rows, int64_t n_heads, int64_t head_dim,
            RopeLayout layout) override;
  void attention_cached(float* out, const float* q, const KvStorage& kv, int64_t layer, int64_t rows, int64_t pos0,
                        kernels::AttentionShape shape) override;
  void attention_causal(float* out, float* lse, const float* q, const float* k, const float* v,
                        std::span<const SequenceSpan> sequences, kernels::AttentionShape shape) override;
  void swiglu(float* out, const float* gate, const float* up, int64_t n) override;
  void add(float* out, const float* a, const float* b, int64_t n) override;
  void axpy(float* y, float alpha, const float* x, int64_t n) override;

  void rmsnorm_backward(float* dx, float* dweight, const float* dout, const float* x, const float* weight,
                        int64_t rows, int64_t dim, float eps) override;
  void matmul_backward_input(float* dx, const float* dy, const TensorView& w, int64_t rows) override;
  void matmul_backward_weight(float* dw, const float* dy, const float* x, int64_t rows, int64_t n_out,
                              int64_t n_in) override;
  void lora_backward(float* dx, float* da, float* db, const float* dy, const float* x, const float* ax,
                     const kernels::LoraFactors& f, const kernels::Dropout& d, int64_t rows,
                     const kernels::LoraScratch& scratch) override;
  void rope_backward(float* dx, const float* cos_sin, int64_t rows, int64_t n_heads, int64_t head_dim,
                     RopeLayout layout) override;
  void attention_causal_backward(float* dq, float* dk, float* dv, const float* dout, const float* q, const float* k,
                                 const float* v, const float* out, const float* lse,
                                 std::span<const SequenceSpan> sequences, kernels::AttentionShape shape) override;
  void swiglu_backward(float* dgate, float* dup, const float* dout, const float* gate, const float* up,
                       int64_t n) override;
  void embed_backward(float* dtable, const float* dx, const int32_t* tokens, int64_t rows, int64_t dim) override;

  void set_profiling(bool on) override { profiling_ = on; }
  const OpTimes& op_times() const override { return times_; }

 private:
  // Calls fn(r) for every row, spread over the pool when there are enough rows to pay for it.
  template <typename Fn>
  void for_rows(int64_t rows, const Fn& fn);
  // fn(sequence, kv head, scratch) for every pair, in parallel; each writes only its own rows
  // and heads.
  template <typename Fn>
  void for_attention_groups(std::span<const SequenceSpan> sequences, kernels::AttentionShape shape, const Fn& fn);

  ThreadPool& pool_;
  kernels::ProductPrecision precision_;
  std::vector<AlignedBuffer> workspace_;
  std::vector<size_t> workspace_floats_;
  bool profiling_ = false;
  OpTimes times_;
};

}  // namespace limarp
