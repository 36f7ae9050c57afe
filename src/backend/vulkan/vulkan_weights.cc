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


// Q4_K as 32-element blocks of nibble codes (q4_0's order) with a scale and a min.
struct NibblePlanes {
  std::vector<uint8_t> codes;
  std::vector<float> scales, mins;
};

void put_nibbles(NibblePlanes& p, const uint8_t* codes32, float scale, float min) {
  for (int k = 0; k < 16; ++k)
    p.codes.push_back(static_cast<uint8_t>((codes32[k] & 0xF) | ((codes32[k + 16] & 0xF) << 4)));
  p.scales.push_back(scale);
  p.mins.push_back(min);
}

NibblePlanes q4_k_planes(const TensorView& t) {
  NibblePlanes p;
  const auto* b = static_cast<const BlockQ4_K*>(t.data);
  const int64_t nb = t.elements() / kQK_K;
  uint8_t codes[32];
  for (int64_t i = 0; i < nb; ++i) {
    const float d = f16_to_f32(b[i].d), dmin = f16_to_f32(b[i].dmin);
    for (int j = 0; j < 8; ++j) {  // sub-block j: nibble (j % 2) of bytes 32 (j / 2) ..
      uint8_t sc, mn;
      k_scale_min(j, b[i].scales, &sc, &mn);
      for (int l = 0; l < 32; ++l) codes[l] = static_cast<uint8_t>(b[i].qs[32 * (j / 2) + l] >> (4 * (j % 2)));
      put_nibbles(p, codes, d * sc, dmin * mn);  // the products dequantization uses
    }
  }
  return p;
}

// Q6_K's 6-bit codes minus 32 as int8, and d * scale per 16 elements.
void q6_k_planes(const TensorView& t, std::vector<int8_t>& codes, std::vector<float>& scales) {
  const auto* b = static_cast<const BlockQ6_K*>(t.data);
  const int64_t nb = t.elements() / kQK_K;
  codes.resize(static_cast<size_t>(nb * kQK_K));
  scales.resize(static_cast<size_t>(nb * kQK_K / 16));
  for (int64_t i = 0; i < nb; ++i) {
    const float d = f16_to_f32(b[i].d);
    int8_t* y = codes.data() + i * kQK_K;
    float* s = scales.data() + i * (kQK_K / 16);
    for (int half = 0; half < 2; ++half) {
      const uint8_t* ql = b[i].ql + 64 * half;
      const uint8_t* qh = b[i].qh + 32 * half;
      const int8_t* sc = b[i].scales + 8 * half;
      int8_t* yh = y + 128 * half;
      for (int l = 0; l < 32; ++l) {
        yh[l] = static_cast<int8_t>(((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32);
        yh[l + 32] = static_cast<int8_t>(((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32);
        yh[l + 64] = static_cast<int8_t>(((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32);
        yh[l + 96] = static_cast<int8_t>(((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32);
      }
      // Element e of this half has scale sc[e / 16]: 8 scales of 16 elements.
      for (int k = 0; k < 8; ++k) s[8 * half + k] = d * sc[k];
    }
  }
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
  if (t.type == DType::kQ4_K && m.cols % kQK_K == 0) {
    const NibblePlanes planes = q4_k_planes(t);
    m.type = DType::kQ4_K;
    LIMARP_ASSIGN_OR_RETURN(m.data, upload_words(device, planes.codes.data(), planes.codes.size(), what));
    LIMARP_ASSIGN_OR_RETURN(m.scales, upload_words(device, planes.scales.data(), planes.scales.size() * 4, what + " scales"));
    LIMARP_ASSIGN_OR_RETURN(m.mins, upload_words(device, planes.mins.data(), planes.mins.size() * 4, what + " mins"));
    return m;
  }
  if (t.type == DType::kQ6_K && m.cols % kQK_K == 0) {
    std::vector<int8_t> codes;
    std::vector<float> scales;
    q6_k_planes(t, codes, scales);
    m.type = DType::kQ6_K;
    LIMARP_ASSIGN_OR_RETURN(m.data, upload_words(device, codes.data(), codes.size(), what));
    LIMARP_ASSIGN_OR_RETURN(m.scales, upload_words(device, scales.data(), scales.size() * 4, what + " scales"));
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
