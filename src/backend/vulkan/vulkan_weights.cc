#include "backend/vulkan/vulkan_weights.h"

#include <cstring>
#include <vector>

#include "base/half.h"
#include "tensor/quant_blocks.h"
#include "tensor/quantize.h"

namespace limarp::vk {

uint64_t fingerprint(const TensorView& t) {
  // FNV-1a over the header and 64 words spread over the data.
  uint64_t h = 1469598103934665603ull;
  auto mix = [&](uint64_t v) {
    for (int i = 0; i < 8; ++i) {
      h ^= (v >> (8 * i)) & 0xFF;
      h *= 1099511628211ull;
    }
  };
  mix(static_cast<uint64_t>(t.type));
  mix(t.nbytes);
  for (int64_t d : t.shape) mix(static_cast<uint64_t>(d));
  const auto* bytes = static_cast<const uint8_t*>(t.data);
  const uint64_t words = t.nbytes / 8;
  for (uint64_t i = 0; i < 64 && words; ++i) {
    uint64_t v = 0;
    std::memcpy(&v, bytes + (i * words / 64) * 8, 8);
    mix(v);
  }
  return h;
}

namespace {

Result<std::unique_ptr<Buffer>> upload_words(Device& device, const void* data, uint64_t bytes, const std::string& what) {
  LIMARP_ASSIGN_OR_RETURN(auto buffer, device.create_buffer(bytes, Memory::kDevice, what));
  LIMARP_TRY(device.upload(*buffer, 0, data, bytes));
  return buffer;
}

}  // namespace

Result<DeviceMatrix> upload_matrix(Device& device, const TensorView& t, const std::string& what) {
  if (t.layout != RowLayout::kStored)
    return make_error("vulkan: {} is in the CPU's regrouped layout; load the model for the device instead", what);
  DeviceMatrix m;
  m.stored = t.type;
  m.rows = t.rows();
  m.cols = t.cols();
  m.fingerprint = fingerprint(t);
  const int64_t blocks = m.rows * (m.cols / kQK);
  if (t.type == DType::kQ8_0 || t.type == DType::kQ4_0) {
    const bool q8 = t.type == DType::kQ8_0;
    const uint64_t qbytes = q8 ? kQK : kQK / 2;
    std::vector<uint8_t> quants(static_cast<size_t>(blocks) * qbytes);
    std::vector<float> scales(static_cast<size_t>(blocks));
    const auto* src = static_cast<const uint8_t*>(t.data);
    const uint64_t block_bytes = q8 ? sizeof(BlockQ8_0) : sizeof(BlockQ4_0);
    for (int64_t b = 0; b < blocks; ++b) {
      const uint8_t* blk = src + static_cast<uint64_t>(b) * block_bytes;
      uint16_t d;
      std::memcpy(&d, blk, 2);
      scales[static_cast<size_t>(b)] = f16_to_f32(d);
      std::memcpy(quants.data() + static_cast<uint64_t>(b) * qbytes, blk + 2, qbytes);
    }
    m.type = t.type;
    LIMARP_ASSIGN_OR_RETURN(m.data, upload_words(device, quants.data(), quants.size(), what));
    LIMARP_ASSIGN_OR_RETURN(m.scales, upload_words(device, scales.data(), scales.size() * sizeof(float), what + " scales"));
    return m;
  }
  if (t.type == DType::kF32 || (t.type == DType::kF16 && m.cols % 2 == 0)) {
    m.type = t.type;
    LIMARP_ASSIGN_OR_RETURN(m.data, upload_words(device, t.data, t.nbytes, what));
    return m;
  }
  if (m.cols % 2 != 0) return make_error("vulkan: {} has rows of odd length {}", what, m.cols);
  LIMARP_ASSIGN_OR_RETURN(Tensor f32, dequantize(t));
  std::vector<uint16_t> halves(static_cast<size_t>(f32.elements()));
  for (size_t i = 0; i < halves.size(); ++i) halves[i] = f32_to_f16(f32.f32()[i]);
  m.type = DType::kF16;
  LIMARP_ASSIGN_OR_RETURN(m.data, upload_words(device, halves.data(), halves.size() * 2, what));
  return m;
}

}  // namespace limarp::vk
