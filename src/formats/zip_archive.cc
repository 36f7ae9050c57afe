// Zip directory parsing. The layout (PKWARE APPNOTE): local header + data per entry, then the
// central directory (one record per entry), then the end-of-central-directory record (EOCD),
// which may be preceded by a zip64 EOCD record and its locator when counts, sizes or offsets
// no longer fit 16/32 bits. We trust nothing: every count is checked against the bytes that
// would hold it before anything is allocated, every offset against the region it must lie in.
#include "formats/zip_archive.h"

#include <algorithm>
#include <array>
#include <bit>

#include "base/byte_reader.h"

namespace limarp {
namespace {

static_assert(std::endian::native == std::endian::little, "zip fields are read in place as little-endian");

constexpr uint32_t kLocalHeaderSig = 0x04034b50;
constexpr uint32_t kCentralSig = 0x02014b50;
constexpr uint32_t kEocdSig = 0x06054b50;
constexpr uint32_t kZip64EocdSig = 0x06064b50;
constexpr uint32_t kZip64LocatorSig = 0x07064b50;
constexpr size_t kEocdSize = 22;
constexpr size_t kZip64LocatorSize = 20;
constexpr size_t kZip64EocdMinSize = 56;
constexpr size_t kCentralFixedSize = 46;
constexpr size_t kLocalFixedSize = 30;
constexpr size_t kMaxCommentSize = 0xffff;
constexpr uint16_t kZip64ExtraId = 0x0001;
constexpr uint32_t kSentinel32 = 0xffffffffu;
constexpr uint16_t kSentinel16 = 0xffffu;
constexpr uint16_t kFlagDataDescriptor = 1 << 3;

constexpr std::array<uint32_t, 256> make_crc_table() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
    table[i] = c;
  }
  return table;
}
constexpr std::array<uint32_t, 256> kCrcTable = make_crc_table();

const char* method_name(uint16_t method) {
  switch (method) {
    case 0: return "stored";
    case 8: return "deflate";
    case 9: return "deflate64";
    case 12: return "bzip2";
    case 14: return "lzma";
    case 93: return "zstd";
    case 95: return "xz";
    default: return "unknown method";
  }
}

// a + b <= limit, without overflow.
bool fits(uint64_t a, uint64_t b, uint64_t limit) { return a <= limit && b <= limit - a; }

struct EndOfDirectory {
  uint64_t entries = 0;
  uint64_t cd_offset = 0;
  uint64_t cd_size = 0;
  uint64_t cd_limit = 0;  // the central directory must end at or before this offset
  bool zip64 = false;
};

Result<size_t> find_eocd(std::span<const uint8_t> bytes) {
  if (bytes.size() < kEocdSize)
    return make_error("{} bytes is too short for a zip archive (an empty one has {})", bytes.size(), kEocdSize);
  // The EOCD is the last 22 bytes plus a comment of up to 64 KiB. Searching backwards and
  // requiring the comment to end exactly at the end of file keeps a signature that happens to
  // sit inside the comment from being taken for the real record.
  const size_t last = bytes.size() - kEocdSize;
  const size_t first = last > kMaxCommentSize ? last - kMaxCommentSize : 0;
  for (size_t pos = last + 1; pos-- > first;) {
    uint32_t sig;
    std::memcpy(&sig, bytes.data() + pos, 4);
    if (sig != kEocdSig) continue;
    uint16_t comment;
    std::memcpy(&comment, bytes.data() + pos + 20, 2);
    if (pos + kEocdSize + comment == bytes.size()) return pos;
  }
  return make_error("no end-of-central-directory record in the last {} bytes: not a zip archive, or truncated",
                    bytes.size() - first);
}

Result<EndOfDirectory> read_end_of_directory(std::span<const uint8_t> bytes) {
  LIMARP_ASSIGN_OR_RETURN(const size_t eocd_pos, find_eocd(bytes));
  ByteReader r(bytes);
  LIMARP_TRY(r.seek(eocd_pos + 4));
  LIMARP_ASSIGN_OR_RETURN(uint16_t disk, r.read<uint16_t>("EOCD disk number"));
  LIMARP_ASSIGN_OR_RETURN(uint16_t cd_disk, r.read<uint16_t>("EOCD central directory disk"));
  LIMARP_ASSIGN_OR_RETURN(uint16_t entries_here, r.read<uint16_t>("EOCD entries on this disk"));
  LIMARP_ASSIGN_OR_RETURN(uint16_t entries_total, r.read<uint16_t>("EOCD entry count"));
  LIMARP_ASSIGN_OR_RETURN(uint32_t cd_size, r.read<uint32_t>("EOCD central directory size"));
  LIMARP_ASSIGN_OR_RETURN(uint32_t cd_offset, r.read<uint32_t>("EOCD central directory offset"));

  EndOfDirectory end{entries_total, cd_offset, cd_size, eocd_pos, false};
  uint32_t locator_sig = 0;
  if (eocd_pos >= kZip64LocatorSize) std::memcpy(&locator_sig, bytes.data() + eocd_pos - kZip64LocatorSize, 4);
  if (locator_sig == kZip64LocatorSig) {
    const size_t locator_pos = eocd_pos - kZip64LocatorSize;
    LIMARP_TRY(r.seek(locator_pos + 4));
    LIMARP_ASSIGN_OR_RETURN(uint32_t eocd64_disk, r.read<uint32_t>("zip64 locator disk"));
    LIMARP_ASSIGN_OR_RETURN(uint64_t eocd64_pos, r.read<uint64_t>("zip64 locator record offset"));
    LIMARP_ASSIGN_OR_RETURN(uint32_t disks, r.read<uint32_t>("zip64 locator disk count"));
    if (eocd64_disk != 0 || disks > 1) return make_error("multi-disk (split) zip archives are not supported");
    if (!fits(eocd64_pos, kZip64EocdMinSize, locator_pos))
      return make_error("zip64 end-of-directory record offset {} is out of range (locator at {})", eocd64_pos,
                        locator_pos);
    LIMARP_TRY(r.seek(static_cast<size_t>(eocd64_pos)));
    LIMARP_ASSIGN_OR_RETURN(uint32_t sig, r.read<uint32_t>("zip64 EOCD signature"));
    if (sig != kZip64EocdSig)
      return make_error("no zip64 end-of-directory record at offset {} where the locator points", eocd64_pos);
    LIMARP_ASSIGN_OR_RETURN(uint64_t record_size, r.read<uint64_t>("zip64 EOCD size"));
    if (record_size < kZip64EocdMinSize - 12 || !fits(eocd64_pos + 12, record_size, locator_pos))
      return make_error("zip64 end-of-directory record size {} is out of range", record_size);
    LIMARP_TRY(r.skip(4, "zip64 EOCD versions"));
    LIMARP_ASSIGN_OR_RETURN(uint32_t disk64, r.read<uint32_t>("zip64 EOCD disk"));
    LIMARP_ASSIGN_OR_RETURN(uint32_t cd_disk64, r.read<uint32_t>("zip64 EOCD central directory disk"));
    LIMARP_ASSIGN_OR_RETURN(uint64_t here64, r.read<uint64_t>("zip64 EOCD entries on this disk"));
    LIMARP_ASSIGN_OR_RETURN(uint64_t total64, r.read<uint64_t>("zip64 EOCD entry count"));
    LIMARP_ASSIGN_OR_RETURN(uint64_t size64, r.read<uint64_t>("zip64 EOCD central directory size"));
    LIMARP_ASSIGN_OR_RETURN(uint64_t offset64, r.read<uint64_t>("zip64 EOCD central directory offset"));
    if (disk64 != 0 || cd_disk64 != 0 || here64 != total64)
      return make_error("multi-disk (split) zip archives are not supported");
    // Where the 32-bit record holds a real value rather than the "see zip64" marker, the two
    // records must agree; a disagreement means one of them was tampered with.
    if ((entries_total != kSentinel16 && entries_total != total64) ||
        (cd_size != kSentinel32 && cd_size != size64) || (cd_offset != kSentinel32 && cd_offset != offset64))
      return make_error("the zip64 and classic end-of-directory records disagree");
    end = {total64, offset64, size64, static_cast<uint64_t>(eocd64_pos), true};
  } else if (disk != 0 || cd_disk != 0 || entries_here != entries_total) {
    return make_error("multi-disk (split) zip archives are not supported");
  }
  if (!fits(end.cd_offset, end.cd_size, end.cd_limit))
    return make_error("central directory [{}, +{}) runs past its end record at {}; is the file truncated?",
                      end.cd_offset, end.cd_size, end.cd_limit);
  // Each central record takes at least 46 bytes: an absurd count is caught before any allocation.
  if (end.entries > end.cd_size / kCentralFixedSize)
    return make_error("entry count {} cannot fit in a {}-byte central directory", end.entries, end.cd_size);
  return end;
}

// Fills the 64-bit values that the fixed fields mark as "in the zip64 extra field".
Status read_zip64_extra(std::span<const uint8_t> extra, bool need_usize, bool need_csize, bool need_offset,
                        ZipEntry& e) {
  ByteReader r(extra);
  while (r.remaining() >= 4) {
    LIMARP_ASSIGN_OR_RETURN(uint16_t id, r.read<uint16_t>("extra field id"));
    LIMARP_ASSIGN_OR_RETURN(uint16_t len, r.read<uint16_t>("extra field length"));
    LIMARP_ASSIGN_OR_RETURN(auto body, r.read_bytes(len, "extra field"));
    if (id != kZip64ExtraId) continue;
    ByteReader z(body);
    // The field holds, in this order, only the values whose fixed field is the marker.
    if (need_usize) { LIMARP_ASSIGN_OR_RETURN(e.uncompressed_size, z.read<uint64_t>("zip64 uncompressed size")); }
    if (need_csize) { LIMARP_ASSIGN_OR_RETURN(e.compressed_size, z.read<uint64_t>("zip64 compressed size")); }
    if (need_offset) { LIMARP_ASSIGN_OR_RETURN(e.local_header_offset, z.read<uint64_t>("zip64 local header offset")); }
    return {};
  }
  if (!r.at_end()) return make_error("extra fields end with {} stray bytes", r.remaining());
  if (need_usize || need_csize || need_offset) return make_error("fields marked zip64 but no zip64 extra field");
  return {};
}

Result<ZipEntry> read_central_entry(ByteReader& r) {
  LIMARP_ASSIGN_OR_RETURN(uint32_t sig, r.read<uint32_t>("central directory signature"));
  if (sig != kCentralSig) return make_error("bad central directory signature {:#010x}", sig);
  ZipEntry e;
  LIMARP_TRY(r.skip(4, "versions"));
  LIMARP_ASSIGN_OR_RETURN(e.flags, r.read<uint16_t>("flags"));
  LIMARP_ASSIGN_OR_RETURN(e.method, r.read<uint16_t>("compression method"));
  LIMARP_TRY(r.skip(4, "modification time"));
  LIMARP_ASSIGN_OR_RETURN(e.crc32, r.read<uint32_t>("crc32"));
  LIMARP_ASSIGN_OR_RETURN(uint32_t csize, r.read<uint32_t>("compressed size"));
  LIMARP_ASSIGN_OR_RETURN(uint32_t usize, r.read<uint32_t>("uncompressed size"));
  LIMARP_ASSIGN_OR_RETURN(uint16_t name_len, r.read<uint16_t>("name length"));
  LIMARP_ASSIGN_OR_RETURN(uint16_t extra_len, r.read<uint16_t>("extra length"));
  LIMARP_ASSIGN_OR_RETURN(uint16_t comment_len, r.read<uint16_t>("comment length"));
  LIMARP_ASSIGN_OR_RETURN(uint16_t disk, r.read<uint16_t>("disk number"));
  LIMARP_TRY(r.skip(6, "file attributes"));
  LIMARP_ASSIGN_OR_RETURN(uint32_t offset, r.read<uint32_t>("local header offset"));
  LIMARP_ASSIGN_OR_RETURN(std::string_view name, r.read_string(name_len, "entry name"));
  LIMARP_ASSIGN_OR_RETURN(auto extra, r.read_bytes(extra_len, "extra fields"));
  LIMARP_TRY(r.skip(comment_len, "entry comment"));
  e.name = std::string(name);
  e.compressed_size = csize;
  e.uncompressed_size = usize;
  e.local_header_offset = offset;
  if (e.name.empty()) return make_error("an entry has an empty name");
  LIMARP_TRY(read_zip64_extra(extra, usize == kSentinel32, csize == kSentinel32, offset == kSentinel32, e)
                 .with_context(fmt::format("entry {}", e.name)));
  if (disk != 0 && disk != kSentinel16) return make_error("entry {} lives on disk {}: split archives are not supported", e.name, disk);
  return e;
}

// Reads the entry's local header, checks it against the central record, and sets data_offset.
Status read_local_header(std::span<const uint8_t> bytes, uint64_t cd_offset, ZipEntry& e) {
  auto fail = [&](const Error& err) { return err.with_context(fmt::format("entry {}", e.name)); };
  if (!fits(e.local_header_offset, kLocalFixedSize, cd_offset))
    return fail(make_error("local header offset {} is outside the data area (central directory at {})",
                           e.local_header_offset, cd_offset));
  ByteReader r(bytes.first(static_cast<size_t>(cd_offset)));
  LIMARP_TRY(r.seek(static_cast<size_t>(e.local_header_offset)));
  LIMARP_ASSIGN_OR_RETURN(uint32_t sig, r.read<uint32_t>("local header signature"));
  if (sig != kLocalHeaderSig) return fail(make_error("no local header at offset {}", e.local_header_offset));
  LIMARP_TRY(r.skip(2, "version"));
  LIMARP_ASSIGN_OR_RETURN(uint16_t flags, r.read<uint16_t>("local flags"));
  LIMARP_ASSIGN_OR_RETURN(uint16_t method, r.read<uint16_t>("local method"));
  LIMARP_TRY(r.skip(4, "local time"));
  LIMARP_ASSIGN_OR_RETURN(uint32_t crc, r.read<uint32_t>("local crc32"));
  LIMARP_ASSIGN_OR_RETURN(uint32_t csize, r.read<uint32_t>("local compressed size"));
  LIMARP_ASSIGN_OR_RETURN(uint32_t usize, r.read<uint32_t>("local uncompressed size"));
  LIMARP_ASSIGN_OR_RETURN(uint16_t name_len, r.read<uint16_t>("local name length"));
  LIMARP_ASSIGN_OR_RETURN(uint16_t extra_len, r.read<uint16_t>("local extra length"));
  Result<std::string_view> name = r.read_string(name_len, "local name");
  if (!name.ok()) return fail(name.error());
  LIMARP_ASSIGN_OR_RETURN(auto extra, r.read_bytes(extra_len, "local extra fields"));
  if (*name != e.name) return fail(make_error("local header names it {:?}", std::string(*name)));
  if (method != e.method)
    return fail(make_error("local header says method {}, central directory says {}", method, e.method));
  if ((flags & 1) != (e.flags & 1)) return fail(make_error("local and central headers disagree on encryption"));
  // With a data descriptor (bit 3; torch.save sets it) the local CRC and sizes may be zero
  // because they were unknown when the header was written; otherwise they must match.
  const bool deferred = (flags & kFlagDataDescriptor) != 0;
  if (!(deferred && crc == 0) && crc != e.crc32) return fail(make_error("local and central CRC-32 differ"));
  ZipEntry local = e;
  local.uncompressed_size = usize;
  local.compressed_size = csize;
  Status z64 = read_zip64_extra(extra, usize == kSentinel32, csize == kSentinel32, false, local);
  if (!z64.ok()) return fail(z64.error().with_context("local header"));
  const bool sizes_deferred = deferred && local.compressed_size == 0 && local.uncompressed_size == 0;
  if (!sizes_deferred &&
      (local.compressed_size != e.compressed_size || local.uncompressed_size != e.uncompressed_size))
    return fail(make_error("local header sizes ({}, {}) differ from the central directory's ({}, {})",
                           local.compressed_size, local.uncompressed_size, e.compressed_size, e.uncompressed_size));
  e.data_offset = r.position();
  if (!fits(e.data_offset, e.compressed_size, cd_offset))
    return fail(make_error("data [{}, +{}) runs into the central directory at {}; is the file truncated?",
                           e.data_offset, e.compressed_size, cd_offset));
  return {};
}

}  // namespace

uint32_t zip_crc32(std::span<const uint8_t> bytes) {
  uint32_t c = 0xffffffffu;
  for (uint8_t b : bytes) c = kCrcTable[(c ^ b) & 0xff] ^ (c >> 8);
  return c ^ 0xffffffffu;
}

Result<ZipArchive> ZipArchive::parse(std::span<const uint8_t> bytes, const std::string& source) {
  auto fail = [&](const Error& e) { return e.with_context(source); };
  Result<EndOfDirectory> end_or = read_end_of_directory(bytes);
  if (!end_or.ok()) return fail(end_or.error());
  const EndOfDirectory end = end_or.value();

  ZipArchive zip;
  zip.bytes_ = bytes;
  zip.source_ = source;  // a copy: `fail` above still names it
  zip.zip64_ = end.zip64;
  zip.entries_.reserve(static_cast<size_t>(end.entries));
  ByteReader r(bytes.subspan(static_cast<size_t>(end.cd_offset), static_cast<size_t>(end.cd_size)));
  for (uint64_t i = 0; i < end.entries; ++i) {
    Result<ZipEntry> entry = read_central_entry(r);
    if (!entry.ok()) return fail(entry.error().with_context(fmt::format("central directory entry {}", i)));
    LIMARP_TRY(read_local_header(bytes, end.cd_offset, entry.value()).with_context(source));
    if (!zip.by_name_.emplace(entry->name, zip.entries_.size()).second)
      return fail(make_error("entry {} appears twice", entry->name));
    zip.entries_.push_back(std::move(entry.value()));
  }
  if (!r.at_end()) return fail(make_error("{} unexplained bytes after the last central directory entry", r.remaining()));

  // Entries may not share bytes: overlapping entries are how "zip bombs" and parser-confusion
  // attacks are built, and no honest writer produces them.
  std::vector<const ZipEntry*> order;
  order.reserve(zip.entries_.size());
  for (const auto& e : zip.entries_) order.push_back(&e);
  std::sort(order.begin(), order.end(),
            [](const ZipEntry* a, const ZipEntry* b) { return a->local_header_offset < b->local_header_offset; });
  for (size_t i = 1; i < order.size(); ++i) {
    const ZipEntry& prev = *order[i - 1];
    if (order[i]->local_header_offset < prev.data_offset + prev.compressed_size)
      return fail(make_error("entries {} and {} overlap", prev.name, order[i]->name));
  }
  return zip;
}

const ZipEntry* ZipArchive::find(std::string_view name) const {
  auto it = by_name_.find(std::string(name));
  return it == by_name_.end() ? nullptr : &entries_[it->second];
}

Result<std::span<const uint8_t>> ZipArchive::stored_bytes(const ZipEntry& entry) const {
  if (entry.encrypted()) return make_error("{}: entry {} is encrypted", source_, entry.name);
  if (!entry.stored())
    return make_error("{}: entry {} is compressed ({}, method {}); only stored entries are read in place, as torch.save "
                      "writes them. Was the file re-zipped?",
                      source_, entry.name, method_name(entry.method), entry.method);
  if (entry.compressed_size != entry.uncompressed_size)
    return make_error("{}: stored entry {} has compressed size {} but uncompressed size {}", source_, entry.name,
                      entry.compressed_size, entry.uncompressed_size);
  // parse() proved data_offset + size lies inside the archive.
  return bytes_.subspan(static_cast<size_t>(entry.data_offset), static_cast<size_t>(entry.compressed_size));
}

Status ZipArchive::verify_crc(const ZipEntry& entry) const {
  LIMARP_ASSIGN_OR_RETURN(auto data, stored_bytes(entry));
  const uint32_t crc = zip_crc32(data);
  if (crc != entry.crc32)
    return make_error("{}: entry {} is corrupt: CRC-32 {:#010x}, expected {:#010x}", source_, entry.name, crc,
                      entry.crc32);
  return {};
}

}  // namespace limarp
