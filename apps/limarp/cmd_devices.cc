// limarp devices: where a model can run (--device), with each device's memory and driver.
#include <cstdio>

#include "backend/compute_device.h"
#include "base/json_util.h"
#include "commands.h"

namespace limarp::cli {
namespace {

Status run_devices(bool json) {
  std::string note;
  const std::vector<ComputeDeviceInfo> devices = list_compute_devices(note);
  if (json) {
    Json list = Json::array();
    for (const auto& d : devices)
      list.push_back({{"id", d.id},
                      {"description", d.description},
                      {"usable", d.unusable.empty()},
                      {"reason", d.unusable},
                      {"max_buffer_bytes", d.max_buffer_bytes}});
    Json j = {{"devices", list}, {"note", note}, {"vulkan_built", vulkan_available_in_build()}};
    std::printf("%s\n", j.dump(2).c_str());
    return {};
  }
  for (const auto& d : devices)
    std::printf("%-10s %s%s\n", d.id.c_str(), d.description.c_str(),
                d.unusable.empty() ? "" : fmt::format("  [unusable: {}]", d.unusable).c_str());
  if (!note.empty()) std::printf("note: %s\n", note.c_str());
  return {};
}

}  // namespace

void register_devices(CLI::App& root, RunState& state) {
  auto json = std::make_shared<bool>(false);
  CLI::App* cmd = root.add_subcommand("devices", "List where models can run: the CPU and every Vulkan device (--device)");
  cmd->add_flag("--json", *json, "Print the list as JSON");
  cmd->callback([json, &state] { state.exit_code = report(run_devices(*json)); });
}

}  // namespace limarp::cli
