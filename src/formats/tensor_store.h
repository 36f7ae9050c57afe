// What every model-file reader produces: named tensors (views into mapped files, or owned
// buffers for converted data) plus metadata. The model layer binds names to a Llama layout;
// writers consume the same shape of data.
#pragma once

#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/status.h"
#include "formats/metadata.h"
#include "tensor/tensor.h"

namespace limarp {

enum class FileFormat { kGguf, kSafetensors, kLlama2c, kHfFolder, kPytorch };
const char* file_format_name(FileFormat format);

class TensorStore {
 public:
  TensorStore() = default;
  TensorStore(TensorStore&&) = default;
  TensorStore& operator=(TensorStore&&) = default;

  FileFormat format = FileFormat::kGguf;
  std::string source;  // path, for messages
  Metadata metadata;

  // Adds a tensor; its bytes must outlive the store (use keep_alive for their owner).
  void add(std::string name, TensorView view);
  // Adds an owned tensor; the store keeps it.
  void add_owned(std::string name, Tensor tensor);
  // Keeps an object (a mapped file, a buffer) alive as long as the store.
  void keep_alive(std::shared_ptr<const void> owner) { owners_.push_back(std::move(owner)); }
  // Moves every tensor and owner of `other` in (sharded checkpoints).
  Status merge_from(TensorStore&& other);

  const TensorView* find(std::string_view name) const;
  const std::vector<std::string>& names() const { return names_; }
  size_t size() const { return names_.size(); }
  // Replaces a tensor's view (after a conversion that produced an owned tensor).
  void replace(const std::string& name, Tensor tensor);
  void rename(const std::string& from, const std::string& to);
  void erase(const std::string& name);

 private:
  std::vector<std::string> names_;  // file order
  std::unordered_map<std::string, TensorView> tensors_;
  std::vector<std::shared_ptr<const void>> owners_;
};

// Opens any supported model file or folder, detected by content, not by name.
Result<TensorStore> open_tensor_file(const std::string& path);

}  // namespace limarp

namespace limarp {

// A tensor to be written: its bytes are produced on demand into a buffer the writer owns,
// so converting a 7B model never holds more than one converted tensor in memory.
struct OutTensor {
  std::string name;
  DType type = DType::kF32;
  Shape shape;
  std::function<Status(std::span<uint8_t> dst)> fill;

  uint64_t nbytes() const;
  // Copies a view unchanged.
  static OutTensor copy_of(std::string name, const TensorView& view);
  // Converts a view to `type` (through float when the type changes).
  static OutTensor converted(std::string name, const TensorView& view, DType type);
  // Produces this tensor into a buffer, then passes it through `fn` (which must keep the
  // shape; it may change the type to `new_type`).
  OutTensor transformed(DType new_type, std::function<Result<Tensor>(Tensor)> fn) const;
};

}  // namespace limarp
