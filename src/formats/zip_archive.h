// A minimal, bounds-checked reader for zip archives held in memory (a mapped file), enough for
// PyTorch checkpoints: torch.save writes a zip whose entries are STORED (uncompressed) and
// 64-byte aligned, so an entry's bytes can be used in place without copying.
//
// Every structure is validated before use, because the archive is untrusted input: the end of
// central directory (and its zip64 locator/record for archives past 4 GiB), each central
// directory entry (with zip64 extra fields), and each local header, which must agree with its
// central entry. Entries may not overlap one another or the central directory. Compressed or
// encrypted entries are listed but refused when their bytes are asked for.
//
//   LIMARP_ASSIGN_OR_RETURN(ZipArchive zip, ZipArchive::parse(file.bytes(), path));
//   const ZipEntry* pkl = zip.find("archive/data.pkl");
//   LIMARP_ASSIGN_OR_RETURN(std::span<const uint8_t> bytes, zip.stored_bytes(*pkl));
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/status.h"

namespace limarp {

struct ZipEntry {
  std::string name;
  uint16_t method = 0;  // 0 = stored; anything else is compressed
  uint16_t flags = 0;   // general purpose bits (bit 0: encrypted, bit 3: data descriptor)
  uint32_t crc32 = 0;
  uint64_t compressed_size = 0;
  uint64_t uncompressed_size = 0;
  uint64_t local_header_offset = 0;
  uint64_t data_offset = 0;  // first byte of the entry's data in the archive

  bool stored() const { return method == 0; }
  bool encrypted() const { return (flags & 1) != 0; }
};

class ZipArchive {
 public:
  // Parses the archive's directory. `bytes` must outlive the archive; `source` names the file
  // in error messages.
  static Result<ZipArchive> parse(std::span<const uint8_t> bytes, const std::string& source);

  const std::vector<ZipEntry>& entries() const { return entries_; }
  const ZipEntry* find(std::string_view name) const;
  const std::string& source() const { return source_; }
  bool zip64() const { return zip64_; }

  // The bytes of a STORED, unencrypted entry, in place; an error naming the entry otherwise.
  Result<std::span<const uint8_t>> stored_bytes(const ZipEntry& entry) const;
  // Compares an entry's CRC-32 with the central directory's (reads every byte: use it for
  // small entries such as data.pkl, not for gigabytes of weights).
  Status verify_crc(const ZipEntry& entry) const;

 private:
  std::span<const uint8_t> bytes_;
  std::string source_;
  bool zip64_ = false;
  std::vector<ZipEntry> entries_;  // central directory order
  std::unordered_map<std::string, size_t> by_name_;
};

// CRC-32 (IEEE 802.3, as zip uses), for verify_crc and for tests that build archives.
uint32_t zip_crc32(std::span<const uint8_t> bytes);

}  // namespace limarp
