#include "formats/tensor_store.h"

#include <algorithm>
#include <filesystem>

#include "base/mapped_file.h"
#include "formats/gguf.h"
#include "formats/hf_folder.h"
#include "formats/llama2c.h"
#include "formats/pytorch_zip.h"
#include "formats/safetensors.h"

namespace limarp {

const char* file_format_name(FileFormat format) {
  switch (format) {
    case FileFormat::kGguf: return "GGUF";
    case FileFormat::kSafetensors: return "safetensors";
    case FileFormat::kLlama2c: return "llama2.c";
    case FileFormat::kHfFolder: return "Hugging Face folder";
    case FileFormat::kPytorch: return "PyTorch checkpoint";
  }
  return "?";
}

void TensorStore::add(std::string name, TensorView view) {
  if (!tensors_.count(name)) names_.push_back(name);
  tensors_[std::move(name)] = std::move(view);
}

void TensorStore::add_owned(std::string name, Tensor tensor) {
  auto owned = std::make_shared<Tensor>(std::move(tensor));
  TensorView view = owned->view();
  owners_.push_back(std::move(owned));
  add(std::move(name), std::move(view));
}

Status TensorStore::merge_from(TensorStore&& other) {
  for (const auto& name : other.names_) {
    if (tensors_.count(name))
      return make_error("tensor {} appears in both {} and {}", name, source, other.source);
    add(name, other.tensors_.at(name));
  }
  for (auto& o : other.owners_) owners_.push_back(std::move(o));
  for (const auto& [k, v] : other.metadata.entries())
    if (!metadata.find(k)) metadata.set(k, v);
  return {};
}

const TensorView* TensorStore::find(std::string_view name) const {
  auto it = tensors_.find(std::string(name));
  return it == tensors_.end() ? nullptr : &it->second;
}

void TensorStore::replace(const std::string& name, Tensor tensor) { add_owned(name, std::move(tensor)); }

void TensorStore::rename(const std::string& from, const std::string& to) {
  auto it = tensors_.find(from);
  if (it == tensors_.end() || from == to) return;
  TensorView v = it->second;
  tensors_.erase(it);
  tensors_[to] = v;
  std::replace(names_.begin(), names_.end(), from, to);
}

void TensorStore::erase(const std::string& name) {
  if (tensors_.erase(name)) names_.erase(std::find(names_.begin(), names_.end(), name));
}

Result<TensorStore> open_tensor_file(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return read_hf_folder(path);
  LIMARP_ASSIGN_OR_RETURN(auto file, MappedFile::open(path));
  auto bytes = file.bytes();
  if (bytes.size() >= 4 && std::equal(bytes.begin(), bytes.begin() + 4, "GGUF")) return read_gguf(path);
  if (looks_like_safetensors(bytes)) return read_safetensors_model(path);
  if (looks_like_llama2c(bytes)) return read_llama2c(path);
  // PyTorch checkpoints: zip archives (torch >= 1.6), or a bare legacy pickle, which the
  // reader recognises in order to explain that it is not supported.
  if (bytes.size() >= 4 && ((bytes[0] == 'P' && bytes[1] == 'K') || bytes[0] == 0x80)) return read_pytorch_checkpoint(path);
  return make_error("{}: unrecognised model file (not GGUF, safetensors or llama2.c)", path);
}

}  // namespace limarp

#include <cstring>

#include "tensor/quantize.h"

namespace limarp {

uint64_t OutTensor::nbytes() const {
  const int64_t cols = shape.empty() ? 1 : shape.back();
  const int64_t rows = cols == 0 ? 0 : shape_elements(shape) / cols;
  return row_bytes(type, cols).value_or(0) * static_cast<uint64_t>(rows);
}

OutTensor OutTensor::copy_of(std::string name, const TensorView& view) {
  OutTensor t{std::move(name), view.type, view.shape, nullptr};
  t.fill = [view](std::span<uint8_t> dst) -> Status {
    if (dst.size() != view.nbytes) return make_error("size mismatch copying tensor");
    if (!dst.empty()) std::memcpy(dst.data(), view.data, dst.size());
    return {};
  };
  return t;
}

OutTensor OutTensor::converted(std::string name, const TensorView& view, DType type) {
  if (view.type == type) return copy_of(std::move(name), view);
  OutTensor t{name, type, view.shape, nullptr};
  t.fill = [view, type, name](std::span<uint8_t> dst) -> Status {
    LIMARP_ASSIGN_OR_RETURN(Tensor c, convert_tensor(view, type));
    if (c.nbytes() != dst.size()) return make_error("tensor {}: converted size mismatch", name);
    std::memcpy(dst.data(), c.bytes(), dst.size());
    return {};
  };
  return t;
}

OutTensor OutTensor::transformed(DType new_type, std::function<Result<Tensor>(Tensor)> fn) const {
  OutTensor t{name, new_type, shape, nullptr};
  t.fill = [inner = fill, old_type = type, shape = shape, name = name, fn = std::move(fn)](std::span<uint8_t> dst) -> Status {
    Tensor tmp(old_type, shape);
    LIMARP_TRY(inner(std::span<uint8_t>(tmp.bytes(), tmp.nbytes())));
    LIMARP_ASSIGN_OR_RETURN(Tensor out, fn(std::move(tmp)));
    if (out.nbytes() != dst.size()) return make_error("tensor {}: transformed size mismatch", name);
    std::memcpy(dst.data(), out.bytes(), dst.size());
    return {};
  };
  return t;
}

}  // namespace limarp
