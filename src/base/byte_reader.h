// A bounds-checked cursor over untrusted bytes. Every parser of a file format reads through
// it, so a truncated or hostile file produces an error naming what was being read instead of
// an out-of-bounds read.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>

#include "base/status.h"

namespace limarp {

class ByteReader {
 public:
  explicit ByteReader(std::span<const uint8_t> bytes) : bytes_(bytes) {}

  size_t position() const { return pos_; }
  size_t remaining() const { return bytes_.size() - pos_; }
  size_t size() const { return bytes_.size(); }
  bool at_end() const { return pos_ == bytes_.size(); }

  template <typename T>
  Result<T> read(std::string_view what) {
    static_assert(std::is_trivially_copyable_v<T>);
    if (remaining() < sizeof(T))
      return make_error("truncated at byte {} reading {} ({} bytes needed, {} left)", pos_, what,
                        sizeof(T), remaining());
    T v;
    std::memcpy(&v, bytes_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }

  Result<std::span<const uint8_t>> read_bytes(uint64_t n, std::string_view what) {
    if (n > remaining())
      return make_error("truncated at byte {} reading {} ({} bytes needed, {} left)", pos_, what, n,
                        remaining());
    auto s = bytes_.subspan(pos_, static_cast<size_t>(n));
    pos_ += static_cast<size_t>(n);
    return s;
  }

  Result<std::string_view> read_string(uint64_t n, std::string_view what) {
    LIMARP_ASSIGN_OR_RETURN(auto s, read_bytes(n, what));
    return std::string_view(reinterpret_cast<const char*>(s.data()), s.size());
  }

  Status seek(size_t pos) {
    if (pos > bytes_.size()) return make_error("offset {} is past the end ({} bytes)", pos, bytes_.size());
    pos_ = pos;
    return {};
  }
  Status skip(uint64_t n, std::string_view what) {
    if (n > remaining()) return make_error("truncated at byte {} skipping {}", pos_, what);
    pos_ += static_cast<size_t>(n);
    return {};
  }

 private:
  std::span<const uint8_t> bytes_;
  size_t pos_ = 0;
};

}  // namespace limarp
