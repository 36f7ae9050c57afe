#include "backend/vulkan/vulkan_device.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "base/log.h"

namespace limarp::vk {

namespace {

constexpr uint32_t kBindings = 6;           // storage buffers per shader (shaders/common.glsl)
constexpr uint32_t kSetsPerPool = 2048;      // dispatches between two submissions at most
constexpr uint32_t kPushBytes = 64;
constexpr uint64_t kUpdateChunk = 65536;     // vkCmdUpdateBuffer's limit per call
constexpr uint64_t kStagingMax = 64ull << 20;

std::string vk_error(VkResult r) {
  switch (r) {
    case VK_ERROR_OUT_OF_HOST_MEMORY: return "out of host memory";
    case VK_ERROR_OUT_OF_DEVICE_MEMORY: return "out of device memory";
    case VK_ERROR_INITIALIZATION_FAILED: return "initialization failed";
    case VK_ERROR_DEVICE_LOST: return "device lost";
    case VK_ERROR_INCOMPATIBLE_DRIVER: return "no compatible Vulkan driver (install mesa-vulkan-drivers or a GPU driver)";
    case VK_ERROR_LAYER_NOT_PRESENT: return "layer not present";
    case VK_ERROR_EXTENSION_NOT_PRESENT: return "extension not present";
    case VK_ERROR_FEATURE_NOT_PRESENT: return "feature not present";
    case VK_ERROR_TOO_MANY_OBJECTS: return "too many objects";
    case VK_ERROR_OUT_OF_POOL_MEMORY: return "descriptor pool exhausted";
    default: return fmt::format("VkResult {}", static_cast<int>(r));
  }
}

// Device failures after start-up (a lost device, memory gone mid-pass) cannot be recovered by
// the caller: say what failed and stop, rather than compute on garbage.
void check_vk(VkResult r, const char* what) {
  if (r == VK_SUCCESS) return;
  log::error("vulkan: {} failed: {}", what, vk_error(r));
  std::abort();
}

std::string type_name(VkPhysicalDeviceType t) {
  switch (t) {
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return "integrated GPU";
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return "discrete GPU";
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return "virtual GPU";
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return "CPU";
    default: return "other";
  }
}

Result<VkInstance> create_instance() {
  VkApplicationInfo app{};
  app.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO;
  app.pApplicationName = "limarp";
  app.pEngineName = "limarp";
  app.apiVersion = VK_API_VERSION_1_2;
  VkInstanceCreateInfo ci{};
  ci.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO;
  ci.pApplicationInfo = &app;
  VkInstance instance = VK_NULL_HANDLE;
  const VkResult r = vkCreateInstance(&ci, nullptr, &instance);
  if (r != VK_SUCCESS) return make_error("vulkan: cannot create an instance: {}", vk_error(r));
  return instance;
}

std::vector<VkPhysicalDevice> physical_devices(VkInstance instance) {
  uint32_t n = 0;
  vkEnumeratePhysicalDevices(instance, &n, nullptr);
  std::vector<VkPhysicalDevice> out(n);
  if (n) vkEnumeratePhysicalDevices(instance, &n, out.data());
  out.resize(n);
  return out;
}

int compute_queue_family(VkPhysicalDevice pd) {
  uint32_t n = 0;
  vkGetPhysicalDeviceQueueFamilyProperties(pd, &n, nullptr);
  std::vector<VkQueueFamilyProperties> families(n);
  vkGetPhysicalDeviceQueueFamilyProperties(pd, &n, families.data());
  for (uint32_t i = 0; i < n; ++i)
    if (families[i].queueFlags & VK_QUEUE_COMPUTE_BIT) return static_cast<int>(i);
  return -1;
}

// The device's properties, filling in `extension` (a Vulkan 1.1/1.2 properties struct) too.
VkPhysicalDeviceProperties query_properties(VkPhysicalDevice pd, void* extension) {
  VkPhysicalDeviceProperties2 props{};
  props.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2;
  props.pNext = extension;
  vkGetPhysicalDeviceProperties2(pd, &props);
  return props.properties;
}

DeviceInfo describe(VkPhysicalDevice pd, int index) {
  VkPhysicalDeviceDriverProperties driver{};
  driver.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES;
  const VkPhysicalDeviceProperties properties = query_properties(pd, &driver);
  VkPhysicalDeviceMemoryProperties mem{};
  vkGetPhysicalDeviceMemoryProperties(pd, &mem);
  DeviceInfo info;
  info.index = index;
  info.name = properties.deviceName;
  info.type = type_name(properties.deviceType);
  info.driver = fmt::format("{} {}", driver.driverName, driver.driverInfo);
  const uint32_t v = properties.apiVersion;
  info.max_buffer_bytes = properties.limits.maxStorageBufferRange;
  info.api_version = fmt::format("{}.{}.{}", VK_API_VERSION_MAJOR(v), VK_API_VERSION_MINOR(v), VK_API_VERSION_PATCH(v));
  for (uint32_t i = 0; i < mem.memoryHeapCount; ++i)
    if (mem.memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) info.device_local_bytes += mem.memoryHeaps[i].size;
  if (VK_API_VERSION_MAJOR(v) == 1 && VK_API_VERSION_MINOR(v) < 1) info.unusable = "Vulkan 1.1 or newer is needed";
  else if (compute_queue_family(pd) < 0) info.unusable = "no compute queue";
  else if (properties.limits.maxComputeSharedMemorySize < 16384) info.unusable = "too little shared memory";
  return info;
}

}  // namespace

void must_ok(const Status& status, const char* what) {
  if (status.ok()) return;
  log::error("vulkan: {} failed: {}", what, status.error().message());
  std::abort();
}

Result<std::vector<DeviceInfo>> list_devices() {
  LIMARP_ASSIGN_OR_RETURN(VkInstance instance, create_instance());
  std::vector<DeviceInfo> out;
  int index = 0;
  for (VkPhysicalDevice pd : physical_devices(instance)) out.push_back(describe(pd, index++));
  vkDestroyInstance(instance, nullptr);
  return out;
}

Buffer::~Buffer() { device_.release(handle_, memory_, size_); }

Result<std::unique_ptr<Device>> Device::open(int index) {
  std::unique_ptr<Device> d(new Device());
  LIMARP_TRY(d->init(index));
  return d;
}

Status Device::init(int index) {
  LIMARP_ASSIGN_OR_RETURN(instance_, create_instance());
  const std::vector<VkPhysicalDevice> all = physical_devices(instance_);
  if (all.empty()) return make_error("vulkan: no device found (install mesa-vulkan-drivers for lavapipe, or a GPU driver)");
  if (index < 0 || index >= static_cast<int>(all.size()))
    return make_error("vulkan: there is no device {}; this machine has {} (limarp devices lists them)", index, all.size());
  physical_ = all[static_cast<size_t>(index)];
  info_ = describe(physical_, index);
  if (!info_.unusable.empty()) return make_error("vulkan device {} ({}): {}", index, info_.name, info_.unusable);
  queue_family_ = static_cast<uint32_t>(compute_queue_family(physical_));
  vkGetPhysicalDeviceMemoryProperties(physical_, &memory_props_);
  VkPhysicalDeviceSubgroupProperties subgroup{};
  subgroup.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES;
  const VkPhysicalDeviceProperties props = query_properties(physical_, &subgroup);
  max_groups_x_ = props.limits.maxComputeWorkGroupCount[0];
  const VkSubgroupFeatureFlags needed = VK_SUBGROUP_FEATURE_BASIC_BIT | VK_SUBGROUP_FEATURE_ARITHMETIC_BIT;
  if ((subgroup.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT) && (subgroup.supportedOperations & needed) == needed &&
      subgroup.subgroupSize >= 1 && subgroup.subgroupSize <= 64 && !std::getenv("LIMARP_VULKAN_NO_SUBGROUPS"))
    subgroup_size_ = subgroup.subgroupSize;
  max_buffer_bytes_ = props.limits.maxStorageBufferRange;

  const float priority = 1.0f;
  VkDeviceQueueCreateInfo qci{};
  qci.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO;
  qci.queueFamilyIndex = queue_family_;
  qci.queueCount = 1;
  qci.pQueuePriorities = &priority;
  VkDeviceCreateInfo dci{};
  dci.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO;
  dci.queueCreateInfoCount = 1;
  dci.pQueueCreateInfos = &qci;
  VkResult r = vkCreateDevice(physical_, &dci, nullptr, &device_);
  if (r != VK_SUCCESS) return make_error("vulkan device {} ({}): cannot open: {}", index, info_.name, vk_error(r));
  vkGetDeviceQueue(device_, queue_family_, 0, &queue_);

  VkCommandPoolCreateInfo pci{};
  pci.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO;
  pci.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
  pci.queueFamilyIndex = queue_family_;
  check_vk(vkCreateCommandPool(device_, &pci, nullptr, &command_pool_), "vkCreateCommandPool");
  VkCommandBufferAllocateInfo cai{};
  cai.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO;
  cai.commandPool = command_pool_;
  cai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
  cai.commandBufferCount = 1;
  check_vk(vkAllocateCommandBuffers(device_, &cai, &commands_), "vkAllocateCommandBuffers");
  VkFenceCreateInfo fci{};
  fci.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO;
  check_vk(vkCreateFence(device_, &fci, nullptr, &fence_), "vkCreateFence");

  VkDescriptorSetLayoutBinding bindings[kBindings]{};
  for (uint32_t i = 0; i < kBindings; ++i) {
    bindings[i].binding = i;
    bindings[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
    bindings[i].descriptorCount = 1;
    bindings[i].stageFlags = VK_SHADER_STAGE_COMPUTE_BIT;
  }
  VkDescriptorSetLayoutCreateInfo lci{};
  lci.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO;
  lci.bindingCount = kBindings;
  lci.pBindings = bindings;
  check_vk(vkCreateDescriptorSetLayout(device_, &lci, nullptr, &set_layout_), "vkCreateDescriptorSetLayout");
  VkPushConstantRange push{VK_SHADER_STAGE_COMPUTE_BIT, 0, kPushBytes};
  VkPipelineLayoutCreateInfo plci{};
  plci.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO;
  plci.setLayoutCount = 1;
  plci.pSetLayouts = &set_layout_;
  plci.pushConstantRangeCount = 1;
  plci.pPushConstantRanges = &push;
  check_vk(vkCreatePipelineLayout(device_, &plci, nullptr, &pipeline_layout_), "vkCreatePipelineLayout");
  VkDescriptorPoolSize size{VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, kSetsPerPool * kBindings};
  VkDescriptorPoolCreateInfo dpci{};
  dpci.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO;
  dpci.maxSets = kSetsPerPool;
  dpci.poolSizeCount = 1;
  dpci.pPoolSizes = &size;
  check_vk(vkCreateDescriptorPool(device_, &dpci, nullptr, &descriptor_pool_), "vkCreateDescriptorPool");
  LIMARP_TRY(create_pipelines());
  LIMARP_ASSIGN_OR_RETURN(dummy_, create_buffer(256, Memory::kDevice, "placeholder"));
  return {};
}

Status Device::create_pipelines() {
  for (uint32_t s = 0; s < static_cast<uint32_t>(Shader::kCount); ++s) {
    const ShaderCode code = shader_code(static_cast<Shader>(s));
    VkShaderModuleCreateInfo mci{};
    mci.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO;
    mci.codeSize = code.count * sizeof(uint32_t);
    mci.pCode = code.words;
    VkShaderModule module = VK_NULL_HANDLE;
    VkResult r = vkCreateShaderModule(device_, &mci, nullptr, &module);
    if (r != VK_SUCCESS) return make_error("vulkan: shader {}: {}", code.name, vk_error(r));
    VkComputePipelineCreateInfo cci{};
    cci.sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO;
    cci.stage.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO;
    cci.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
    cci.stage.module = module;
    cci.stage.pName = "main";
    cci.layout = pipeline_layout_;
    VkPipeline pipeline = VK_NULL_HANDLE;
    r = vkCreateComputePipelines(device_, VK_NULL_HANDLE, 1, &cci, nullptr, &pipeline);
    vkDestroyShaderModule(device_, module, nullptr);
    if (r != VK_SUCCESS) return make_error("vulkan: pipeline {}: {}", code.name, vk_error(r));
    pipelines_.push_back(pipeline);
  }
  return {};
}

Device::~Device() {
  if (device_) {
    if (recording_) flush();
    vkDeviceWaitIdle(device_);
    dummy_.reset();
    staging_.reset();
    for (auto& [b, m] : retired_) {
      vkDestroyBuffer(device_, b, nullptr);
      vkFreeMemory(device_, m, nullptr);
    }
    for (VkPipeline p : pipelines_) vkDestroyPipeline(device_, p, nullptr);
    vkDestroyDescriptorPool(device_, descriptor_pool_, nullptr);
    vkDestroyPipelineLayout(device_, pipeline_layout_, nullptr);
    vkDestroyDescriptorSetLayout(device_, set_layout_, nullptr);
    vkDestroyFence(device_, fence_, nullptr);
    vkDestroyCommandPool(device_, command_pool_, nullptr);
    vkDestroyDevice(device_, nullptr);
  }
  if (instance_) vkDestroyInstance(instance_, nullptr);
}

int Device::find_memory_type(uint32_t allowed, Memory memory) const {
  // Preferred property sets first, then the minimum that works.
  std::vector<VkMemoryPropertyFlags> wanted;
  const VkMemoryPropertyFlags host = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
  if (memory == Memory::kDevice) wanted = {VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT, 0};
  else if (memory == Memory::kReadback) wanted = {host | VK_MEMORY_PROPERTY_HOST_CACHED_BIT, host};
  else wanted = {host};
  for (VkMemoryPropertyFlags flags : wanted)
    for (uint32_t i = 0; i < memory_props_.memoryTypeCount; ++i)
      if ((allowed & (1u << i)) && (memory_props_.memoryTypes[i].propertyFlags & flags) == flags)
        return static_cast<int>(i);
  return -1;
}

Result<std::unique_ptr<Buffer>> Device::create_buffer(uint64_t bytes, Memory memory, const std::string& what) {
  bytes = std::max<uint64_t>((bytes + 3) / 4 * 4, 16);
  if (bytes > max_buffer_bytes_)
    return make_error("vulkan: {} needs {:.0f} MiB in one buffer; {} binds at most {:.0f} MiB", what,
                      static_cast<double>(bytes) / (1 << 20), info_.name, static_cast<double>(max_buffer_bytes_) / (1 << 20));
  VkBufferCreateInfo bci{};
  bci.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO;
  bci.size = bytes;
  bci.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT;
  bci.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
  VkBuffer buffer = VK_NULL_HANDLE;
  VkResult r = vkCreateBuffer(device_, &bci, nullptr, &buffer);
  if (r != VK_SUCCESS) return make_error("vulkan: cannot create a buffer for {}: {}", what, vk_error(r));
  VkMemoryRequirements req{};
  vkGetBufferMemoryRequirements(device_, buffer, &req);
  const int type = find_memory_type(req.memoryTypeBits, memory);
  if (type < 0) {
    vkDestroyBuffer(device_, buffer, nullptr);
    return make_error("vulkan: no suitable memory type for {}", what);
  }
  VkMemoryAllocateInfo mai{};
  mai.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO;
  mai.allocationSize = req.size;
  mai.memoryTypeIndex = static_cast<uint32_t>(type);
  VkDeviceMemory mem = VK_NULL_HANDLE;
  r = vkAllocateMemory(device_, &mai, nullptr, &mem);
  if (r != VK_SUCCESS) {
    vkDestroyBuffer(device_, buffer, nullptr);
    return make_error("vulkan: cannot allocate {:.1f} MiB for {} on {} ({:.0f} MiB allocated so far): {}",
                      static_cast<double>(bytes) / (1 << 20), what, info_.name,
                      static_cast<double>(allocated_bytes_) / (1 << 20), vk_error(r));
  }
  vkBindBufferMemory(device_, buffer, mem, 0);
  void* mapped = nullptr;
  if (memory != Memory::kDevice) check_vk(vkMapMemory(device_, mem, 0, VK_WHOLE_SIZE, 0, &mapped), "vkMapMemory");
  allocated_bytes_ += bytes;
  return std::make_unique<Buffer>(*this, buffer, mem, bytes, mapped);
}

void Device::release(VkBuffer buffer, VkDeviceMemory memory, uint64_t size) {
  allocated_bytes_ -= size;
  if (recording_) {
    retired_.emplace_back(buffer, memory);
    return;
  }
  vkDestroyBuffer(device_, buffer, nullptr);
  vkFreeMemory(device_, memory, nullptr);
}

void Device::begin_if_needed() {
  if (recording_) return;
  VkCommandBufferBeginInfo bi{};
  bi.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO;
  bi.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
  check_vk(vkBeginCommandBuffer(commands_, &bi), "vkBeginCommandBuffer");
  recording_ = true;
  written_.clear();
  read_.clear();
}

void Device::track_one(VkBuffer buffer, bool written) {
  auto has = [](const std::vector<VkBuffer>& v, VkBuffer b) { return std::find(v.begin(), v.end(), b) != v.end(); };
  if (has(written_, buffer) || (written && has(read_, buffer))) {
    VkMemoryBarrier mb{};
    mb.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER;
    mb.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
    mb.dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_READ_BIT |
                       VK_ACCESS_TRANSFER_WRITE_BIT;
    const VkPipelineStageFlags stages = VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT;
    vkCmdPipelineBarrier(commands_, stages, stages, 0, 1, &mb, 0, nullptr, 0, nullptr);
    written_.clear();
    read_.clear();
  }
}

void Device::track(std::initializer_list<Binding> bindings) {
  for (const Binding& b : bindings) track_one(b.buffer->handle(), b.written);
  for (const Binding& b : bindings) (b.written ? written_ : read_).push_back(b.buffer->handle());
}

VkDescriptorSet Device::allocate_set() {
  VkDescriptorSetAllocateInfo ai{};
  ai.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO;
  ai.descriptorPool = descriptor_pool_;
  ai.descriptorSetCount = 1;
  ai.pSetLayouts = &set_layout_;
  VkDescriptorSet set = VK_NULL_HANDLE;
  VkResult r = vkAllocateDescriptorSets(device_, &ai, &set);
  if (r == VK_ERROR_OUT_OF_POOL_MEMORY || r == VK_ERROR_FRAGMENTED_POOL) {
    // Every set of the pool is in use by recorded work: run it, which frees the pool.
    flush();
    begin_if_needed();
    r = vkAllocateDescriptorSets(device_, &ai, &set);
  }
  check_vk(r, "vkAllocateDescriptorSets");
  return set;
}

void Device::dispatch(Shader shader, std::initializer_list<Binding> bindings, const void* params,
                      uint32_t params_bytes, uint32_t groups_x, uint32_t groups_y, uint32_t groups_z) {
  LIMARP_CHECK(bindings.size() <= kBindings && params_bytes <= kPushBytes);
  if (groups_x == 0 || groups_y == 0 || groups_z == 0) return;
  begin_if_needed();
  const VkDescriptorSet set = allocate_set();
  VkDescriptorBufferInfo infos[kBindings];
  VkWriteDescriptorSet writes[kBindings]{};
  size_t i = 0;
  for (const Binding& b : bindings) infos[i++] = {b.buffer->handle(), 0, VK_WHOLE_SIZE};
  for (; i < kBindings; ++i) infos[i] = {dummy_->handle(), 0, VK_WHOLE_SIZE};
  for (uint32_t j = 0; j < kBindings; ++j) {
    writes[j].sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET;
    writes[j].dstSet = set;
    writes[j].dstBinding = j;
    writes[j].descriptorCount = 1;
    writes[j].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
    writes[j].pBufferInfo = &infos[j];
  }
  vkUpdateDescriptorSets(device_, kBindings, writes, 0, nullptr);
  track(bindings);
  vkCmdBindPipeline(commands_, VK_PIPELINE_BIND_POINT_COMPUTE, pipelines_[static_cast<size_t>(shader)]);
  vkCmdBindDescriptorSets(commands_, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline_layout_, 0, 1, &set, 0, nullptr);
  if (params_bytes) vkCmdPushConstants(commands_, pipeline_layout_, VK_SHADER_STAGE_COMPUTE_BIT, 0, params_bytes, params);
  vkCmdDispatch(commands_, groups_x, groups_y, groups_z);
}

void Device::dispatch_flat(Shader shader, std::initializer_list<Binding> bindings, const void* params,
                           uint32_t params_bytes, uint64_t groups, uint32_t groups_z) {
  const uint64_t x = std::min<uint64_t>(groups, max_groups_x_);
  const uint64_t y = x ? (groups + x - 1) / x : 0;
  dispatch(shader, bindings, params, params_bytes, static_cast<uint32_t>(x), static_cast<uint32_t>(y), groups_z);
}

void Device::fill_zero(const Buffer& dst, uint64_t offset, uint64_t bytes) {
  if (!bytes) return;
  begin_if_needed();
  track({{&dst, true}});
  vkCmdFillBuffer(commands_, dst.handle(), offset, bytes, 0);
}

void Device::update(const Buffer& dst, uint64_t offset, const void* data, uint64_t bytes) {
  if (!bytes) return;
  begin_if_needed();
  track({{&dst, true}});
  const auto* p = static_cast<const uint8_t*>(data);
  for (uint64_t done = 0; done < bytes; done += kUpdateChunk)
    vkCmdUpdateBuffer(commands_, dst.handle(), offset + done, std::min(kUpdateChunk, bytes - done), p + done);
}

void Device::copy(const Buffer& src, uint64_t src_offset, const Buffer& dst, uint64_t dst_offset, uint64_t bytes) {
  if (!bytes) return;
  begin_if_needed();
  track({{&src, false}, {&dst, true}});
  VkBufferCopy region{src_offset, dst_offset, bytes};
  vkCmdCopyBuffer(commands_, src.handle(), dst.handle(), 1, &region);
}

void Device::flush() {
  if (!recording_) return;
  recording_ = false;
  check_vk(vkEndCommandBuffer(commands_), "vkEndCommandBuffer");
  VkSubmitInfo si{};
  si.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO;
  si.commandBufferCount = 1;
  si.pCommandBuffers = &commands_;
  check_vk(vkQueueSubmit(queue_, 1, &si, fence_), "vkQueueSubmit");
  check_vk(vkWaitForFences(device_, 1, &fence_, VK_TRUE, UINT64_MAX), "vkWaitForFences");
  check_vk(vkResetFences(device_, 1, &fence_), "vkResetFences");
  check_vk(vkResetCommandBuffer(commands_, 0), "vkResetCommandBuffer");
  check_vk(vkResetDescriptorPool(device_, descriptor_pool_, 0), "vkResetDescriptorPool");
  for (auto& [b, m] : retired_) {
    vkDestroyBuffer(device_, b, nullptr);
    vkFreeMemory(device_, m, nullptr);
  }
  retired_.clear();
}

Status Device::ensure_staging(uint64_t bytes) {
  if (staging_ && staging_->size() >= bytes) return {};
  staging_.reset();
  LIMARP_ASSIGN_OR_RETURN(staging_, create_buffer(bytes, Memory::kReadback, "the staging buffer"));
  return {};
}

Status Device::upload(const Buffer& dst, uint64_t offset, const void* data, uint64_t bytes) {
  flush();
  LIMARP_TRY(ensure_staging(std::min(bytes, kStagingMax)));
  const auto* p = static_cast<const uint8_t*>(data);
  for (uint64_t done = 0; done < bytes;) {
    const uint64_t n = std::min(staging_->size(), bytes - done);
    std::memcpy(staging_->mapped(), p + done, n);
    copy(*staging_, 0, dst, offset + done, n);
    flush();
    done += n;
  }
  return {};
}

Status Device::download(const Buffer& src, uint64_t offset, void* data, uint64_t bytes) {
  LIMARP_TRY(ensure_staging(std::min(bytes, kStagingMax)));
  auto* p = static_cast<uint8_t*>(data);
  for (uint64_t done = 0; done < bytes;) {
    const uint64_t n = std::min(staging_->size(), bytes - done);
    copy(src, offset + done, *staging_, 0, n);
    flush();
    std::memcpy(p + done, staging_->mapped(), n);
    done += n;
  }
  return {};
}

}  // namespace limarp::vk
