// GGUF metadata and tensor sizes against hostile headers (issue 21, rows 6 and 7): a large
// u8 array is held in its own size, not one variant per byte; arrays and metadata beyond the
// documented caps are refused by name; a tensor whose byte size overflows 2^64 is refused
// naming the tensor instead of accepted with a wrapped size.
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>

#include "formats/gguf.h"

namespace limarp {
namespace {

class GgufBytes {
 public:
  template <typename T>
  GgufBytes& pod(T v) {
    const auto* p = reinterpret_cast<const uint8_t*>(&v);
    bytes.insert(bytes.end(), p, p + sizeof(T));
    return *this;
  }
  GgufBytes& str(const std::string& s) {
    pod<uint64_t>(s.size());
    bytes.insert(bytes.end(), s.begin(), s.end());
    return *this;
  }
  GgufBytes& header(uint64_t tensors, uint64_t kvs) { return pod<uint32_t>(0x46554747u).pod<uint32_t>(3).pod(tensors).pod(kvs); }
  // A key holding an array of `count` elements of `type`, each `elem_bytes` long and filled with `fill`.
  GgufBytes& array(const std::string& key, MetaType type, uint64_t count, size_t elem_bytes, uint8_t fill = 1) {
    str(key).pod<uint32_t>(static_cast<uint32_t>(MetaType::kArray)).pod<uint32_t>(static_cast<uint32_t>(type)).pod(count);
    bytes.resize(bytes.size() + count * elem_bytes, fill);
    return *this;
  }
  std::vector<uint8_t> bytes;
};

TEST(GgufLimits, LargeNumericArraysAreHeldCompactly) {
  const uint64_t n = uint64_t{8} << 20;  // 8 Mi u8 elements, under the cap
  GgufBytes g;
  g.header(0, 2).array("big.u8", MetaType::kU8, n, 1, 7).array("big.f32", MetaType::kF32, 1 << 20, 4, 0);
  const auto t0 = std::chrono::steady_clock::now();
  auto store = parse_gguf(g.bytes, "big.gguf");
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_TRUE(store.ok()) << store.error().message();
  const MetaArray* a = store->metadata.find("big.u8")->as_array();
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->size(), n);
  EXPECT_EQ(a->int_at(n - 1), 7);
  EXPECT_EQ(a->memory_bytes(), n);  // one byte per element; a variant each was 48
  EXPECT_EQ(store->metadata.find("big.f32")->as_array()->double_at(5), 0.0);
  EXPECT_LT(seconds, 2.0);  // one copy, not 8 million parsed values
}

TEST(GgufLimits, ArraysAndMetadataBeyondTheCapsAreRefused) {
  GgufBytes g;
  g.header(0, 1).array("huge.u8", MetaType::kU8, kGgufMaxArrayElements + 1, 1);
  auto store = parse_gguf(g.bytes, "huge.gguf");
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.error().message().find("huge.u8"), std::string::npos) << store.error().message();
  EXPECT_NE(store.error().message().find("limit"), std::string::npos) << store.error().message();

  // Under the per-array cap, over the total: 17 arrays of 2^24 u8 = 272 MiB > 256 MiB.
  GgufBytes many;
  many.header(0, 17);
  for (int i = 0; i < 17; ++i) many.array("a" + std::to_string(i), MetaType::kU8, kGgufMaxArrayElements, 1);
  store = parse_gguf(many.bytes, "many.gguf");
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.error().message().find("MiB"), std::string::npos) << store.error().message();

  GgufBytes bools;
  bools.header(0, 1).array("flags", MetaType::kBool, 4, 1, 2);
  store = parse_gguf(bools.bytes, "bools.gguf");
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.error().message().find("flags[0]"), std::string::npos) << store.error().message();
}

TEST(GgufLimits, ArraysRoundTripThroughTheWriter) {
  Metadata m;
  m.set("u16s", MetaValue::array(MetaType::kU16, {MetaValue{MetaType::kU16, uint64_t{65535}}, MetaValue{MetaType::kU16, uint64_t{2}}}));
  m.set("i8s", MetaValue::array(MetaType::kI8, {MetaValue{MetaType::kI8, int64_t{-128}}}));
  m.set("u64s", MetaValue::array(MetaType::kU64, {MetaValue::u64(~uint64_t{0})}));
  m.set("strings", MetaValue::string_array({"a", "", std::string(100, 'x')}));
  const std::string path = ::testing::TempDir() + "/roundtrip_arrays.gguf";
  ASSERT_TRUE(write_gguf(path, m, {}).ok());
  auto back = read_gguf(path);
  ASSERT_TRUE(back.ok()) << back.error().message();
  for (const auto& [key, value] : m.entries()) EXPECT_EQ(*back->metadata.find(key), value) << key;
  EXPECT_EQ(back->metadata.find("u16s")->as_array()->int_at(0), 65535);
  EXPECT_EQ(back->metadata.find("i8s")->as_array()->int_at(0), -128);
  EXPECT_EQ(back->metadata.find("u64s")->as_array()->int_at(0), std::nullopt);  // beyond int64
  EXPECT_EQ(back->metadata.find("u64s")->as_array()->value_at(0), MetaValue::u64(~uint64_t{0}));
}

TEST(GgufLimits, TensorSizeOverflowNamesTheTensor) {
  // f32 [2^40, 2^22] = 2^62 elements: 2^64 bytes, one past what 64 bits hold.
  GgufBytes g;
  g.header(1, 0).str("blk.0.wrapped").pod<uint32_t>(2).pod<uint64_t>(uint64_t{1} << 40).pod<uint64_t>(uint64_t{1} << 22);
  g.pod<uint32_t>(0 /* f32 */).pod<uint64_t>(0);
  g.bytes.resize(g.bytes.size() + 256, 0);
  auto store = parse_gguf(g.bytes, "wrapped.gguf");
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.error().message().find("blk.0.wrapped"), std::string::npos) << store.error().message();
  EXPECT_NE(store.error().message().find("overflows"), std::string::npos) << store.error().message();
}

}  // namespace
}  // namespace limarp
