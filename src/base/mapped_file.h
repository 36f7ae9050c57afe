// Read-only memory mapping of a whole file, so a 7B model is never copied into memory:
// tensors are views into the mapping and the kernel pages them in on demand.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "base/status.h"

namespace limarp {

class MappedFile {
 public:
  static Result<MappedFile> open(const std::string& path);

  MappedFile() = default;
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  std::span<const uint8_t> bytes() const { return {data_, size_}; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

// Reads a whole (small) file into a string: configs, JSON, tokenizer files.
Result<std::string> read_text_file(const std::string& path, size_t max_bytes = size_t{1} << 30);

}  // namespace limarp
