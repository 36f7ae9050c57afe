#include "base/atomic_file.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

#include "base/atomic_folder.h"

namespace limarp {

Result<AtomicFile> AtomicFile::create(const std::string& path) {
  AtomicFile f;
  f.path_ = path;
  clean_stale_temporaries(std::filesystem::path(path).parent_path().string());
  f.temp_path_ = temporary_name(path);
  f.file_ = std::fopen(f.temp_path_.c_str(), "wbx");
  if (!f.file_) return make_error("cannot create {}: {}", f.temp_path_, std::strerror(errno));
  return f;
}

AtomicFile::AtomicFile(AtomicFile&& other) noexcept
    : path_(std::move(other.path_)),
      temp_path_(std::move(other.temp_path_)),
      file_(other.file_),
      position_(other.position_) {
  other.file_ = nullptr;
  other.temp_path_.clear();
}

AtomicFile::~AtomicFile() {
  if (file_) {
    std::fclose(file_);
    std::remove(temp_path_.c_str());
  }
}

Status AtomicFile::write(const void* data, size_t size) {
  if (!file_) return make_error("{}: write after commit", path_);
  if (size > 0 && std::fwrite(data, 1, size, file_) != size)
    return make_error("writing {}: {}", temp_path_, std::strerror(errno));
  position_ += size;
  return {};
}

Status AtomicFile::write_zeros(size_t count) {
  static const std::vector<uint8_t> kZeros(4096, 0);
  while (count > 0) {
    size_t n = std::min(count, kZeros.size());
    LIMARP_TRY(write(kZeros.data(), n));
    count -= n;
  }
  return {};
}

Status AtomicFile::commit() {
  if (!file_) return make_error("{}: committed twice", path_);
  bool ok = std::fflush(file_) == 0 && fsync(fileno(file_)) == 0;
  int e = errno;
  ok = (std::fclose(file_) == 0) && ok;
  file_ = nullptr;
  if (!ok) {
    std::remove(temp_path_.c_str());
    return make_error("writing {}: {}", temp_path_, std::strerror(e));
  }
  if (std::rename(temp_path_.c_str(), path_.c_str()) != 0) {
    e = errno;
    std::remove(temp_path_.c_str());
    return make_error("cannot rename {} to {}: {}", temp_path_, path_, std::strerror(e));
  }
  return {};
}

Status write_file_atomic(const std::string& path, std::string_view content) {
  LIMARP_ASSIGN_OR_RETURN(AtomicFile f, AtomicFile::create(path));
  LIMARP_TRY(f.write(content));
  return f.commit();
}

}  // namespace limarp
