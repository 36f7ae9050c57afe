#include "base/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace limarp {

Status check_regular_file(const std::string& path) {
  std::error_code ec;
  const auto st = std::filesystem::status(path, ec);
  switch (st.type()) {
    case std::filesystem::file_type::regular: return {};
    case std::filesystem::file_type::not_found: return make_error("{} does not exist", path);
    case std::filesystem::file_type::directory: return make_error("{} is a directory, not a file", path);
    case std::filesystem::file_type::fifo: return make_error("{} is a FIFO (named pipe), not a regular file", path);
    case std::filesystem::file_type::none:
      return make_error("cannot examine {}: {}", path, ec ? ec.message() : "unknown error");
    default: return make_error("{} is not a regular file", path);
  }
}

Result<MappedFile> MappedFile::open(const std::string& path) {
  LIMARP_TRY(check_regular_file(path));
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return make_error("cannot open {}: {}", path, std::strerror(errno));
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    int e = errno;
    ::close(fd);
    return make_error("cannot stat {}: {}", path, std::strerror(e));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return make_error("{} is not a regular file", path);
  }
  MappedFile file;
  file.path_ = path;
  file.size_ = static_cast<size_t>(st.st_size);
  if (file.size_ > 0) {
    void* p = mmap(nullptr, file.size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      int e = errno;
      ::close(fd);
      return make_error("cannot map {}: {}", path, std::strerror(e));
    }
    file.data_ = static_cast<const uint8_t*>(p);
    // Weights are streamed front to back on every token: ask for read-ahead, and for huge
    // pages where the kernel can back file pages with them (fewer TLB walks, prefetchers that
    // are not cut off every 4 KiB). Both are hints; failure changes nothing.
    madvise(p, file.size_, MADV_WILLNEED);
#ifdef MADV_HUGEPAGE
    madvise(p, file.size_, MADV_HUGEPAGE);
#endif
  }
  ::close(fd);
  return file;
}

MappedFile::MappedFile(MappedFile&& other) noexcept { *this = std::move(other); }

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
  if (this != &other) {
    if (data_) munmap(const_cast<uint8_t*>(data_), size_);
    path_ = std::move(other.path_);
    data_ = other.data_;
    size_ = other.size_;
    other.data_ = nullptr;
    other.size_ = 0;
  }
  return *this;
}

MappedFile::~MappedFile() {
  if (data_) munmap(const_cast<uint8_t*>(data_), size_);
}

std::shared_ptr<uint8_t> allocate_weight_memory(size_t bytes) {
  const size_t size = std::max<size_t>(bytes, 1);
  void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return nullptr;
#ifdef MADV_HUGEPAGE
  madvise(p, size, MADV_HUGEPAGE);
#endif
  return std::shared_ptr<uint8_t>(static_cast<uint8_t*>(p), [size](uint8_t* q) { munmap(q, size); });
}

void release_mapped_pages(const void* p, size_t n) {
  const auto page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const auto begin = (reinterpret_cast<uintptr_t>(p) + page - 1) / page * page;
  const auto end = (reinterpret_cast<uintptr_t>(p) + n) / page * page;
  if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
}

Result<std::string> read_text_file(const std::string& path, size_t max_bytes) {
  LIMARP_TRY(check_regular_file(path));
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error("cannot open {}: {}", path, std::strerror(errno));
  in.seekg(0, std::ios::end);
  auto size = static_cast<size_t>(in.tellg());
  if (size > max_bytes) return make_error("{} is {} bytes, more than the {} allowed", path, size, max_bytes);
  in.seekg(0);
  std::string text(size, '\0');
  if (size > 0 && !in.read(text.data(), static_cast<std::streamsize>(size)))
    return make_error("cannot read {}", path);
  return text;
}

}  // namespace limarp
