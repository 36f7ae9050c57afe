// Weight matrices in the layout the Vulkan shaders read (shaders/matmul.comp): no 2-byte
// fields inside blocks, so every buffer is an array of 32-bit words.
//   f32: as stored.   f16: as stored, two halves per word.
//   q8_0: the 32 int8 of each block back to back (8 words), the block scales as f32 apart.
//   q4_0: the 16 nibble bytes of each block (4 words; element k low, k + 16 high), scales apart.
//   q4_k: per 32 elements q4_0's nibble layout of the unsigned codes, and a scale
//     and a min plane (value = scale * code - min), the scales already multiplied out.
//   q6_k: per 32 elements the codes minus 32 as int8 (8 words) and two scales (one per 16).
// Every other type (q5_k, q2_k, q3_k, bf16, nf4, ...) is dequantized on the host and kept as
// f16 until it has a shader of its own.
#pragma once

#include <memory>
#include <string>

#include "backend/vulkan/vulkan_device.h"
#include "tensor/tensor.h"

namespace limarp::vk {

struct DeviceMatrix {
  DType type = DType::kF32;  // the layout above: kF32, kF16, kQ8_0, kQ4_0, kQ4_K or kQ6_K
  DType stored = DType::kF32;
  int64_t rows = 0, cols = 0;
  // For tensors uploaded on first use (adapters, norms): checked on every use, since a freed
  // tensor's address may come back with other contents. 0 for the model's own projections
  // (prepare_weights), dropped when the model releases them: no check on the hot path.
  uint64_t fingerprint = 0;
  std::unique_ptr<Buffer> data, scales, mins;

  uint64_t bytes() const {
    return (data ? data->size() : 0) + (scales ? scales->size() : 0) + (mins ? mins->size() : 0);
  }
};

// A cheap hash of a tensor's type, shape and sampled contents: tells a tensor that reuses a
// freed one's address from the one uploaded before.
uint64_t fingerprint(const TensorView& t);

// Converts and uploads a stored-layout matrix [rows, cols] (a vector is one row).
Result<DeviceMatrix> upload_matrix(Device& device, const TensorView& t, const std::string& what);

}  // namespace limarp::vk
