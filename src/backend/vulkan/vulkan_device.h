// One Vulkan device opened for compute: buffers, the compute pipelines of the embedded shaders,
// and a recorder that turns operations into one command buffer, submitted when the host needs a
// result (logits, a cache row) or a resource runs out.
//
// Barriers are placed by hazard: each recorded operation names the buffers it reads and writes,
// and a barrier goes in only before an operation that touches a buffer written since the last
// barrier, or writes one read since it. Buffers are bound whole and operations address them by
// element offsets in push constants, so no offset has to meet the device's binding alignment.
//
//   auto dev = vk::Device::open(0);                      // Result<std::unique_ptr<Device>>
//   auto buf = (*dev)->create_buffer(bytes, vk::Memory::kDevice, "weights");
//   (*dev)->dispatch(vk::Shader::kRmsnorm, {{&out, true}, {&x, false}, {&w, false}}, params, rows);
//   (*dev)->flush();                                     // submit and wait
#pragma once

#include <vulkan/vulkan.h>

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"

namespace limarp::vk {

// The compute shaders built from backend/vulkan/shaders (vulkan_shaders.cc, generated).
enum class Shader : uint32_t {
  kMatmulF32, kMatmulF16, kMatmulQ8_0, kMatmulQ4_0, kMatmulQ4_K, kMatmulQ6_K,
  kMatmulSubgroupF32, kMatmulSubgroupF16, kMatmulSubgroupQ8_0, kMatmulSubgroupQ4_0, kMatmulSubgroupQ4_K,
  kMatmulSubgroupQ6_K, kMatmulTiledF32, kMatmulTiledF16, kMatmulTiledQ8_0, kMatmulTiledQ4_0, kMatmulTiledQ4_K,
  kMatmulTiledQ6_K, kEmbedF32, kEmbedF16, kEmbedQ8_0, kEmbedQ4_0, kEmbedQ4_K, kEmbedQ6_K, kQuantizeQ8, kRmsnorm, kRope, kElementwise,
  kKvStoreF32, kKvStoreF16, kAttentionF32, kAttentionF16, kCount
};
struct ShaderCode {
  const char* name;
  const uint32_t* words;
  size_t count;
};
ShaderCode shader_code(Shader s);

struct DeviceInfo {
  int index = 0;
  std::string name, type, driver, api_version;
  uint64_t device_local_bytes = 0;
  uint64_t max_buffer_bytes = 0;  // the largest storage buffer a shader can bind
  std::string unusable;  // why it cannot run limarp's shaders, or empty
};

// A device failure inside an operation that cannot report one (a lost device, memory gone
// mid-pass): logs what failed and stops, rather than compute on garbage.
void must_ok(const Status& status, const char* what);

// Every Vulkan device on this machine, or an error saying why none can be listed.
Result<std::vector<DeviceInfo>> list_devices();

enum class Memory { kDevice, kUpload, kReadback };

class Device;

// A buffer and its memory. Destroying one that a recorded, unsubmitted command uses is safe:
// its release waits for the next submission to finish.
class Buffer {
 public:
  Buffer(Device& device, VkBuffer handle, VkDeviceMemory memory, uint64_t size, void* mapped)
      : device_(device), handle_(handle), memory_(memory), size_(size), mapped_(mapped) {}
  ~Buffer();
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  VkBuffer handle() const { return handle_; }
  uint64_t size() const { return size_; }
  void* mapped() const { return mapped_; }  // host-visible memory only

 private:
  Device& device_;
  VkBuffer handle_;
  VkDeviceMemory memory_;
  uint64_t size_;
  void* mapped_;
};

struct Binding {
  const Buffer* buffer;
  bool written;
};

class Device {
 public:
  static Result<std::unique_ptr<Device>> open(int index);
  ~Device();
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;

  const DeviceInfo& info() const { return info_; }
  uint32_t max_groups_x() const { return max_groups_x_; }
  // Threads per subgroup where compute shaders have subgroup arithmetic, else 0 (also 0 when
  // LIMARP_VULKAN_NO_SUBGROUPS is set, to run the shared-memory fallbacks).
  uint32_t subgroup_size() const { return subgroup_size_; }
  uint64_t max_buffer_bytes() const { return max_buffer_bytes_; }
  uint64_t allocated_bytes() const { return allocated_bytes_; }

  // `what` names the buffer in an out-of-memory message.
  Result<std::unique_ptr<Buffer>> create_buffer(uint64_t bytes, Memory memory, const std::string& what);

  // ---- Recorded (run at the next flush)
  void dispatch(Shader shader, std::initializer_list<Binding> bindings, const void* params, uint32_t params_bytes,
                uint32_t groups_x, uint32_t groups_y = 1, uint32_t groups_z = 1);
  // A dispatch of `groups` workgroups along x, spread over y where x's limit is too small.
  void dispatch_flat(Shader shader, std::initializer_list<Binding> bindings, const void* params,
                     uint32_t params_bytes, uint64_t groups, uint32_t groups_z = 1);
  void fill_zero(const Buffer& dst, uint64_t offset, uint64_t bytes);
  // Host data copied into the command stream now (any size; offsets and sizes multiples of 4).
  void update(const Buffer& dst, uint64_t offset, const void* data, uint64_t bytes);
  void copy(const Buffer& src, uint64_t src_offset, const Buffer& dst, uint64_t dst_offset, uint64_t bytes);

  // Submits what was recorded and waits for it.
  void flush();
  // Synchronous transfers through a staging buffer (flush first: they see all recorded work).
  Status upload(const Buffer& dst, uint64_t offset, const void* data, uint64_t bytes);
  Status download(const Buffer& src, uint64_t offset, void* data, uint64_t bytes);

  void release(VkBuffer buffer, VkDeviceMemory memory, uint64_t size);

 private:
  Device() = default;
  Status init(int index);
  Status create_pipelines();
  void begin_if_needed();
  void track(std::initializer_list<Binding> bindings);
  void track_one(VkBuffer buffer, bool written);
  VkDescriptorSet allocate_set();
  Status ensure_staging(uint64_t bytes);
  int find_memory_type(uint32_t allowed, Memory memory) const;

  DeviceInfo info_;
  VkInstance instance_ = VK_NULL_HANDLE;
  VkPhysicalDevice physical_ = VK_NULL_HANDLE;
  VkDevice device_ = VK_NULL_HANDLE;
  VkQueue queue_ = VK_NULL_HANDLE;
  uint32_t queue_family_ = 0;
  VkPhysicalDeviceMemoryProperties memory_props_{};
  uint32_t max_groups_x_ = 65535;
  uint32_t subgroup_size_ = 0;
  uint64_t max_buffer_bytes_ = 0;
  uint64_t allocated_bytes_ = 0;

  VkCommandPool command_pool_ = VK_NULL_HANDLE;
  VkCommandBuffer commands_ = VK_NULL_HANDLE;
  VkFence fence_ = VK_NULL_HANDLE;
  bool recording_ = false;
  VkDescriptorSetLayout set_layout_ = VK_NULL_HANDLE;
  VkPipelineLayout pipeline_layout_ = VK_NULL_HANDLE;
  VkDescriptorPool descriptor_pool_ = VK_NULL_HANDLE;
  std::vector<VkPipeline> pipelines_;
  std::unique_ptr<Buffer> dummy_;    // bound to the slots a shader does not use
  std::unique_ptr<Buffer> staging_;  // host-visible, for upload/download

  // Hazard tracking since the last barrier.
  std::vector<VkBuffer> written_, read_;
  // Buffers released while a recorded command may still use them.
  std::vector<std::pair<VkBuffer, VkDeviceMemory>> retired_;
};

}  // namespace limarp::vk
