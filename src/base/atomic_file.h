// Writes that could be interrupted (models, checkpoints, chat saves) go to a temporary file
// beside the target and are renamed into place only when complete, so a crash or Ctrl-C never
// leaves a half-written file under the real name.
//
//   LIMARP_ASSIGN_OR_RETURN(AtomicFile out, AtomicFile::create("model.gguf"));
//   LIMARP_TRY(out.write(bytes));
//   LIMARP_TRY(out.commit());   // without commit, the destructor removes the temporary
#pragma once

#include <cstdint>
#include <cstdio>
#include <span>
#include <string>
#include <string_view>

#include "base/status.h"

namespace limarp {

class AtomicFile {
 public:
  static Result<AtomicFile> create(const std::string& path);

  AtomicFile(AtomicFile&& other) noexcept;
  AtomicFile& operator=(AtomicFile&&) = delete;
  AtomicFile(const AtomicFile&) = delete;
  ~AtomicFile();

  Status write(const void* data, size_t size);
  Status write(std::span<const uint8_t> bytes) { return write(bytes.data(), bytes.size()); }
  Status write(std::string_view text) { return write(text.data(), text.size()); }
  Status write_zeros(size_t count);
  uint64_t position() const { return position_; }
  // Flushes, syncs and renames into place.
  Status commit();

 private:
  AtomicFile() = default;
  std::string path_;
  std::string temp_path_;
  std::FILE* file_ = nullptr;
  uint64_t position_ = 0;
};

// Convenience for small files: the whole content at once, atomically.
Status write_file_atomic(const std::string& path, std::string_view content);

}  // namespace limarp
