// Where a run computes: `--device cpu` (the default) or `--device vulkan[:N]`, and the list of
// what this machine has (`limarp devices`). The Vulkan backend exists only in builds with
// LIMARP_VULKAN; elsewhere asking for it is an error that says so.
//
//   LIMARP_ASSIGN_OR_RETURN(DeviceSpec spec, parse_device("vulkan:0"));
//   LIMARP_ASSIGN_OR_RETURN(auto backend, open_device_backend(spec));   // not for cpu
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "backend/backend.h"
#include "base/status.h"

namespace limarp {

struct DeviceSpec {
  enum class Kind { kCpu, kVulkan } kind = Kind::kCpu;
  int index = 0;
  bool is_cpu() const { return kind == Kind::kCpu; }
  std::string to_string() const;
};

Result<DeviceSpec> parse_device(std::string_view text);
bool vulkan_available_in_build();

// A device's backend (an error for the CPU, whose backend the Forward builds on its pool).
Result<std::unique_ptr<Backend>> open_device_backend(const DeviceSpec& spec);

struct ComputeDeviceInfo {
  std::string id;           // what --device takes
  std::string description;  // name, type, memory, driver
  std::string unusable;     // why it cannot run limarp, or empty
  uint64_t max_buffer_bytes = 0;  // a device's largest bindable buffer (0: the CPU)
};
// The CPU first, then every Vulkan device; `note` says why Vulkan devices are missing, if they are.
std::vector<ComputeDeviceInfo> list_compute_devices(std::string& note);

}  // namespace limarp
