// PyTorch zip checkpoints: real torch.save files (written at test time by
// tests/reference/write_pytorch_checkpoints.py) load bit-exactly, contiguous tensors as views
// into the file; hostile and malformed files (code-running globals, bad opcodes, storages out
// of range, broken zip directories, truncations and bit flips) are refused with messages that
// name the problem, and nothing is ever executed. Tests whose names contain "hostile",
// "malformed" or "truncat" also run under ASan + UBSan (scripts/test.sh).
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>

#include "base/json_util.h"
#include "base/mapped_file.h"
#include "formats/pickle_reader.h"
#include "formats/pytorch_zip.h"
#include "formats/tensor_store.h"
#include "formats/zip_archive.h"
#include "support/test_support.h"

// GCC 12 reports false -Wrestrict overlaps inside inlined std::string concatenation (GCC bug
// 105651); this file builds byte strings by concatenation throughout.
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ == 12
#pragma GCC diagnostic ignored "-Wrestrict"
#endif

namespace limarp {
namespace {

namespace fs = std::filesystem;

// ---------------------------------------------------------------------------------------------
// Byte helpers and a small zip writer, so the zip reader can be fed every structure variant
// (zip64 records, data descriptors) and precise corruptions of each field.

std::string bytes(std::initializer_list<int> b) {
  std::string s;
  for (int c : b) s.push_back(static_cast<char>(c));
  return s;
}
template <typename T>
std::string le(T v) {
  std::string s(sizeof(T), '\0');
  std::memcpy(s.data(), &v, sizeof(T));
  return s;
}
template <typename T>
void poke(std::vector<uint8_t>& b, size_t at, T v) {
  std::memcpy(b.data() + at, &v, sizeof(T));
}
std::span<const uint8_t> span_of(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

struct ZipItem {
  std::string name, data;
  uint16_t method = 0;
};
struct ZipOptions {
  bool zip64 = false;       // zip64 extra fields in every central record, zip64 EOCD + locator
  bool descriptor = false;  // local headers with zero CRC/sizes and a trailing data descriptor
};
struct BuiltZip {
  std::vector<uint8_t> bytes;
  std::vector<size_t> local, central;  // offsets of each entry's records
  size_t eocd = 0;
};

BuiltZip build_zip(const std::vector<ZipItem>& items, ZipOptions o = {}) {
  std::string z;
  BuiltZip out;
  const uint16_t flags = o.descriptor ? 0x0808 : 0x0800;
  for (const auto& it : items) {
    out.local.push_back(z.size());
    const uint32_t crc = zip_crc32(span_of(it.data));
    const auto size = static_cast<uint32_t>(it.data.size());
    z += le<uint32_t>(0x04034b50) + le<uint16_t>(45) + le<uint16_t>(flags) + le<uint16_t>(it.method) + le<uint32_t>(0);
    z += le<uint32_t>(o.descriptor ? 0 : crc) + le<uint32_t>(o.descriptor ? 0 : size) + le<uint32_t>(o.descriptor ? 0 : size);
    z += le<uint16_t>(static_cast<uint16_t>(it.name.size())) + le<uint16_t>(0) + it.name + it.data;
    if (o.descriptor) z += le<uint32_t>(0x08074b50) + le<uint32_t>(crc) + le<uint32_t>(size) + le<uint32_t>(size);
  }
  const size_t cd_offset = z.size();
  for (size_t i = 0; i < items.size(); ++i) {
    const auto& it = items[i];
    out.central.push_back(z.size());
    const auto size = static_cast<uint32_t>(it.data.size());
    const uint32_t s32 = o.zip64 ? 0xffffffffu : size;
    const std::string extra =
        o.zip64 ? le<uint16_t>(1) + le<uint16_t>(24) + le<uint64_t>(size) + le<uint64_t>(size) + le<uint64_t>(out.local[i])
                : "";
    z += le<uint32_t>(0x02014b50) + le<uint16_t>(45) + le<uint16_t>(45) + le<uint16_t>(flags) + le<uint16_t>(it.method);
    z += le<uint32_t>(0) + le<uint32_t>(zip_crc32(span_of(it.data))) + le<uint32_t>(s32) + le<uint32_t>(s32);
    z += le<uint16_t>(static_cast<uint16_t>(it.name.size())) + le<uint16_t>(static_cast<uint16_t>(extra.size()));
    z += le<uint16_t>(0) + le<uint16_t>(0) + le<uint16_t>(0) + le<uint32_t>(0);
    z += le<uint32_t>(o.zip64 ? 0xffffffffu : static_cast<uint32_t>(out.local[i])) + it.name + extra;
  }
  const uint64_t cd_size = z.size() - cd_offset, n = items.size();
  if (o.zip64) {
    const size_t eocd64 = z.size();
    z += le<uint32_t>(0x06064b50) + le<uint64_t>(44) + le<uint16_t>(45) + le<uint16_t>(45) + le<uint32_t>(0) + le<uint32_t>(0);
    z += le<uint64_t>(n) + le<uint64_t>(n) + le<uint64_t>(cd_size) + le<uint64_t>(cd_offset);
    z += le<uint32_t>(0x07064b50) + le<uint32_t>(0) + le<uint64_t>(eocd64) + le<uint32_t>(1);
  }
  out.eocd = z.size();
  const auto n16 = static_cast<uint16_t>(o.zip64 ? 0xffff : n);
  z += le<uint32_t>(0x06054b50) + le<uint16_t>(0) + le<uint16_t>(0) + le<uint16_t>(n16) + le<uint16_t>(n16);
  z += le<uint32_t>(o.zip64 ? 0xffffffffu : static_cast<uint32_t>(cd_size));
  z += le<uint32_t>(o.zip64 ? 0xffffffffu : static_cast<uint32_t>(cd_offset)) + le<uint16_t>(0);
  out.bytes.assign(z.begin(), z.end());
  return out;
}

const std::vector<ZipItem> kTwoItems = {{"a/first", "hello, zip"}, {"a/second", std::string(100, 'x')}};

void expect_zip_error(const std::vector<uint8_t>& b, const std::string& expect) {
  auto zip = ZipArchive::parse(b, "test.zip");
  ASSERT_FALSE(zip.ok()) << "expected an error containing: " << expect;
  EXPECT_NE(zip.error().message().find(expect), std::string::npos) << zip.error().message();
  EXPECT_NE(zip.error().message().find("test.zip"), std::string::npos) << zip.error().message();
}

TEST(ZipArchive, ReadsStoredEntriesInEveryLayout) {
  for (ZipOptions o : {ZipOptions{false, false}, ZipOptions{true, false}, ZipOptions{false, true}, ZipOptions{true, true}}) {
    SCOPED_TRACE(::testing::Message() << "zip64 " << o.zip64 << " descriptor " << o.descriptor);
    BuiltZip built = build_zip(kTwoItems, o);
    auto zip = ZipArchive::parse(built.bytes, "test.zip");
    ASSERT_TRUE(zip.ok()) << zip.error().message();
    EXPECT_EQ(zip->zip64(), o.zip64);
    ASSERT_EQ(zip->entries().size(), 2u);
    for (const auto& item : kTwoItems) {
      const ZipEntry* e = zip->find(item.name);
      ASSERT_NE(e, nullptr);
      auto data = zip->stored_bytes(*e);
      ASSERT_TRUE(data.ok());
      EXPECT_EQ(std::string(reinterpret_cast<const char*>(data->data()), data->size()), item.data);
      EXPECT_TRUE(zip->verify_crc(*e).ok());
    }
  }
  auto empty = ZipArchive::parse(build_zip({}).bytes, "empty.zip");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->entries().empty());
}

TEST(ZipArchive, malformed_directories_are_refused) {
  const BuiltZip good = build_zip(kTwoItems);
  const BuiltZip good64 = build_zip(kTwoItems, {true, false});
  const BuiltZip deferred = build_zip(kTwoItems, {false, true});
  auto variant = [](const BuiltZip& z, auto&& edit) {
    std::vector<uint8_t> b = z.bytes;
    edit(b);
    return b;
  };
  const size_t c0 = good.central[0], c1 = good.central[1];
  expect_zip_error({}, "too short");
  expect_zip_error(std::vector<uint8_t>(100, 0), "no end-of-central-directory");
  expect_zip_error(variant(good, [&](auto& b) { b.push_back(0); }), "no end-of-central-directory");
  expect_zip_error(variant(good, [&](auto& b) { poke<uint16_t>(b, good.eocd + 8, 60000); poke<uint16_t>(b, good.eocd + 10, 60000); }),
                   "cannot fit");
  expect_zip_error(variant(good, [&](auto& b) { poke<uint16_t>(b, good.eocd + 8, 3); }), "multi-disk");
  expect_zip_error(variant(good, [&](auto& b) { poke<uint32_t>(b, good.eocd + 16, 0x7fffffff); }), "runs past");
  expect_zip_error(variant(good, [&](auto& b) { poke<uint32_t>(b, good.eocd + 12, 4000); }), "runs past");
  expect_zip_error(variant(good, [&](auto& b) { poke<uint32_t>(b, c1, 0x12345678); }), "central directory entry 1");
  expect_zip_error(variant(good, [&](auto& b) { poke<uint16_t>(b, c0 + 28, 500); }), "entry name");
  expect_zip_error(variant(good, [&](auto& b) { poke<uint32_t>(b, c1 + 42, 0x7ffffff0); }), "local header offset");
  expect_zip_error(variant(good, [&](auto& b) { poke<uint32_t>(b, c1 + 42, 3); }), "no local header");
  expect_zip_error(variant(good, [&](auto& b) { b[good.local[0] + 30] = 'A'; }), "local header names it");
  expect_zip_error(variant(good, [&](auto& b) { poke<uint16_t>(b, good.local[0] + 8, 8); }), "local header says method");
  expect_zip_error(variant(good, [&](auto& b) { poke<uint32_t>(b, good.local[0] + 18, 9); }), "sizes");
  expect_zip_error(variant(good, [&](auto& b) { poke<uint32_t>(b, good.local[0] + 14, 9); }), "CRC-32 differ");
  expect_zip_error(variant(good, [&](auto& b) { poke<uint32_t>(b, c1 + 20, 5000); poke<uint32_t>(b, c1 + 24, 5000); }),
                   "sizes");
  // Data descriptors leave the local sizes zero: growing a size then overlaps the next entry,
  // and the last entry's data runs into the central directory.
  expect_zip_error(variant(deferred, [&](auto& b) {
                     poke<uint32_t>(b, deferred.central[0] + 20, 40);
                     poke<uint32_t>(b, deferred.central[0] + 24, 40);
                   }),
                   "overlap");
  expect_zip_error(variant(deferred, [&](auto& b) {
                     poke<uint32_t>(b, deferred.central[1] + 20, 400);
                     poke<uint32_t>(b, deferred.central[1] + 24, 400);
                   }),
                   "runs into the central directory");
  {  // two central records for the same name (and local header)
    std::vector<ZipItem> dup = {kTwoItems[0], kTwoItems[0]};
    expect_zip_error(build_zip(dup).bytes, "appears twice");
  }
  // zip64: locator out of range, record missing, sentinel without the extra field.
  const size_t locator = good64.eocd - 20;
  expect_zip_error(variant(good64, [&](auto& b) { poke<uint64_t>(b, locator + 8, 1ull << 40); }), "out of range");
  expect_zip_error(variant(good64, [&](auto& b) { poke<uint64_t>(b, locator + 8, 0); }), "no zip64 end-of-directory");
  expect_zip_error(variant(good64, [&](auto& b) {
                     poke<uint64_t>(b, locator - 56 + 24, 1ull << 50);
                     poke<uint64_t>(b, locator - 56 + 32, 1ull << 50);
                   }),
                   "cannot fit");
  expect_zip_error(variant(good64, [&](auto& b) { poke<uint16_t>(b, good64.central[0] + 30, 0); }), "no zip64 extra field");
  expect_zip_error(variant(good64, [&](auto& b) { poke<uint16_t>(b, good64.central[0] + 46 + 7, 0x7777); }),
                   "no zip64 extra field");
  expect_zip_error(variant(good64, [&](auto& b) { poke<uint64_t>(b, good64.central[1] + 46 + 8 + 4 + 16, 1ull << 33); }),
                   "outside the data area");
}

TEST(ZipArchive, malformed_entries_refused_when_read) {
  std::vector<ZipItem> items = {{"a/deflated", "xxxx", 8}, {"a/plain", "data"}};
  BuiltZip built = build_zip(items);
  poke<uint16_t>(built.bytes, built.local[1] + 6, 0x0801);  // encrypted, both headers
  poke<uint16_t>(built.bytes, built.central[1] + 8, 0x0801);
  auto zip = ZipArchive::parse(built.bytes, "test.zip");
  ASSERT_TRUE(zip.ok()) << zip.error().message();
  auto deflated = zip->stored_bytes(*zip->find("a/deflated"));
  ASSERT_FALSE(deflated.ok());
  EXPECT_NE(deflated.error().message().find("entry a/deflated is compressed (deflate"), std::string::npos);
  auto encrypted = zip->stored_bytes(*zip->find("a/plain"));
  ASSERT_FALSE(encrypted.ok());
  EXPECT_NE(encrypted.error().message().find("a/plain is encrypted"), std::string::npos);

  BuiltZip corrupt = build_zip(kTwoItems);
  corrupt.bytes[corrupt.local[0] + 30 + 7] ^= 1;  // a data byte: parse succeeds, the CRC does not
  auto z2 = ZipArchive::parse(corrupt.bytes, "test.zip");
  ASSERT_TRUE(z2.ok());
  Status crc = z2->verify_crc(*z2->find("a/first"));
  ASSERT_FALSE(crc.ok());
  EXPECT_NE(crc.error().message().find("a/first is corrupt"), std::string::npos);
  EXPECT_EQ(zip_crc32(span_of("123456789")), 0xcbf43926u);  // the standard check value
}

// ---------------------------------------------------------------------------------------------
// The unpickler on hand-assembled opcode streams.

constexpr AllowedGlobal kTestGlobals[] = {
    {"collections", "OrderedDict", GlobalUse::kDictFactory},
    {"torch._utils", "_rebuild_tensor_v2", GlobalUse::kCallable},
    {"torch", "FloatStorage", GlobalUse::kReference},
};
const std::string kProto2 = bytes({0x80, 2});
std::string unicode(const std::string& s) {
  std::string out(1, 'X');
  return out + le<uint32_t>(static_cast<uint32_t>(s.size())) + s;
}
std::string global(const std::string& module, const std::string& name) { return "c" + module + "\n" + name + "\n"; }

Result<Pickle> unpickle(const std::string& s, PickleOptions o = PickleOptions{kTestGlobals}) {
  return read_pickle(span_of(s), o);
}

TEST(PickleReader, DataOpcodesBuildTheValueTree) {
  // A list of every scalar form, built with MARK/APPENDS, memoized and fetched back.
  std::string s = kProto2 + "]q" + bytes({1}) + "(" + "J" + le<int32_t>(-5) + "K" + bytes({200}) + "M" + le<uint16_t>(60000);
  s += bytes({0x8a, 1, 0xff});                                          // LONG1 -1
  s += bytes({0x8a, 8}) + le<int64_t>(int64_t{1} << 62);                // LONG1 8 bytes
  s += bytes({0x8a, 0});                                                // LONG1 0
  s += "G" + le<uint64_t>(__builtin_bswap64(std::bit_cast<uint64_t>(1.25)));
  s += unicode("h\xc3\xa9") + bytes({0x8c, 2}) + "ab" + bytes({0x8d}) + le<uint64_t>(1) + "z";
  s += "C" + bytes({3}) + std::string("b\0c", 3) + "N" + bytes({0x88, 0x89}) + ")" + bytes({0x85});
  s += "e";                                                             // APPENDS
  s += "h" + bytes({1});                                                // BINGET the list again
  s += "0" "(" "N" "1";                                                 // POP, POP_MARK
  s += ".";
  auto p = unpickle(s);
  ASSERT_TRUE(p.ok()) << p.error().message();
  EXPECT_EQ(p->protocol(), 2);
  const PickleValue& list = p->at(p->root());
  ASSERT_EQ(list.kind, PickleKind::kList);
  ASSERT_EQ(list.items.size(), 15u);
  const auto& it = list.items;
  EXPECT_EQ(p->as_int(it[0]), -5);
  EXPECT_EQ(p->as_int(it[1]), 200);
  EXPECT_EQ(p->as_int(it[2]), 60000);
  EXPECT_EQ(p->as_int(it[3]), -1);
  EXPECT_EQ(p->as_int(it[4]), int64_t{1} << 62);
  EXPECT_EQ(p->as_int(it[5]), 0);
  EXPECT_EQ(p->at(it[6]).float_value, 1.25);
  EXPECT_EQ(*p->as_string(it[7]), "h\xc3\xa9");
  EXPECT_EQ(*p->as_string(it[8]), "ab");
  EXPECT_EQ(*p->as_string(it[9]), "z");
  EXPECT_EQ(p->at(it[10]).kind, PickleKind::kBytes);
  EXPECT_EQ(p->at(it[10]).text, std::string("b\0c", 3));
  EXPECT_EQ(p->at(it[11]).kind, PickleKind::kNone);
  EXPECT_EQ(p->describe(it[12]), "True");
  EXPECT_EQ(p->describe(it[13]), "False");
  ASSERT_NE(p->as_tuple(it[14]), nullptr);
  EXPECT_EQ(p->as_tuple(it[14])->size(), 1u);
  EXPECT_EQ(p->describe(it[14]), "tuple of 1");
}

TEST(PickleReader, GlobalsReduceBuildAndPersistentIds) {
  // Protocol 4: FRAME, MEMOIZE, STACK_GLOBAL; an OrderedDict filled by SETITEMS, a call with
  // BUILD state, and a persistent id.
  std::string body = bytes({0x8c, 11}) + "collections" + bytes({0x94, 0x8c, 11}) + "OrderedDict" + bytes({0x93, 0x94});
  body += ")R" + bytes({0x94}) + "h" + bytes({0}) + "0";  // drop the module string fetched back
  body += unicode("t") + global("torch._utils", "_rebuild_tensor_v2") + "(" + unicode("storage") +
          global("torch", "FloatStorage") + "tQ" + bytes({0x85}) + "R" + unicode("state") + "b" + "s.";
  std::string s = bytes({0x80, 4, 0x95}) + le<uint64_t>(body.size()) + body;
  auto p = unpickle(s);
  ASSERT_TRUE(p.ok()) << p.error().message();
  const PickleValue& dict = p->at(p->root());
  ASSERT_EQ(dict.kind, PickleKind::kDict);
  ASSERT_EQ(dict.items.size(), 2u);
  EXPECT_EQ(*p->as_string(dict.items[0]), "t");
  const PickleValue& call = p->at(dict.items[1]);
  ASSERT_EQ(call.kind, PickleKind::kCall);
  ASSERT_EQ(call.items.size(), 3u);  // callable, args, BUILD state
  EXPECT_EQ(p->at(call.items[0]).text, "torch._utils._rebuild_tensor_v2");
  const auto* args = p->as_tuple(call.items[1]);
  ASSERT_TRUE(args && args->size() == 1);
  const PickleValue& pid = p->at((*args)[0]);
  ASSERT_EQ(pid.kind, PickleKind::kPersistentId);
  EXPECT_EQ(p->describe(pid.items[0]), "tuple of 2");
  EXPECT_EQ(*p->as_string(call.items[2]), "state");
}

TEST(PickleReader, hostile_globals_are_refused) {
  const std::pair<std::string, std::string> cases[] = {
      {kProto2 + global("os", "system") + unicode("id") + bytes({0x85}) + "R.", "os.system"},
      {kProto2 + global("posix", "system") + unicode("id") + bytes({0x85}) + "R.", "posix.system"},
      {kProto2 + global("builtins", "eval") + ".", "builtins.eval"},
      {kProto2 + global("__builtin__", "getattr") + ".", "__builtin__.getattr"},
      {kProto2 + unicode("subprocess") + unicode("Popen") + bytes({0x93}) + ".", "subprocess.Popen"},
      {kProto2 + global("collections", "OrderedDict ") + ".", "collections.OrderedDict "},  // near misses
      {kProto2 + global("torch._utils.x", "_rebuild_tensor_v2") + ".", "torch._utils.x._rebuild_tensor_v2"},
      {kProto2 + global("torch", "FloatStorage") + "(tR.", "torch.FloatStorage may not be called"},
      {kProto2 + global("collections", "OrderedDict") + "(Nt" "R.", "called with arguments"},
      {kProto2 + unicode("x") + "(tR.", "REDUCE of str \"x\", which is not a global"},
  };
  for (const auto& [s, expect] : cases) {
    auto p = unpickle(s);
    ASSERT_FALSE(p.ok()) << expect;
    EXPECT_NE(p.error().message().find(expect), std::string::npos) << p.error().message();
  }
}

TEST(PickleReader, malformed_streams_are_refused) {
  PickleOptions tiny{kTestGlobals};
  tiny.max_values = 10;
  tiny.max_memo = 2;
  const std::tuple<std::string, std::string, PickleOptions> cases[] = {
      {"", "without a STOP", PickleOptions{kTestGlobals}},
      {kProto2 + "N", "without a STOP", PickleOptions{kTestGlobals}},
      {kProto2 + ".", "pickle byte 2 (STOP): stack underflow", PickleOptions{kTestGlobals}},
      {kProto2 + "(N" + bytes({0x86}) + ".", "TUPLE2 needs 2", PickleOptions{kTestGlobals}},
      {kProto2 + "(.", "unclosed MARK", PickleOptions{kTestGlobals}},
      {kProto2 + "Nt.", "no MARK", PickleOptions{kTestGlobals}},
      {kProto2 + "Nj" + le<uint32_t>(123456) + ".", "memo index 123456 was never stored", PickleOptions{kTestGlobals}},
      {kProto2 + bytes({0xfe}), "unknown opcode 0xfe", PickleOptions{kTestGlobals}},
      {kProto2 + "i", "INST is not supported", PickleOptions{kTestGlobals}},
      {kProto2 + bytes({0x92}), "NEWOBJ_EX", PickleOptions{kTestGlobals}},
      {kProto2 + bytes({0x97}), "out-of-band", PickleOptions{kTestGlobals}},
      {kProto2 + "I01\n.", "protocol 0", PickleOptions{kTestGlobals}},
      {bytes({0x80, 6}) + "N.", "protocol 6", PickleOptions{kTestGlobals}},
      {kProto2 + "cos", "no terminating newline", PickleOptions{kTestGlobals}},
      {kProto2 + "NN" + bytes({0x93}), "instead of two strings", PickleOptions{kTestGlobals}},
      {kProto2 + "}(Nu.", "odd number of items", PickleOptions{kTestGlobals}},
      {kProto2 + "NNa.", "expected a list", PickleOptions{kTestGlobals}},
      {kProto2 + "NNNs.", "expected a dict", PickleOptions{kTestGlobals}},
      {kProto2 + "Nb.", "stack underflow", PickleOptions{kTestGlobals}},
      {kProto2 + "]Nb.", "BUILD on list", PickleOptions{kTestGlobals}},
      {kProto2 + bytes({0x8a, 9}) + std::string(9, '\0') + ".", "does not fit in 64 bits", PickleOptions{kTestGlobals}},
      {kProto2 + "J" + "\x01", "truncated", PickleOptions{kTestGlobals}},
      {kProto2 + "T" + le<int32_t>(-1) + ".", "negative string length", PickleOptions{kTestGlobals}},
      {kProto2 + "X" + le<uint32_t>(0xffffffff) + "ab", "4294967295 bytes needed", PickleOptions{kTestGlobals}},
      {kProto2 + bytes({0x8c, 2, 0xed, 0xa0}) + ".", "UTF-8", PickleOptions{kTestGlobals}},
      {kProto2 + std::string(20, ')') + ".", "more than 10 objects", tiny},
      {kProto2 + ")q" + bytes({1}) + "q" + bytes({2}) + "q" + bytes({3}) + ".", "more than 2 memo entries", tiny},
  };
  for (const auto& [s, expect, options] : cases) {
    auto p = unpickle(s, options);
    ASSERT_FALSE(p.ok()) << expect;
    EXPECT_NE(p.error().message().find(expect), std::string::npos) << p.error().message();
  }
}

TEST(PickleReader, malformed_cycles_and_deep_nesting_cost_nothing) {
  // A list containing itself, and a million nested 1-tuples: both are values like any other.
  auto cycle = unpickle(kProto2 + "]q" + bytes({0}) + "h" + bytes({0}) + "a.");
  ASSERT_TRUE(cycle.ok());
  EXPECT_EQ(cycle->at(cycle->root()).items[0], cycle->root());
  auto deep = unpickle(kProto2 + "N" + std::string(1000000, '\x85') + ".");
  ASSERT_TRUE(deep.ok());
  EXPECT_EQ(deep->describe(deep->root()), "tuple of 1");
  auto marks = unpickle(kProto2 + std::string(5000, '(') + ".");
  ASSERT_FALSE(marks.ok());
  EXPECT_NE(marks.error().message().find("MARKs nested deeper than 4096"), std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// Real torch.save files.

// Runs the reference script once per test process; nullopt (and a test failure) if it failed.
const std::optional<std::string>& generated() {
  static const std::optional<std::string> dir = []() -> std::optional<std::string> {
    const std::string d = testing::scratch_dir("pytorch_checkpoints");
    if (!testing::run_reference("write_pytorch_checkpoints.py", d)) return std::nullopt;
    return d;
  }();
  return dir;
}

Json manifest() {
  auto m = read_json_file(*generated() + "/manifest.json");
  EXPECT_TRUE(m.ok());
  return m.ok() ? m.value() : Json::object();
}

// Every tensor the manifest lists is in the store, in order, with the same bytes.
void expect_matches(const TensorStore& store, const Json& entries, const std::string& dir) {
  ASSERT_EQ(store.size(), entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    const Json& e = entries[i];
    const std::string name = e["name"].get<std::string>();
    SCOPED_TRACE(name);
    EXPECT_EQ(store.names()[i], name);
    const TensorView* t = store.find(name);
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(dtype_name(t->type), e["dtype"].get<std::string>());
    EXPECT_EQ(t->shape, e["shape"].get<Shape>());
    const std::string raw = testing::read_file(dir + "/" + e["raw"].get<std::string>());
    ASSERT_EQ(t->nbytes, raw.size());
    if (!raw.empty()) {
      EXPECT_EQ(std::memcmp(t->data, raw.data(), raw.size()), 0) << "bytes differ";
    }
  }
}

TEST(PytorchCheckpoint, TorchSaveFilesLoadBitExact) {
  if (!generated()) return;
  const Json m = manifest();
  ASSERT_GE(m["good"].size(), 12u);
  for (const auto& [file, entries] : m["good"].items()) {
    SCOPED_TRACE(file);
    auto store = read_pytorch_checkpoint(*generated() + "/" + file);
    ASSERT_TRUE(store.ok()) << store.error().message();
    EXPECT_EQ(store->format, FileFormat::kPytorch);
    expect_matches(store.value(), entries, *generated());
  }
}

TEST(PytorchCheckpoint, ContiguousTensorsAreViewsIntoTheFile) {
  if (!generated()) return;
  auto store = read_pytorch_checkpoint(*generated() + "/layouts.bin");
  ASSERT_TRUE(store.ok()) << store.error().message();
  const auto* base = static_cast<const uint8_t*>(store->find("shared_base")->data);
  // A contiguous view at storage offset 10 shares the storage's bytes; a strided slice of the
  // same storage is a copy.
  EXPECT_EQ(store->find("view_offset")->data, base + 10 * sizeof(float));
  EXPECT_EQ(store->find("size1_odd_stride")->nbytes, 24u);
  const auto* slice = static_cast<const uint8_t*>(store->find("slice_cols")->data);
  EXPECT_TRUE(slice < base || slice >= base + 256);
  // torch.save aligns storages to 64 bytes; views keep that alignment.
  auto peft = read_pytorch_checkpoint(*generated() + "/peft_f16.bin");
  ASSERT_TRUE(peft.ok());
  for (const auto& name : peft->names())
    EXPECT_EQ(reinterpret_cast<uintptr_t>(peft->find(name)->data) % 64, 0u) << name;
}

TEST(PytorchCheckpoint, OpenTensorFileAndHfFoldersUseTheLoader) {
  if (!generated()) return;
  const std::string dir = *generated();
  const Json m = manifest();
  auto adapter = open_tensor_file(dir + "/peft_bf16.bin");
  ASSERT_TRUE(adapter.ok()) << adapter.error().message();
  EXPECT_EQ(adapter->format, FileFormat::kPytorch);
  expect_matches(adapter.value(), m["good"]["peft_bf16.bin"], dir);

  for (const char* folder : {"hf", "hf_sharded"}) {
    SCOPED_TRACE(folder);
    auto store = open_tensor_file(dir + "/" + folder);
    ASSERT_TRUE(store.ok()) << store.error().message();
    EXPECT_EQ(store->format, FileFormat::kHfFolder);
    ASSERT_NE(store->metadata.find("general.architecture"), nullptr);
    // Same tensors as the single-file checkpoint, whichever shard holds them.
    const Json& entries = m["good"]["hf/pytorch_model.bin"];
    ASSERT_EQ(store->size(), entries.size());
    for (const auto& e : entries) {
      const TensorView* t = store->find(e["name"].get<std::string>());
      ASSERT_NE(t, nullptr) << e["name"];
      const std::string raw = testing::read_file(dir + "/" + e["raw"].get<std::string>());
      ASSERT_EQ(t->nbytes, raw.size());
      EXPECT_EQ(std::memcmp(t->data, raw.data(), raw.size()), 0) << e["name"];
    }
  }
}

TEST(PytorchCheckpoint, LimarpInfoListsACheckpoint) {
  if (!generated()) return;
  auto r = testing::run_command(testing::limarp_binary() + " info " + *generated() + "/peft_bf16.bin 2>&1");
  EXPECT_NE(r.out.find("PyTorch checkpoint"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("base_model.model.model.layers.0.mlp.down_proj.lora_B.weight"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("bf16"), std::string::npos) << r.out;
}

TEST(PytorchCheckpoint, hostile_and_malformed_files_from_python_are_refused) {
  if (!generated()) return;
  const std::string dir = *generated();
  const Json m = manifest();
  ASSERT_GE(m["hostile"].size(), 30u);
  for (const auto& h : m["hostile"]) {
    const std::string file = h["file"].get<std::string>(), expect = h["expect"].get<std::string>();
    SCOPED_TRACE(file);
    auto store = read_pytorch_checkpoint(dir + "/" + file);
    ASSERT_FALSE(store.ok()) << "loaded a file that should be refused";
    EXPECT_NE(store.error().message().find(expect), std::string::npos) << store.error().message();
    EXPECT_NE(store.error().message().find(file), std::string::npos) << store.error().message();
  }
  EXPECT_FALSE(fs::exists(dir + "/PWNED")) << "a pickle payload ran";
}

std::vector<uint8_t> file_bytes(const std::string& path) {
  const std::string s = testing::read_file(path);
  return {s.begin(), s.end()};
}

TEST(PytorchCheckpoint, truncated_files_are_refused_at_every_length) {
  if (!generated()) return;
  for (const char* name : {"module_params.bin", "peft_proto4.bin"}) {
    const std::vector<uint8_t> original = file_bytes(*generated() + "/" + name);
    ASSERT_TRUE(parse_pytorch_checkpoint(original, name).ok());
    for (size_t n = 0; n < original.size(); ++n) {
      // A fresh allocation of exactly n bytes, so ASan sees any read past the end.
      std::vector<uint8_t> cut(original.begin(), original.begin() + static_cast<std::ptrdiff_t>(n));
      auto store = parse_pytorch_checkpoint(cut, name);
      ASSERT_FALSE(store.ok()) << name << " cut to " << n << " bytes still loads";
    }
  }
}

TEST(PytorchCheckpoint, malformed_bit_flips_are_caught_or_harmless) {
  if (!generated()) return;
  const std::vector<uint8_t> original = file_bytes(*generated() + "/module_params.bin");
  auto zip = ZipArchive::parse(original, "original");
  ASSERT_TRUE(zip.ok());
  const ZipEntry* pkl = zip->find("module_params/data.pkl");
  ASSERT_NE(pkl, nullptr);
  size_t loaded = 0;
  for (size_t i = 0; i < original.size(); ++i) {
    for (uint8_t mask : {0x01, 0x80, 0xff}) {
      std::vector<uint8_t> b = original;
      b[i] ^= mask;
      auto store = parse_pytorch_checkpoint(b, "mutant");
      if (!store.ok()) {
        EXPECT_FALSE(store.error().message().empty());
        continue;
      }
      ++loaded;
      // The pickle is CRC-checked: no flip inside it may go unnoticed.
      EXPECT_FALSE(i >= pkl->data_offset && i < pkl->data_offset + pkl->compressed_size) << "flip at " << i;
      for (const auto& name : store->names()) {  // touch every byte, for the sanitizers
        const TensorView* t = store->find(name);
        uint8_t sum = 0;
        for (uint64_t k = 0; k < t->nbytes; ++k) sum ^= static_cast<const uint8_t*>(t->data)[k];
        (void)sum;
      }
    }
  }
  EXPECT_GT(loaded, 0u);  // flips in tensor data and padding load, as they should
}

TEST(PytorchCheckpoint, malformed_random_pickle_mutations_never_crash) {
  if (!generated()) return;
  // Random byte edits of real data.pkl streams, each re-wrapped in a fresh zip beside the
  // original storages, so every mutant reaches the unpickler and the tensor checks.
  // LIMARP_FUZZ_ROUNDS raises the count for a longer local run (the default keeps CI quick).
  const char* env_rounds = std::getenv("LIMARP_FUZZ_ROUNDS");
  const int rounds = env_rounds ? std::max(1, std::atoi(env_rounds)) : 1000;
  std::mt19937 rng(1234);
  for (const char* file : {"layouts_small.bin", "module_params.bin", "peft_proto4.bin"}) {
    const std::vector<uint8_t> original = file_bytes(*generated() + "/" + file);
    auto zip = ZipArchive::parse(original, file);
    ASSERT_TRUE(zip.ok());
    std::vector<ZipItem> items;
    size_t pkl_index = 0;
    for (const ZipEntry& e : zip->entries()) {
      auto data = zip->stored_bytes(e);
      ASSERT_TRUE(data.ok());
      if (e.name.ends_with("/data.pkl")) pkl_index = items.size();
      items.push_back({e.name, std::string(reinterpret_cast<const char*>(data->data()), data->size())});
    }
    size_t loaded = 0;
    for (int round = 0; round < rounds; ++round) {
      std::vector<ZipItem> mutant = items;
      std::string& pkl = mutant[pkl_index].data;
      const int edits = 1 + static_cast<int>(rng() % 4);
      for (int k = 0; k < edits; ++k) {
        const size_t at = rng() % pkl.size();
        switch (rng() % 3) {
          case 0: pkl[at] = static_cast<char>(rng()); break;
          case 1: pkl.erase(at, 1 + rng() % 8); break;
          default: pkl.insert(at, 1, static_cast<char>(rng())); break;
        }
        if (pkl.empty()) pkl.assign(1, 'N');
      }
      const BuiltZip built = build_zip(mutant);
      auto store = parse_pytorch_checkpoint(built.bytes, "mutant");
      if (store.ok()) ++loaded;
    }
    std::printf("%s: %zu of %d mutants still loaded\n", file, loaded, rounds);
  }
}

}  // namespace
}  // namespace limarp
