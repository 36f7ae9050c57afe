// Read-only memory mapping of a whole file, so a 7B model is never copied into memory:
// tensors are views into the mapping and the kernel pages them in on demand.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
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

// Anonymous memory for weights rebuilt at load (zero-filled, huge pages where the kernel
// gives them): the pointer stays valid while any copy of the shared_ptr lives. Null when the
// system refuses the mapping.
std::shared_ptr<uint8_t> allocate_weight_memory(size_t bytes);

// Drops the pages lying wholly inside [p, p + n) of a read-only file mapping from this
// process's memory; touching them again reads them back from the file. For bytes that were
// copied elsewhere and are no longer read, so a model does not hold both copies.
void release_mapped_pages(const void* p, size_t n);

// Reads a whole (small) file into a string: configs, JSON, tokenizer files.
// Whether `path` is a regular file (or a link to one), else an error saying what it is:
// "does not exist", "is a directory", "is a FIFO (named pipe)". Checked before opening, since
// opening a FIFO blocks until someone writes to it.
Status check_regular_file(const std::string& path);

Result<std::string> read_text_file(const std::string& path, size_t max_bytes = size_t{1} << 30);

}  // namespace limarp
