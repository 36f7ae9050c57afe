// A KV cache's rows in host memory: per layer, keys then values, per kv head `capacity` rows of
// head_dim elements, so the keys one head attends over lie back to back and stream in order.
// Elements are f16 by default (what llama.cpp keeps too: half the memory of f32, and half the
// bytes each decoded token reads) or f32 (exact attention, for reference tests).
#pragma once

#include "backend/kv_storage.h"
#include "kernels/attention.h"
#include "tensor/tensor.h"

namespace limarp {

// One layer's rows in this layout ([keys, values][kv head][capacity][head_dim]): removes
// positions [begin, end) of the first `size`, moving later ones down and rotating their keys
// back by end - begin positions. Shared with device backends that bring a layer to the host.
void remove_kv_positions(uint8_t* layer, const KvShape& shape, int64_t begin, int64_t end, int64_t size,
                         const RotaryTable& rotary, RopeLayout layout);

class CpuKvStorage final : public KvStorage {
 public:
  explicit CpuKvStorage(const KvShape& shape);

  uint64_t bytes() const override;
  void store(int64_t layer, int64_t pos, int64_t n, const float* k, const float* v) override;
  void read(int64_t layer, int which, int64_t pos, float* out) const override;
  void remove(int64_t begin, int64_t end, int64_t size, const RotaryTable& rotary, RopeLayout layout) override;

  // One layer's keys or values as the attention kernels read them.
  kernels::KvHeads keys(int64_t layer) const { return view(layer, 0); }
  kernels::KvHeads values(int64_t layer) const { return view(layer, 1); }

 private:
  uint64_t row_bytes() const;
  uint64_t layer_bytes() const;
  uint8_t* head_rows(int64_t layer, int which, int64_t head) const;  // which: 0 keys, 1 values
  kernels::KvHeads view(int64_t layer, int which) const;

  AlignedBuffer data_;  // [layer][keys, values][kv head][capacity][head_dim]
};

}  // namespace limarp
