// Helpers shared by the test programs: where the third-party assets are, a scratch folder,
// running the python3-torch oracle scripts, and reading the raw arrays they write.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace limarp::testing {

// The shared assets folder (LIMARP_ASSETS, else ../shared/assets), or nullopt when absent.
std::optional<std::string> assets_dir();
// The path of an asset; when the assets are absent the calling test is skipped — except under
// CI=true, where a missing asset is a failure. Use through LIMARP_ASSET.
std::optional<std::string> asset_path(const std::string& relative);

#define LIMARP_ASSET(var, relative)                                                   \
  auto var##_opt = ::limarp::testing::asset_path(relative);                           \
  if (!var##_opt) {                                                                   \
    if (::limarp::testing::in_ci()) FAIL() << "missing test asset " << (relative);    \
    GTEST_SKIP() << "test assets not found (../shared/assets): skipping";             \
  }                                                                                   \
  const std::string var = *var##_opt

bool in_ci();

// A fresh, empty directory under the build tree for this test; removed at the next run.
std::string scratch_dir(const std::string& name);

// The built limarp binary, the python interpreter and the source tree.
std::string limarp_binary();
std::string python();
std::string source_dir();

// Runs a command; returns its exit status and captures stdout (stderr goes to the log).
struct CommandResult {
  int status;
  std::string out;
};
CommandResult run_command(const std::string& command);

// Runs tests/reference/<script> with arguments; fails the test if it fails. Skips when
// python3-torch is missing outside CI.
bool run_reference(const std::string& script, const std::string& args);

// Raw little-endian float32 / int32 arrays as the reference scripts write them (.f32 / .i32).
std::vector<float> read_f32(const std::string& path);
std::vector<int32_t> read_i32(const std::string& path);
std::string read_file(const std::string& path);
void write_file(const std::string& path, const std::string& content);

// max |a - b| / (max |b| + tiny)  and  max |a - b|
double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b);

}  // namespace limarp::testing
