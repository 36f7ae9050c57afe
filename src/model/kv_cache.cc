#include "model/kv_cache.h"

#include "backend/cpu_kv_storage.h"

namespace limarp {

namespace {
KvShape shape_of(const LlamaConfig& config, int64_t capacity, DType type) {
  return {config.n_layers, config.n_kv_heads, config.head_dim(), capacity, type};
}
}  // namespace

KvCache::KvCache(const LlamaConfig& config, int64_t capacity, DType type)
    : storage_(std::make_unique<CpuKvStorage>(shape_of(config, capacity, type))) {}


Status KvCache::shift_out(int64_t begin, int64_t end, const LlamaConfig& config) {
  if (begin < 0 || end < begin || end > size_)
    return make_error("kv cache: cannot remove positions [{}, {}) of {}", begin, end, size_);
  if (end == begin) return {};
  const RopeFrequencies freq = config.rope_frequencies();
  storage_->remove(begin, end, size_, {freq.inv_freq.data(), config.head_dim(), freq.mscale}, config.rope_layout);
  size_ -= end - begin;
  return {};
}

}  // namespace limarp
