#include "model/adapter_set.h"


namespace limarp {

void AdapterSet::add(std::shared_ptr<const LoraAdapter> adapter, float user_scale) {
  entries_.push_back({std::move(adapter), user_scale});
}

void AdapterSet::set_scale(size_t index, float user_scale) { entries_.at(index).user_scale = user_scale; }

void AdapterSet::remove(size_t index) { entries_.erase(entries_.begin() + static_cast<std::ptrdiff_t>(index)); }

void AdapterSet::apply(int64_t layer, Projection p, const float* x, float* y, int64_t T, Backend& be) const {
  for (const Entry& e : entries_) {
    const LoraPair* pair = e.adapter->pair(layer, p);
    if (!pair || e.user_scale == 0.0f) continue;
    const int64_t r = pair->rank(), out = pair->b.shape[0];
    float* ax = be.workspace(kAdapterSlots, T * r);
    float* bax = be.workspace(kAdapterSlots + 1, T * out);
    be.matmul(ax, x, pair->a, T);    // [T, r]   = x · Aᵀ
    be.matmul(bax, ax, pair->b, T);  // [T, out] = (x · Aᵀ) · Bᵀ
    be.axpy(y, pair->scale * e.user_scale, bax, T * out);
  }
}

const TensorView* AdapterSet::token_embedding() const {
  for (auto it = entries_.rbegin(); it != entries_.rend(); ++it)
    if (it->user_scale != 0.0f && it->adapter->token_embedding()) return it->adapter->token_embedding();
  return nullptr;
}

const TensorView* AdapterSet::output() const {
  for (auto it = entries_.rbegin(); it != entries_.rend(); ++it)
    if (it->user_scale != 0.0f && it->adapter->output()) return it->adapter->output();
  return nullptr;
}

}  // namespace limarp
