#include "base/atomic_folder.h"

#include <signal.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <charconv>
#include <filesystem>
#include <random>

#include "base/log.h"

namespace fs = std::filesystem;

namespace limarp {
namespace {

// The pid in `<name>.tmp.<pid>.<8 hex>`, or -1 when the name is not limarp's pattern.
long temporary_owner(std::string_view name) {
  const size_t hex_dot = name.rfind('.');
  if (hex_dot == std::string_view::npos || name.size() - hex_dot - 1 != 8) return -1;
  for (char c : name.substr(hex_dot + 1))
    if (!std::isxdigit(static_cast<unsigned char>(c))) return -1;
  const size_t pid_dot = name.rfind('.', hex_dot - 1);
  if (pid_dot == std::string_view::npos || pid_dot < 4 || name.substr(pid_dot - 4, 4) != ".tmp") return -1;
  long pid = -1;
  const auto digits = name.substr(pid_dot + 1, hex_dot - pid_dot - 1);
  const auto r = std::from_chars(digits.data(), digits.data() + digits.size(), pid);
  if (r.ec != std::errc() || r.ptr != digits.data() + digits.size() || pid <= 0) return -1;
  return pid;
}

bool is_old_checkpoint_partial(std::string_view name) {
  if (!name.starts_with("checkpoint-") || !name.ends_with(".partial")) return false;
  const auto digits = name.substr(11, name.size() - 11 - 8);
  return !digits.empty() && digits.find_first_not_of("0123456789") == std::string_view::npos;
}

bool process_alive(long pid) { return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH; }

// An earlier output of a writer: only files, with the extensions model folders hold.
Status replaceable(const fs::path& dir) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string ext = e.path().extension().string();
    const bool known = ext == ".safetensors" || ext == ".json" || ext == ".model" || ext == ".bin" || ext == ".gguf";
    if (!e.is_regular_file(ec) || !known)
      return make_error("{} exists and holds {}, which limarp did not write; not replacing it (remove it or choose "
                        "another name)",
                        dir.string(), e.path().filename().string());
  }
  if (ec) return make_error("cannot list {}: {}", dir.string(), ec.message());
  return {};
}

}  // namespace

std::string temporary_name(const std::string& path) {
  std::random_device rd;
  return fmt::format("{}.tmp.{}.{:08x}", path, getpid(), rd());
}

StaleTemporaries clean_stale_temporaries(const std::string& dir) {
  StaleTemporaries out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir.empty() ? "." : dir, ec)) {
    const std::string name = e.path().filename().string();
    const long pid = temporary_owner(name);
    if (pid < 0 && !is_old_checkpoint_partial(name)) continue;
    if (pid == getpid()) continue;  // this process's own write in progress
    if (pid > 0 && process_alive(pid)) {
      log::warn("{}: a temporary of process {}, which is still running; left in place", e.path().string(), pid);
      out.in_use.push_back(e.path().string());
      continue;
    }
    std::error_code rm;
    fs::remove_all(e.path(), rm);
    if (rm) {
      log::warn("{}: stale temporary of an interrupted run; cannot remove it: {}", e.path().string(), rm.message());
      continue;
    }
    log::info("removed {}, left by an interrupted run", e.path().string());
    out.removed.push_back(e.path().string());
  }
  return out;
}

Result<AtomicFolder> AtomicFolder::create(const std::string& path) {
  AtomicFolder f;
  f.path_ = path;
  const fs::path parent = fs::path(path).parent_path();
  std::error_code ec;
  if (!parent.empty()) fs::create_directories(parent, ec);
  if (ec) return make_error("cannot create folder {}: {}", parent.string(), ec.message());
  clean_stale_temporaries(parent.string());
  f.temp_path_ = temporary_name(path);
  if (!fs::create_directory(f.temp_path_, ec) || ec)
    return make_error("cannot create folder {}: {}", f.temp_path_, ec ? ec.message() : "it already exists");
  return f;
}

AtomicFolder::AtomicFolder(AtomicFolder&& other) noexcept
    : path_(std::move(other.path_)), temp_path_(std::move(other.temp_path_)) {
  other.temp_path_.clear();
}

AtomicFolder::~AtomicFolder() {
  if (temp_path_.empty()) return;
  std::error_code ec;
  fs::remove_all(temp_path_, ec);
}

Status AtomicFolder::commit() {
  if (temp_path_.empty()) return make_error("{}: committed twice", path_);
  std::error_code ec;
  std::string old;
  if (fs::exists(path_, ec)) {
    if (!fs::is_directory(path_, ec)) return make_error("{} exists and is not a folder; not replacing it", path_);
    LIMARP_TRY(replaceable(path_));
    // Moved aside under a temporary name, so a kill between the two renames leaves a
    // temporary for the next run to clean, never a mix of old and new files.
    old = temporary_name(path_);
    fs::rename(path_, old, ec);
    if (ec) return make_error("cannot move the old {} aside: {}", path_, ec.message());
  }
  fs::rename(temp_path_, path_, ec);
  if (ec) return make_error("cannot rename {} to {}: {}", temp_path_, path_, ec.message());
  temp_path_.clear();
  if (!old.empty()) fs::remove_all(old, ec);
  return {};
}

}  // namespace limarp
