#include "support/test_support.h"

#include <sys/wait.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <unistd.h>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace fs = std::filesystem;

namespace limarp::testing {

bool in_ci() {
  const char* ci = std::getenv("CI");
  return ci && std::string(ci) == "true";
}

std::optional<std::string> assets_dir() {
  const char* env = std::getenv("LIMARP_ASSETS");
  std::string dir = env && *env ? env : LIMARP_DEFAULT_ASSETS;
  if (fs::is_directory(dir)) return dir;
  return std::nullopt;
}

std::optional<std::string> asset_path(const std::string& relative) {
  auto dir = assets_dir();
  if (!dir) return std::nullopt;
  fs::path p = fs::path(*dir) / relative;
  if (!fs::exists(p)) return std::nullopt;
  return p.string();
}

namespace {

// The test process's own folder under the temporary directory, removed when the process exits
// after its tests passed; a failed test's files stay for inspection, and LIMARP_KEEP_TEST_FILES
// keeps them always. A forked child (a server under test) exits without touching it.
class ProcessScratch {
 public:
  ProcessScratch()
      : owner_(::getpid()), root_(fs::temp_directory_path() / ("limarp-test-" + std::to_string(owner_))) {
    ::testing::UnitTest::GetInstance();  // constructed first, so it outlives this object
  }
  ProcessScratch(const ProcessScratch&) = delete;
  ProcessScratch& operator=(const ProcessScratch&) = delete;
  ~ProcessScratch() {
    if (::getpid() != owner_ || std::getenv("LIMARP_KEEP_TEST_FILES")) return;
    if (::testing::UnitTest::GetInstance()->Failed()) {
      std::fprintf(stderr, "test files kept in %s\n", root_.c_str());
      return;
    }
    std::error_code ec;
    fs::remove_all(root_, ec);
  }
  const fs::path& root() const { return root_; }

 private:
  pid_t owner_;
  fs::path root_;
};

}  // namespace

std::string scratch_dir(const std::string& name) {
  static ProcessScratch process;
  fs::path p = process.root() / name;
  fs::remove_all(p);
  fs::create_directories(p);
  return p.string();
}

std::string limarp_binary() { return LIMARP_BINARY; }
std::string python() { return LIMARP_DEFAULT_PYTHON; }
std::string source_dir() { return LIMARP_SOURCE_DIR; }

CommandResult run_command(const std::string& command) {
  CommandResult r{-1, {}};
  FILE* p = ::popen(command.c_str(), "r");
  if (!p) return r;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  const int st = ::pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

bool run_reference(const std::string& script, const std::string& args) {
  const std::string cmd =
      python() + " " + (fs::path(source_dir()) / "tests" / "reference" / script).string() + " " + args;
  CommandResult r = run_command(cmd);
  if (r.status != 0) {
    ADD_FAILURE() << "reference script failed (" << r.status << "): " << cmd << "\n" << r.out;
    return false;
  }
  return true;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary);
  out << content;
}

std::vector<float> read_f32(const std::string& path) {
  std::string s = read_file(path);
  std::vector<float> v(s.size() / 4);
  std::memcpy(v.data(), s.data(), v.size() * 4);
  return v;
}

std::vector<int32_t> read_i32(const std::string& path) {
  std::string s = read_file(path);
  std::vector<int32_t> v(s.size() / 4);
  std::memcpy(v.data(), s.data(), v.size() * 4);
  return v;
}

double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return INFINITY;
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(static_cast<double>(a[i]) - b[i]));
  return m;
}

}  // namespace limarp::testing
