#include "formats/gguf.h"

#include <algorithm>
#include <memory>
#include <unordered_set>

#include "base/atomic_file.h"
#include "base/byte_reader.h"
#include "base/checked_math.h"
#include "base/mapped_file.h"

namespace limarp {
namespace {

constexpr uint32_t kMaxGgufDims = 4;
constexpr int kMaxArrayDepth = 8;

Result<std::string> read_gguf_string(ByteReader& r, std::string_view what) {
  LIMARP_ASSIGN_OR_RETURN(uint64_t len, r.read<uint64_t>(what));
  if (len > r.remaining())
    return make_error("{} claims {} bytes at offset {}, but only {} remain", what, len, r.position(),
                      r.remaining());
  LIMARP_ASSIGN_OR_RETURN(std::string_view s, r.read_string(len, what));
  return std::string(s);
}

size_t min_encoded_size(MetaType t) {
  if (t == MetaType::kString) return 8;
  if (t == MetaType::kArray) return 12;
  return meta_type_size(t);
}

bool valid_meta_type(uint32_t t) { return t <= static_cast<uint32_t>(MetaType::kF64); }

// What the metadata read so far holds in memory, against kGgufMaxMetadataBytes.
struct MetadataBudget {
  uint64_t used = 0;
  Status charge(uint64_t bytes, const std::string& key) {
    used += bytes;
    if (used > kGgufMaxMetadataBytes)
      return make_error("metadata {}: metadata would take more than {} MiB of memory (the limit)", key,
                        kGgufMaxMetadataBytes >> 20);
    return {};
  }
};

Result<MetaValue> read_value(ByteReader& r, MetaType type, const std::string& key, int depth, MetadataBudget& budget);

Result<MetaArray> read_array(ByteReader& r, const std::string& key, int depth, MetadataBudget& budget) {
  if (depth >= kMaxArrayDepth) return make_error("metadata {}: arrays nested deeper than {}", key, kMaxArrayDepth);
  LIMARP_ASSIGN_OR_RETURN(uint32_t elem, r.read<uint32_t>(key + " element type"));
  if (!valid_meta_type(elem)) return make_error("metadata {}: unknown array element type {}", key, elem);
  LIMARP_ASSIGN_OR_RETURN(uint64_t count, r.read<uint64_t>(key + " array length"));
  const auto et = static_cast<MetaType>(elem);
  if (count > r.remaining() / min_encoded_size(et))
    return make_error("metadata {}: array of {} {} cannot fit in the {} bytes left", key, count, meta_type_name(et),
                      r.remaining());
  if (count > kGgufMaxArrayElements)
    return make_error("metadata {}: array of {} {} exceeds the limit of {} elements per array", key, count,
                      meta_type_name(et), kGgufMaxArrayElements);
  if (const size_t size = meta_type_size(et)) {
    // Fixed-size elements: one bounds check and one copy, whatever the count.
    LIMARP_TRY(budget.charge(count * size, key));
    LIMARP_ASSIGN_OR_RETURN(auto bytes, r.read_bytes(count * size, key));
    if (et == MetaType::kBool)
      for (size_t i = 0; i < bytes.size(); ++i)
        if (bytes[i] > 1) return make_error("metadata {}[{}]: bool value {} is neither 0 nor 1", key, i, bytes[i]);
    return MetaArray::from_raw(et, std::vector<uint8_t>(bytes.begin(), bytes.end()));
  }
  std::vector<MetaValue> nested;
  std::vector<std::string> strings;
  for (uint64_t i = 0; i < count; ++i) {
    if (et == MetaType::kString) {
      LIMARP_ASSIGN_OR_RETURN(std::string s, read_gguf_string(r, key));
      LIMARP_TRY(budget.charge(sizeof(std::string) + s.size(), key));
      strings.push_back(std::move(s));
    } else {
      LIMARP_TRY(budget.charge(sizeof(MetaValue), key));
      LIMARP_ASSIGN_OR_RETURN(MetaValue v, read_value(r, et, key, depth + 1, budget));
      nested.push_back(std::move(v));
    }
  }
  return et == MetaType::kString ? MetaArray::from_strings(std::move(strings)) : MetaArray::from_values(et, nested);
}

Result<MetaValue> read_value(ByteReader& r, MetaType type, const std::string& key, int depth, MetadataBudget& budget) {
  switch (type) {
    case MetaType::kU8: { LIMARP_ASSIGN_OR_RETURN(uint8_t x, r.read<uint8_t>(key)); return MetaValue{type, uint64_t{x}}; }
    case MetaType::kI8: { LIMARP_ASSIGN_OR_RETURN(int8_t x, r.read<int8_t>(key)); return MetaValue{type, int64_t{x}}; }
    case MetaType::kU16: { LIMARP_ASSIGN_OR_RETURN(uint16_t x, r.read<uint16_t>(key)); return MetaValue{type, uint64_t{x}}; }
    case MetaType::kI16: { LIMARP_ASSIGN_OR_RETURN(int16_t x, r.read<int16_t>(key)); return MetaValue{type, int64_t{x}}; }
    case MetaType::kU32: { LIMARP_ASSIGN_OR_RETURN(uint32_t x, r.read<uint32_t>(key)); return MetaValue{type, uint64_t{x}}; }
    case MetaType::kI32: { LIMARP_ASSIGN_OR_RETURN(int32_t x, r.read<int32_t>(key)); return MetaValue{type, int64_t{x}}; }
    case MetaType::kU64: { LIMARP_ASSIGN_OR_RETURN(uint64_t x, r.read<uint64_t>(key)); return MetaValue{type, x}; }
    case MetaType::kI64: { LIMARP_ASSIGN_OR_RETURN(int64_t x, r.read<int64_t>(key)); return MetaValue{type, x}; }
    case MetaType::kF32: { LIMARP_ASSIGN_OR_RETURN(float x, r.read<float>(key)); return MetaValue{type, double{x}}; }
    case MetaType::kF64: { LIMARP_ASSIGN_OR_RETURN(double x, r.read<double>(key)); return MetaValue{type, x}; }
    case MetaType::kBool: {
      LIMARP_ASSIGN_OR_RETURN(uint8_t x, r.read<uint8_t>(key));
      if (x > 1) return make_error("metadata {}: bool value {} is neither 0 nor 1", key, x);
      return MetaValue{type, uint64_t{x}};
    }
    case MetaType::kString: {
      LIMARP_ASSIGN_OR_RETURN(std::string s, read_gguf_string(r, key));
      LIMARP_TRY(budget.charge(s.size(), key));
      return MetaValue::str(std::move(s));
    }
    case MetaType::kArray: {
      LIMARP_ASSIGN_OR_RETURN(MetaArray a, read_array(r, key, depth, budget));
      return MetaValue::array(std::move(a));
    }
  }
  return make_error("metadata {}: unknown value type {}", key, static_cast<uint32_t>(type));
}

struct RawInfo {
  std::string name;
  Shape shape;
  DType type;
  uint64_t offset;
  uint64_t nbytes;
};

}  // namespace

Result<TensorStore> parse_gguf(std::span<const uint8_t> bytes, const std::string& source) {
  auto fail = [&](const Error& e) { return e.with_context(source); };
  ByteReader r(bytes);
  auto magic = r.read<uint32_t>("magic");
  if (!magic.ok() || *magic != 0x46554747u) return fail(make_error("not a GGUF file (bad magic)"));
  auto version = r.read<uint32_t>("version");
  if (!version.ok()) return fail(version.error());
  if (*version == 1) return fail(make_error("GGUF version 1 is not supported (re-convert with a newer tool)"));
  if (*version != 2 && *version != 3)
    return fail(make_error("unsupported GGUF version {} (2 and 3 are supported)", *version));
  auto n_tensors = r.read<uint64_t>("tensor count");
  auto n_kv = r.read<uint64_t>("metadata count");
  if (!n_tensors.ok()) return fail(n_tensors.error());
  if (!n_kv.ok()) return fail(n_kv.error());
  // A key/value needs at least 8 (key length) + 4 (type) + 1 bytes; a tensor info at least 8+4+8+4+8.
  if (*n_kv > r.remaining() / 13)
    return fail(make_error("metadata count {} cannot fit in a {}-byte file", *n_kv, bytes.size()));
  if (*n_tensors > r.remaining() / 32)
    return fail(make_error("tensor count {} cannot fit in a {}-byte file", *n_tensors, bytes.size()));

  TensorStore store;
  store.format = FileFormat::kGguf;
  store.source = source;
  MetadataBudget budget;
  for (uint64_t i = 0; i < *n_kv; ++i) {
    auto key = read_gguf_string(r, fmt::format("metadata key #{}", i));
    if (!key.ok()) return fail(key.error());
    if (store.metadata.find(*key)) return fail(make_error("metadata key {} appears twice", *key));
    auto type = r.read<uint32_t>(*key + " type");
    if (!type.ok()) return fail(type.error());
    if (!valid_meta_type(*type)) return fail(make_error("metadata {}: unknown value type {}", *key, *type));
    auto value = read_value(r, static_cast<MetaType>(*type), *key, 0, budget);
    if (!value.ok()) return fail(value.error());
    store.metadata.set(std::move(*key), std::move(*value));
  }

  uint64_t alignment = kGgufDefaultAlignment;
  if (const auto* a = store.metadata.find("general.alignment")) {
    auto v = a->as_int();
    if (a->type != MetaType::kU32 || !v || *v == 0 || (*v & (*v - 1)) != 0)
      return fail(make_error("general.alignment must be a power-of-two u32, got {}", a->to_display()));
    alignment = static_cast<uint64_t>(*v);
  }

  std::vector<RawInfo> infos;
  infos.reserve(static_cast<size_t>(*n_tensors));
  std::unordered_set<std::string> seen;
  for (uint64_t i = 0; i < *n_tensors; ++i) {
    auto name = read_gguf_string(r, fmt::format("tensor #{} name", i));
    if (!name.ok()) return fail(name.error());
    if (!seen.insert(*name).second) return fail(make_error("tensor {} appears twice", *name));
    auto n_dims = r.read<uint32_t>(*name + " dimension count");
    if (!n_dims.ok()) return fail(n_dims.error());
    if (*n_dims == 0 || *n_dims > kMaxGgufDims)
      return fail(make_error("tensor {}: {} dimensions (1 to {} allowed)", *name, *n_dims, kMaxGgufDims));
    Shape ne(*n_dims);
    uint64_t elements = 1;
    for (uint32_t d = 0; d < *n_dims; ++d) {
      auto dim = r.read<uint64_t>(*name + " dimension");
      if (!dim.ok()) return fail(dim.error());
      if (*dim > (uint64_t{1} << 40) || (elements > 0 && *dim > (uint64_t{1} << 62) / elements))
        return fail(make_error("tensor {}: dimension {} is implausibly large", *name, *dim));
      elements *= *dim;
      ne[d] = static_cast<int64_t>(*dim);
    }
    auto type_id = r.read<uint32_t>(*name + " type");
    if (!type_id.ok()) return fail(type_id.error());
    auto traits = dtype_traits_for_id(*type_id);
    if (!traits) return fail(make_error("tensor {}: unknown tensor type id {}", *name, *type_id));
    auto offset = r.read<uint64_t>(*name + " offset");
    if (!offset.ok()) return fail(offset.error());
    auto rb = row_bytes(traits->type, ne[0]);
    if (!rb)
      return fail(make_error("tensor {}: row length {} is not a multiple of the {} block size {}", *name, ne[0],
                             traits->name, traits->block_elems));
    uint64_t rows = ne[0] == 0 ? 0 : elements / static_cast<uint64_t>(ne[0]);
    auto nbytes = checked_mul(*rb, rows, fmt::format("tensor {} ({} {} x {})", *name, traits->name, ne[0], rows));
    if (!nbytes.ok()) return fail(nbytes.error());
    Shape shape(ne.rbegin(), ne.rend());
    infos.push_back({std::move(*name), std::move(shape), traits->type, *offset, *nbytes});
  }

  const uint64_t data_start = (r.position() + alignment - 1) / alignment * alignment;
  if (infos.empty()) {
    return store;
  }
  if (data_start > bytes.size())
    return fail(make_error("tensor data should start at byte {}, past the end of the {}-byte file", data_start,
                           bytes.size()));
  const uint64_t data_size = bytes.size() - data_start;
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  for (auto& info : infos) {
    if (info.offset % alignment != 0)
      return fail(make_error("tensor {}: data offset {} is not aligned to {}", info.name, info.offset, alignment));
    if (info.offset > data_size || info.nbytes > data_size - info.offset)
      return fail(make_error("tensor {} ({} {}): bytes {}..{} run past the end of the data section ({} bytes); "
                             "is the file truncated?",
                             info.name, dtype_name(info.type), shape_string(info.shape), info.offset,
                             info.offset + info.nbytes, data_size));
    ranges.emplace_back(info.offset, info.offset + info.nbytes);
    store.add(info.name, TensorView{info.type, info.shape, bytes.data() + data_start + info.offset, info.nbytes});
  }
  std::sort(ranges.begin(), ranges.end());
  for (size_t i = 1; i < ranges.size(); ++i)
    if (ranges[i].first < ranges[i - 1].second && ranges[i].first != ranges[i].second)
      return fail(make_error("tensor data ranges overlap at offset {}", ranges[i].first));
  return store;
}

Result<TensorStore> read_gguf(const std::string& path) {
  LIMARP_ASSIGN_OR_RETURN(MappedFile file, MappedFile::open(path));
  auto shared = std::make_shared<MappedFile>(std::move(file));
  LIMARP_ASSIGN_OR_RETURN(TensorStore store, parse_gguf(shared->bytes(), path));
  store.keep_alive(shared);
  return store;
}

namespace {

class GgufEncoder {
 public:
  explicit GgufEncoder(std::string& out) : out_(out) {}
  template <typename T>
  void pod(T v) {
    out_.append(reinterpret_cast<const char*>(&v), sizeof(T));
  }
  void str(const std::string& s) {
    pod<uint64_t>(s.size());
    out_ += s;
  }
  void value(const MetaValue& v) {
    switch (v.type) {
      case MetaType::kU8: pod<uint8_t>(static_cast<uint8_t>(std::get<uint64_t>(v.v))); break;
      case MetaType::kI8: pod<int8_t>(static_cast<int8_t>(std::get<int64_t>(v.v))); break;
      case MetaType::kU16: pod<uint16_t>(static_cast<uint16_t>(std::get<uint64_t>(v.v))); break;
      case MetaType::kI16: pod<int16_t>(static_cast<int16_t>(std::get<int64_t>(v.v))); break;
      case MetaType::kU32: pod<uint32_t>(static_cast<uint32_t>(std::get<uint64_t>(v.v))); break;
      case MetaType::kI32: pod<int32_t>(static_cast<int32_t>(std::get<int64_t>(v.v))); break;
      case MetaType::kU64: pod<uint64_t>(std::get<uint64_t>(v.v)); break;
      case MetaType::kI64: pod<int64_t>(std::get<int64_t>(v.v)); break;
      case MetaType::kF32: pod<float>(static_cast<float>(std::get<double>(v.v))); break;
      case MetaType::kF64: pod<double>(std::get<double>(v.v)); break;
      case MetaType::kBool: pod<uint8_t>(std::get<uint64_t>(v.v) ? 1 : 0); break;
      case MetaType::kString: str(std::get<std::string>(v.v)); break;
      case MetaType::kArray: {
        const auto& a = std::get<MetaArray>(v.v);
        pod<uint32_t>(static_cast<uint32_t>(a.elem_type()));
        pod<uint64_t>(a.size());
        out_.append(reinterpret_cast<const char*>(a.raw().data()), a.raw().size());
        for (const auto& s : a.strings()) str(s);
        for (const auto& item : a.arrays()) value(item);
        break;
      }
    }
  }

 private:
  std::string& out_;
};

}  // namespace

Status write_gguf(const std::string& path, const Metadata& metadata, const std::vector<OutTensor>& tensors) {
  uint64_t alignment = kGgufDefaultAlignment;
  if (auto a = metadata.get_int("general.alignment")) alignment = static_cast<uint64_t>(*a);
  if (alignment == 0 || (alignment & (alignment - 1)) != 0)
    return make_error("writing {}: alignment {} is not a power of two", path, alignment);

  std::string header;
  GgufEncoder enc(header);
  enc.pod<uint32_t>(0x46554747u);
  enc.pod<uint32_t>(3);
  enc.pod<uint64_t>(tensors.size());
  enc.pod<uint64_t>(metadata.size());
  for (const auto& [key, value] : metadata.entries()) {
    enc.str(key);
    enc.pod<uint32_t>(static_cast<uint32_t>(value.type));
    enc.value(value);
  }
  uint64_t offset = 0;
  std::vector<uint64_t> offsets;
  for (const auto& t : tensors) {
    if (t.shape.empty() || t.shape.size() > kMaxGgufDims)
      return make_error("writing {}: tensor {} has {} dimensions", path, t.name, t.shape.size());
    if (!row_bytes(t.type, t.shape.back()))
      return make_error("writing {}: tensor {} row of {} is not a whole number of {} blocks", path, t.name,
                        t.shape.back(), dtype_name(t.type));
    enc.str(t.name);
    enc.pod<uint32_t>(static_cast<uint32_t>(t.shape.size()));
    for (auto it = t.shape.rbegin(); it != t.shape.rend(); ++it) enc.pod<uint64_t>(static_cast<uint64_t>(*it));
    enc.pod<uint32_t>(static_cast<uint32_t>(t.type));
    enc.pod<uint64_t>(offset);
    offsets.push_back(offset);
    offset += (t.nbytes() + alignment - 1) / alignment * alignment;
  }

  LIMARP_ASSIGN_OR_RETURN(AtomicFile out, AtomicFile::create(path));
  LIMARP_TRY(out.write(header));
  LIMARP_TRY(out.write_zeros((alignment - header.size() % alignment) % alignment));
  std::vector<uint8_t> buffer;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const auto& t = tensors[i];
    buffer.assign(t.nbytes(), 0);
    LIMARP_TRY(t.fill(buffer).with_context(fmt::format("writing {}: tensor {}", path, t.name)));
    LIMARP_TRY(out.write(buffer.data(), buffer.size()));
    LIMARP_TRY(out.write_zeros((alignment - buffer.size() % alignment) % alignment));
  }
  return out.commit();
}

}  // namespace limarp
