// Where a KV cache's keys and values live: memory the backend owns and only the backend's
// operations read (its attention, the cache shift). model/kv_cache.h keeps the positions filled;
// this keeps the rows, per layer and key/value head, `capacity` rows of head_dim elements each.
#pragma once

#include <cstdint>

#include "backend/rotary_table.h"
#include "kernels/rope.h"
#include "tensor/dtype.h"

namespace limarp {

struct KvShape {
  int64_t n_layers = 0;
  int64_t n_kv_heads = 0;
  int64_t head_dim = 0;
  int64_t capacity = 0;  // positions
  DType type = DType::kF16;

  int64_t kv_dim() const { return n_kv_heads * head_dim; }
};

class KvStorage {
 public:
  explicit KvStorage(const KvShape& shape) : shape_(shape) {}
  virtual ~KvStorage() = default;
  KvStorage(const KvStorage&) = delete;
  KvStorage& operator=(const KvStorage&) = delete;

  const KvShape& shape() const { return shape_; }
  virtual uint64_t bytes() const = 0;
  // Writes keys and values of positions [pos, pos + n): k and v are [n, kv_dim] rows in the
  // backend's workspace.
  virtual void store(int64_t layer, int64_t pos, int64_t n, const float* k, const float* v) = 0;
  // The same from host memory (a restored slot file); a host backend's workspace is host memory.
  virtual void store_host(int64_t layer, int64_t pos, int64_t n, const float* k, const float* v) {
    store(layer, pos, n, k, v);
  }
  // The key (which 0) or value (which 1) row of one position, all heads, as f32 in host memory.
  virtual void read(int64_t layer, int which, int64_t pos, float* out) const = 0;
  // Of the first `size` positions, removes [begin, end) and moves the later ones down,
  // rotating their keys back by end - begin positions (rotations compose: R(p - d) = R(-d) R(p)).
  virtual void remove(int64_t begin, int64_t end, int64_t size, const RotaryTable& rotary, RopeLayout layout) = 0;

 private:
  KvShape shape_;
};

}  // namespace limarp
