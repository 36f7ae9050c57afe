// A KV cache split between two backends by layer, for layer offload: layers [0, split) in the
// first storage (a device's), the rest in the second (the CPU's), each numbered from 0 there.
// The forward pass asks part() which storage and which local layer a layer's attention reads.
#pragma once

#include <memory>
#include <utility>

#include "backend/kv_storage.h"

namespace limarp {

class SplitKvStorage final : public KvStorage {
 public:
  SplitKvStorage(const KvShape& shape, int64_t split, std::unique_ptr<KvStorage> first, std::unique_ptr<KvStorage> second)
      : KvStorage(shape), split_(split), first_(std::move(first)), second_(std::move(second)) {}

  std::pair<const KvStorage*, int64_t> part(int64_t layer) const {
    return layer < split_ ? std::pair<const KvStorage*, int64_t>{first_.get(), layer}
                          : std::pair<const KvStorage*, int64_t>{second_.get(), layer - split_};
  }

  uint64_t bytes() const override { return first_->bytes() + second_->bytes(); }
  void store(int64_t layer, int64_t pos, int64_t n, const float* k, const float* v) override {
    mutable_part(layer).first->store(mutable_part(layer).second, pos, n, k, v);
  }
  void store_host(int64_t layer, int64_t pos, int64_t n, const float* k, const float* v) override {
    mutable_part(layer).first->store_host(mutable_part(layer).second, pos, n, k, v);
  }
  void read(int64_t layer, int which, int64_t pos, float* out) const override {
    part(layer).first->read(part(layer).second, which, pos, out);
  }
  void remove(int64_t begin, int64_t end, int64_t size, const RotaryTable& rotary, RopeLayout layout) override {
    first_->remove(begin, end, size, rotary, layout);
    second_->remove(begin, end, size, rotary, layout);
  }

 private:
  std::pair<KvStorage*, int64_t> mutable_part(int64_t layer) {
    return layer < split_ ? std::pair<KvStorage*, int64_t>{first_.get(), layer}
                          : std::pair<KvStorage*, int64_t>{second_.get(), layer - split_};
  }

  int64_t split_;
  std::unique_ptr<KvStorage> first_, second_;
};

// The storage and local layer that layer `layer` of `kv` lives in (kv itself when not split).
inline std::pair<const KvStorage*, int64_t> kv_part(const KvStorage& kv, int64_t layer) {
  if (const auto* split = dynamic_cast<const SplitKvStorage*>(&kv)) return split->part(layer);
  return {&kv, layer};
}

}  // namespace limarp
