// The Vulkan backend: the forward operations of backend/backend.h as compute shaders on one
// Vulkan device (a GPU, or Mesa's lavapipe on the CPU). Inference only: training keeps the CPU
// backend.
//
// Activations live in device buffers, one per workspace slot. The model only offsets into the
// pointers workspace() returns and hands them back, so they are addresses in a reserved,
// inaccessible range of the host's address space (one window per slot) that this backend maps
// back to (buffer, offset); the host touching one faults at once instead of reading garbage.
//
// Weights are uploaded once, in the layout of vulkan_weights.h: prepare_weights uploads the
// projection matrices, which the model keeps until it goes (PreparedWeights::memory releases
// them); other tensors (norm vectors, the embedding table, a tied output matrix,
// LoRA factors) upload on first use, remembered by address and a fingerprint of their contents.
// Embedding rows are gathered on the device (tables whose width is whole blocks of 32; others on
// the host); rotary tables are computed on the host and copied into the command stream.
//
// Every operation is recorded into one command buffer; read_rows (the logits) submits it and
// waits, so a decoded token costs one submission.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "backend/backend.h"
#include "backend/vulkan/vulkan_device.h"
#include "backend/vulkan/vulkan_weights.h"

namespace limarp {

class VulkanBackend final : public Backend {
 public:
  // Opens Vulkan device `index` (vk::list_devices() order).
  static Result<std::unique_ptr<VulkanBackend>> open(int index);
  ~VulkanBackend() override;

  std::string name() const override;
  float* workspace(uint32_t slot, int64_t floats) override;
  void zero(float* x, int64_t n) override;
  void read_rows(float* host, const float* rows, int64_t floats) override;
  PreparedWeights prepare_weights(std::span<TensorView* const> matrices, const WeightOrigin& origin) override;
  std::unique_ptr<KvStorage> make_kv_storage(const KvShape& shape) override;
  DeviceMemory device_memory() const override;

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

  // No per-operation device timings yet: profiling reports nothing on this backend.
  void set_profiling(bool) override {}
  const OpTimes& op_times() const override { return times_; }

  using MatrixMap = std::unordered_map<const void*, vk::DeviceMatrix>;

 private:
  // A workspace address resolved to its buffer and element offset.
  struct Loc {
    const vk::Buffer* buffer;
    uint32_t offset;
  };

  explicit VulkanBackend(std::unique_ptr<vk::Device> device);
  Loc at(const float* p) const;
  void elementwise(int op, float* out, const float* a, const float* b, int64_t n, float alpha);
  // The device copy of a host tensor, uploading it when it is new or changed.
  const vk::DeviceMatrix& matrix(const TensorView& w);
  const vk::Buffer& host_vector(const float* v, int64_t n);
  void ensure_activation_blocks(int64_t blocks);

  std::unique_ptr<vk::Device> device_;
  uint8_t* window_base_ = nullptr;  // reserved, inaccessible address range
  std::vector<std::unique_ptr<vk::Buffer>> slots_;
  std::vector<int64_t> slot_floats_;
  // Shared with the releases prepare_weights hands out (weakly): a model may outlive us.
  std::shared_ptr<MatrixMap> matrices_ = std::make_shared<MatrixMap>();
  std::unordered_map<const void*, vk::DeviceMatrix> vectors_;
  std::unique_ptr<vk::Buffer> act_quants_, act_scales_;  // activations as 8-bit blocks
  std::unique_ptr<vk::Buffer> token_ids_;                // of the rows embed() gathers
  int64_t act_blocks_ = 0;
  std::vector<float> host_rows_;  // embedding rows and rotary tables before upload
  OpTimes times_;
};

}  // namespace limarp
