#include "backend/compute_device.h"

#include <charconv>

#include "base/thread_pool.h"
#include "kernels/cpu/registry.h"
#ifdef LIMARP_HAS_VULKAN
#include "backend/vulkan/vulkan_backend.h"
#endif

namespace limarp {

std::string DeviceSpec::to_string() const { return is_cpu() ? "cpu" : fmt::format("vulkan:{}", index); }

Result<DeviceSpec> parse_device(std::string_view text) {
  if (text == "cpu") return DeviceSpec{};
  if (text.starts_with("vulkan")) {
    std::string_view rest = text.substr(6);
    DeviceSpec spec{DeviceSpec::Kind::kVulkan, 0};
    if (rest.empty()) return spec;
    if (rest.front() == ':') {
      rest.remove_prefix(1);
      const auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), spec.index);
      if (ec == std::errc() && end == rest.data() + rest.size() && !rest.empty() && spec.index >= 0) return spec;
    }
  }
  return make_error("unknown device '{}': use cpu, vulkan or vulkan:N (limarp devices lists them)", text);
}

bool vulkan_available_in_build() {
#ifdef LIMARP_HAS_VULKAN
  return true;
#else
  return false;
#endif
}

Result<std::unique_ptr<Backend>> open_device_backend(const DeviceSpec& spec) {
  if (spec.is_cpu()) return make_error("the CPU backend is built by the Forward, on its thread pool");
#ifdef LIMARP_HAS_VULKAN
  LIMARP_ASSIGN_OR_RETURN(auto vk, VulkanBackend::open(spec.index));
  return std::unique_ptr<Backend>(std::move(vk));
#else
  return make_error("--device {}: this limarp was built without Vulkan (install libvulkan-dev and glslc, then rebuild)",
                    spec.to_string());
#endif
}

std::vector<ComputeDeviceInfo> list_compute_devices(std::string& note) {
  std::vector<ComputeDeviceInfo> out;
  out.push_back({"cpu", fmt::format("{} threads, {} kernels", ThreadPool::default_threads(),
                                    kernels::isa_name(kernels::active_isa())), ""});
#ifdef LIMARP_HAS_VULKAN
  auto devices = vk::list_devices();
  if (!devices.ok()) {
    note = devices.error().message();
    return out;
  }
  if (devices->empty()) note = "vulkan: no device found (install mesa-vulkan-drivers for lavapipe, or a GPU driver)";
  for (const vk::DeviceInfo& d : *devices)
    out.push_back({fmt::format("vulkan:{}", d.index),
                   fmt::format("{} ({}, {:.0f} MiB device memory, buffers up to {:.0f} MiB, driver {}, Vulkan {})",
                               d.name, d.type, static_cast<double>(d.device_local_bytes) / (1 << 20),
                               static_cast<double>(d.max_buffer_bytes) / (1 << 20), d.driver, d.api_version),
                   d.unusable, d.max_buffer_bytes});
#else
  note = "this limarp was built without Vulkan (install libvulkan-dev and glslc, then rebuild)";
#endif
  return out;
}

}  // namespace limarp
