#include "backend/vulkan/vulkan_kv_storage.h"

#include "backend/cpu_kv_storage.h"
#include "base/log.h"
#include "kernels/kv_rows.h"

namespace limarp {

Result<std::unique_ptr<VulkanKvStorage>> VulkanKvStorage::create(
    vk::Device& device, const KvShape& shape, std::function<uint32_t(const float*)> offset_of,
    std::function<const vk::Buffer*(const float*)> buffer_of) {
  if (shape.type != DType::kF32 && shape.type != DType::kF16)
    return make_error("vulkan: KV cache type {} is not supported on this device backend yet; use f16 or f32",
                      dtype_name(shape.type));
  if (shape.head_dim > 256 || shape.head_dim % 2 != 0)
    return make_error("vulkan: head size {} is not supported (even sizes up to 256 are)", shape.head_dim);
  std::unique_ptr<VulkanKvStorage> s(new VulkanKvStorage(device, shape));
  s->offset_of_ = std::move(offset_of);
  s->buffer_of_ = std::move(buffer_of);
  for (int64_t l = 0; l < shape.n_layers; ++l) {
    LIMARP_ASSIGN_OR_RETURN(auto buffer,
                            device.create_buffer(s->layer_bytes(), vk::Memory::kDevice, fmt::format("KV cache layer {}", l)));
    s->layers_.push_back(std::move(buffer));
  }
  return s;
}

uint64_t VulkanKvStorage::layer_bytes() const {
  const KvShape& s = shape();
  return 2 * kernels::kv_bytes(s.type, s.head_dim) * static_cast<uint64_t>(s.capacity * s.n_kv_heads);
}

uint64_t VulkanKvStorage::bytes() const { return layer_bytes() * static_cast<uint64_t>(shape().n_layers); }

void VulkanKvStorage::store(int64_t layer, int64_t pos, int64_t n, const float* k, const float* v) {
  const KvShape& s = shape();
  LIMARP_CHECK(pos >= 0 && pos + n <= s.capacity);
  mirror_layer_ = -1;
  struct {
    uint32_t n, n_kv_heads, head_dim, capacity, pos, k_off, v_off;
  } params{static_cast<uint32_t>(n), static_cast<uint32_t>(s.n_kv_heads), static_cast<uint32_t>(s.head_dim),
           static_cast<uint32_t>(s.capacity), static_cast<uint32_t>(pos), offset_of_(k), offset_of_(v)};
  const bool f16 = s.type == DType::kF16;
  const uint64_t threads = static_cast<uint64_t>(n * s.kv_dim()) / (f16 ? 2 : 1);
  device_.dispatch_flat(f16 ? vk::Shader::kKvStoreF16 : vk::Shader::kKvStoreF32,
                        {{buffer_of_(k), false}, {buffer_of_(v), false}, {layers_[static_cast<size_t>(layer)].get(), true}},
                        &params, sizeof(params), (threads + 63) / 64, 2);
}

void VulkanKvStorage::store_host(int64_t layer, int64_t pos, int64_t n, const float* k, const float* v) {
  const KvShape& s = shape();
  LIMARP_CHECK(pos >= 0 && pos + n <= s.capacity);
  mirror_layer_ = -1;
  const uint64_t row = kernels::kv_bytes(s.type, s.head_dim);
  std::vector<uint8_t> rows(static_cast<size_t>(row * static_cast<uint64_t>(n)));
  for (int which = 0; which < 2; ++which)
    for (int64_t h = 0; h < s.n_kv_heads; ++h) {
      const float* src = which == 0 ? k : v;
      for (int64_t t = 0; t < n; ++t)
        kernels::store_kv_row(rows.data() + static_cast<uint64_t>(t) * row, s.type, src + t * s.kv_dim() + h * s.head_dim,
                              s.head_dim);
      const uint64_t offset = (static_cast<uint64_t>(which * s.n_kv_heads + h) * s.capacity + pos) * row;
      vk::must_ok(device_.upload(*layers_[static_cast<size_t>(layer)], offset, rows.data(), rows.size()),
              "writing KV rows");
    }
}

void VulkanKvStorage::read(int64_t layer, int which, int64_t pos, float* out) const {
  const KvShape& s = shape();
  LIMARP_CHECK(pos >= 0 && pos < s.capacity);
  const uint64_t row = kernels::kv_bytes(s.type, s.head_dim);
  if (mirror_layer_ != layer) {
    mirror_.resize(static_cast<size_t>(layer_bytes()));
    vk::must_ok(device_.download(*layers_[static_cast<size_t>(layer)], 0, mirror_.data(), mirror_.size()),
            "reading the KV cache");
    mirror_layer_ = layer;
  }
  for (int64_t h = 0; h < s.n_kv_heads; ++h) {
    const uint64_t offset = (static_cast<uint64_t>(which * s.n_kv_heads + h) * s.capacity + pos) * row;
    kernels::load_kv_row(out + h * s.head_dim, mirror_.data() + offset, s.type, s.head_dim);
  }
}

void VulkanKvStorage::remove(int64_t begin, int64_t end, int64_t size, const RotaryTable& rotary, RopeLayout layout) {
  mirror_layer_ = -1;
  std::vector<uint8_t> host(static_cast<size_t>(layer_bytes()));
  for (int64_t l = 0; l < shape().n_layers; ++l) {
    const vk::Buffer& b = *layers_[static_cast<size_t>(l)];
    vk::must_ok(device_.download(b, 0, host.data(), host.size()), "shifting the KV cache");
    remove_kv_positions(host.data(), shape(), begin, end, size, rotary, layout);
    vk::must_ok(device_.upload(b, 0, host.data(), host.size()), "shifting the KV cache");
  }
}

}  // namespace limarp
