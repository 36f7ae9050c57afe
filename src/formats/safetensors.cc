#include "formats/safetensors.h"

#include <algorithm>
#include <cstring>
#include <memory>

#include "base/atomic_file.h"
#include "base/checked_math.h"
#include "base/json_util.h"
#include "base/mapped_file.h"

namespace limarp {
namespace {

constexpr uint64_t kMaxHeader = uint64_t{100} << 20;

struct StDType {
  const char* name;
  DType type;
};
constexpr StDType kDTypes[] = {
    {"F32", DType::kF32}, {"F16", DType::kF16}, {"BF16", DType::kBF16}, {"F64", DType::kF64},
    {"I8", DType::kI8},   {"I16", DType::kI16}, {"I32", DType::kI32},   {"I64", DType::kI64},
};

const char* st_name(DType t) {
  for (const auto& d : kDTypes)
    if (d.type == t) return d.name;
  return nullptr;
}

}  // namespace

bool looks_like_safetensors(std::span<const uint8_t> bytes) {
  if (bytes.size() < 10) return false;
  uint64_t n;
  std::memcpy(&n, bytes.data(), 8);
  return n >= 2 && n <= bytes.size() - 8 && bytes[8] == '{';
}

Result<TensorStore> parse_safetensors(std::span<const uint8_t> bytes, const std::string& source) {
  auto fail = [&](const Error& e) { return e.with_context(source); };
  if (bytes.size() < 8) return fail(make_error("file of {} bytes is too short for a safetensors header", bytes.size()));
  uint64_t header_len;
  std::memcpy(&header_len, bytes.data(), 8);
  if (header_len > kMaxHeader) return fail(make_error("header length {} exceeds the {}-byte limit", header_len, kMaxHeader));
  if (header_len > bytes.size() - 8)
    return fail(make_error("header length {} runs past the end of the {}-byte file; is it truncated?", header_len,
                           bytes.size()));
  std::string_view text(reinterpret_cast<const char*>(bytes.data() + 8), header_len);
  LIMARP_ASSIGN_OR_RETURN(Json header, parse_json(text, source + " header", {kMaxHeader, 8}));
  if (!header.is_object()) return fail(make_error("header is not a JSON object"));

  const uint8_t* data = bytes.data() + 8 + header_len;
  const uint64_t data_size = bytes.size() - 8 - header_len;
  TensorStore store;
  store.format = FileFormat::kSafetensors;
  store.source = source;
  struct Range {
    uint64_t begin, end;
    std::string name;
  };
  std::vector<Range> ranges;
  // Iterate in offset order so names() follows the file's layout, as writers laid it out.
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      if (!entry.is_object()) return fail(make_error("__metadata__ is not an object"));
      for (const auto& [k, v] : entry.items()) {
        if (!v.is_string()) return fail(make_error("__metadata__.{} is not a string", k));
        store.metadata.set(k, MetaValue::str(v.get<std::string>()));
      }
      continue;
    }
    if (!entry.is_object()) return fail(make_error("tensor {}: entry is not an object", name));
    auto dt = entry.find("dtype");
    auto sh = entry.find("shape");
    auto off = entry.find("data_offsets");
    if (dt == entry.end() || !dt->is_string()) return fail(make_error("tensor {}: missing dtype", name));
    if (sh == entry.end() || !sh->is_array()) return fail(make_error("tensor {}: missing shape", name));
    if (off == entry.end() || !off->is_array() || off->size() != 2 || !(*off)[0].is_number_unsigned() ||
        !(*off)[1].is_number_unsigned())
      return fail(make_error("tensor {}: data_offsets must be two non-negative integers", name));
    const std::string dtype = dt->get<std::string>();
    const StDType* found = nullptr;
    for (const auto& d : kDTypes)
      if (dtype == d.name) found = &d;
    if (!found) return fail(make_error("tensor {}: unsupported dtype {}", name, dtype));
    if (sh->size() > 8) return fail(make_error("tensor {}: {} dimensions", name, sh->size()));
    Shape shape;
    uint64_t elements = 1;
    for (const auto& d : *sh) {
      if (!d.is_number_unsigned()) return fail(make_error("tensor {}: shape entries must be non-negative integers", name));
      const uint64_t v = d.get<uint64_t>();
      if (v > (uint64_t{1} << 40) || (elements > 0 && v > (uint64_t{1} << 60) / elements))
        return fail(make_error("tensor {}: shape {} is implausibly large", name, sh->dump()));
      elements *= v;
      shape.push_back(static_cast<int64_t>(v));
    }
    const uint64_t begin = (*off)[0].get<uint64_t>(), end = (*off)[1].get<uint64_t>();
    auto expected_bytes = checked_mul(elements, static_cast<uint64_t>(dtype_traits(found->type).block_bytes),
                                      fmt::format("tensor {}", name));
    if (!expected_bytes.ok()) return fail(expected_bytes.error());
    const uint64_t expected = *expected_bytes;
    if (begin > end || end > data_size)
      return fail(make_error("tensor {}: data_offsets [{}, {}] outside the {}-byte data section; is the file truncated?",
                             name, begin, end, data_size));
    if (end - begin != expected)
      return fail(make_error("tensor {}: {} x {} needs {} bytes, data_offsets give {}", name, dtype,
                             shape_string(shape), expected, end - begin));
    ranges.push_back({begin, end, name});
    store.add(name, TensorView{found->type, shape, data + begin, expected});
  }
  std::sort(ranges.begin(), ranges.end(), [](const Range& a, const Range& b) { return a.begin < b.begin; });
  for (size_t i = 1; i < ranges.size(); ++i)
    if (ranges[i].begin < ranges[i - 1].end)
      return fail(make_error("tensors {} and {} overlap", ranges[i - 1].name, ranges[i].name));
  return store;
}

Result<TensorStore> read_safetensors(const std::string& path) {
  LIMARP_ASSIGN_OR_RETURN(MappedFile file, MappedFile::open(path));
  auto shared = std::make_shared<MappedFile>(std::move(file));
  LIMARP_ASSIGN_OR_RETURN(TensorStore store, parse_safetensors(shared->bytes(), path));
  store.keep_alive(shared);
  return store;
}

Status write_safetensors(const std::string& path, const std::vector<OutTensor>& tensors,
                         const std::map<std::string, std::string>& metadata) {
  Json header = Json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (const auto& t : tensors) {
    const char* name = st_name(t.type);
    if (!name) return make_error("writing {}: safetensors cannot hold {} tensor {}", path, dtype_name(t.type), t.name);
    header[t.name] = {{"dtype", name}, {"shape", t.shape}, {"data_offsets", {offset, offset + t.nbytes()}}};
    offset += t.nbytes();
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // keeps the data 8-byte aligned
  LIMARP_ASSIGN_OR_RETURN(AtomicFile out, AtomicFile::create(path));
  const uint64_t len = text.size();
  LIMARP_TRY(out.write(&len, 8));
  LIMARP_TRY(out.write(text));
  std::vector<uint8_t> buffer;
  for (const auto& t : tensors) {
    buffer.assign(t.nbytes(), 0);
    LIMARP_TRY(t.fill(buffer).with_context(fmt::format("writing {}: tensor {}", path, t.name)));
    LIMARP_TRY(out.write(buffer.data(), buffer.size()));
  }
  return out.commit();
}

}  // namespace limarp
