// GGUF reader and writer: every metadata value type round-trips, alignment is honoured,
// version 2 files read, tensor bytes survive a write/read cycle bit for bit, and files written
// by llama.cpp's tools (the shared assets) read.
#include <gtest/gtest.h>

#include <cstring>

#include "base/mapped_file.h"
#include "formats/gguf.h"
#include "support/test_support.h"
#include "tensor/quantize.h"

namespace limarp {
namespace {

Metadata every_type() {
  Metadata m;
  m.set("u8", {MetaType::kU8, uint64_t{200}});
  m.set("i8", {MetaType::kI8, int64_t{-100}});
  m.set("u16", {MetaType::kU16, uint64_t{60000}});
  m.set("i16", {MetaType::kI16, int64_t{-30000}});
  m.set("u32", MetaValue::u32(4000000000u));
  m.set("i32", MetaValue::i32(-2000000000));
  m.set("u64", MetaValue::u64(uint64_t{1} << 60));
  m.set("i64", {MetaType::kI64, int64_t{-(int64_t{1} << 60)}});
  m.set("f32", MetaValue::f32(0.1f));
  m.set("f64", {MetaType::kF64, 0.1});
  m.set("bool", MetaValue::boolean(true));
  m.set("string", MetaValue::str("héllo ▁world"));
  m.set("empty", MetaValue::str(""));
  m.set("strings", MetaValue::string_array({"a", "", "ccc"}));
  m.set("floats", MetaValue::f32_array({1.5f, -2.25f}));
  m.set("nested", MetaValue::array(MetaType::kArray, {MetaValue::i32_array({1, 2}), MetaValue::i32_array({})}));
  return m;
}

std::vector<OutTensor> sample_tensors(std::vector<Tensor>& keep) {
  std::vector<OutTensor> out;
  std::vector<float> values(64 * 3);
  for (size_t i = 0; i < values.size(); ++i) values[i] = std::sin(static_cast<float>(i)) * 3;
  for (DType t : {DType::kF32, DType::kF16, DType::kBF16, DType::kQ8_0, DType::kQ4_0}) {
    auto q = quantize(values.data(), {3, 64}, t);
    EXPECT_TRUE(q.ok());
    keep.push_back(std::move(q.value()));
    out.push_back(OutTensor::copy_of(std::string("t.") + dtype_name(t), keep.back().view()));
  }
  return out;
}

TEST(Gguf, EveryMetadataTypeAndTensorRoundTrips) {
  const std::string dir = testing::scratch_dir("gguf_roundtrip");
  std::vector<Tensor> keep;
  const auto tensors = sample_tensors(keep);
  const Metadata meta = every_type();
  ASSERT_TRUE(write_gguf(dir + "/a.gguf", meta, tensors).ok());
  auto store = read_gguf(dir + "/a.gguf");
  ASSERT_TRUE(store.ok()) << store.error().message();
  ASSERT_EQ(store->metadata.size(), meta.size());
  for (size_t i = 0; i < meta.size(); ++i) {
    EXPECT_EQ(store->metadata.entries()[i].first, meta.entries()[i].first);
    EXPECT_TRUE(store->metadata.entries()[i].second == meta.entries()[i].second) << meta.entries()[i].first;
  }
  ASSERT_EQ(store->size(), keep.size());
  for (size_t i = 0; i < keep.size(); ++i) {
    const TensorView* t = store->find(tensors[i].name);
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(t->type, keep[i].type());
    EXPECT_EQ(t->shape, keep[i].shape());
    ASSERT_EQ(t->nbytes, keep[i].nbytes());
    EXPECT_EQ(std::memcmp(t->data, keep[i].bytes(), t->nbytes), 0) << tensors[i].name;
    EXPECT_EQ(reinterpret_cast<uintptr_t>(t->data) % 32, 0u) << "data aligned to 32";
  }
  // Writing what was read gives the same bytes.
  std::vector<OutTensor> again;
  for (const auto& name : store->names()) again.push_back(OutTensor::copy_of(name, *store->find(name)));
  ASSERT_TRUE(write_gguf(dir + "/b.gguf", store->metadata, again).ok());
  EXPECT_EQ(testing::read_file(dir + "/a.gguf"), testing::read_file(dir + "/b.gguf"));
}

TEST(Gguf, CustomAlignmentAndVersion2) {
  const std::string dir = testing::scratch_dir("gguf_align");
  std::vector<Tensor> keep;
  Metadata meta;
  meta.set("general.alignment", MetaValue::u32(64));
  ASSERT_TRUE(write_gguf(dir + "/a.gguf", meta, sample_tensors(keep)).ok());
  std::string bytes = testing::read_file(dir + "/a.gguf");
  auto store = read_gguf(dir + "/a.gguf");
  ASSERT_TRUE(store.ok());
  for (const auto& n : store->names()) {
    const auto* base = reinterpret_cast<const uint8_t*>(store->find(store->names()[0])->data);
    EXPECT_EQ((reinterpret_cast<const uint8_t*>(store->find(n)->data) - base) % 64, 0) << n;
  }
  bytes[4] = 2;  // version 2 has the same layout
  testing::write_file(dir + "/v2.gguf", bytes);
  EXPECT_TRUE(read_gguf(dir + "/v2.gguf").ok());
  bytes[4] = 1;
  testing::write_file(dir + "/v1.gguf", bytes);
  auto v1 = read_gguf(dir + "/v1.gguf");
  ASSERT_FALSE(v1.ok());
  EXPECT_NE(v1.error().message().find("version 1"), std::string::npos);
}

TEST(Gguf, FilesFromLlamaCppRead) {
  LIMARP_ASSET(vocab, "llama-vocab/ggml-vocab-llama-spm.gguf");
  LIMARP_ASSET(tiny, "llama-2-tiny-random/llama-2-tiny-random.gguf");
  LIMARP_ASSET(stories, "stories260K/stories260K.gguf");
  auto v = read_gguf(vocab);
  ASSERT_TRUE(v.ok()) << v.error().message();
  EXPECT_EQ(v->metadata.find("tokenizer.ggml.tokens")->as_array()->size(), 32000u);
  auto t = read_gguf(tiny);
  ASSERT_TRUE(t.ok()) << t.error().message();
  EXPECT_GT(t->size(), 0u);
  auto s = read_gguf(stories);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->size(), 48u);
  EXPECT_EQ(s->find("blk.0.attn_k.weight")->shape, (Shape{32, 64}));
}

}  // namespace
}  // namespace limarp
