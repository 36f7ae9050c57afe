// A KV cache on a Vulkan device: one buffer per layer in the CPU cache's layout
// ([keys, values][kv head][capacity][head_dim], f32 or f16), written by shaders/kv_store.comp and
// read by shaders/attention.comp. Reading a row and removing positions go through the host
// (a layer at a time): rare operations, kept exact with the CPU's own code; so does writing rows
// from host memory (restoring a slot file).
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "backend/kv_storage.h"
#include "backend/vulkan/vulkan_device.h"

namespace limarp {

class VulkanBackend;

class VulkanKvStorage final : public KvStorage {
 public:
  static Result<std::unique_ptr<VulkanKvStorage>> create(vk::Device& device, const KvShape& shape,
                                                         std::function<uint32_t(const float*)> offset_of,
                                                         std::function<const vk::Buffer*(const float*)> buffer_of);

  uint64_t bytes() const override;
  void store(int64_t layer, int64_t pos, int64_t n, const float* k, const float* v) override;
  void store_host(int64_t layer, int64_t pos, int64_t n, const float* k, const float* v) override;
  void read(int64_t layer, int which, int64_t pos, float* out) const override;
  void remove(int64_t begin, int64_t end, int64_t size, const RotaryTable& rotary, RopeLayout layout) override;

  const vk::Buffer& layer(int64_t l) const { return *layers_[static_cast<size_t>(l)]; }

 private:
  VulkanKvStorage(vk::Device& device, const KvShape& shape) : KvStorage(shape), device_(device) {}
  uint64_t layer_bytes() const;

  vk::Device& device_;
  std::vector<std::unique_ptr<vk::Buffer>> layers_;
  std::function<uint32_t(const float*)> offset_of_;
  std::function<const vk::Buffer*(const float*)> buffer_of_;
  // The last layer brought to the host by read(): a slot file reads every row of a layer in
  // turn, one download for all of them. Any write forgets it.
  mutable std::vector<uint8_t> mirror_;
  mutable int64_t mirror_layer_ = -1;
};

}  // namespace limarp
