// Adapters applied at run time without merging: for every targeted projection,
// y = W·x + Σ scale_i · user_scale_i · B_i·(A_i·x). Several adapters at once; user scales can
// change between requests (each request may carry its own AdapterSet over shared adapters),
// and adapters load and unload while the base model stays in memory.
#pragma once

#include <memory>
#include <vector>

#include "model/forward.h"
#include "model/lora_adapter.h"

namespace limarp {

class AdapterSet final : public LinearAdapter {
 public:
  void add(std::shared_ptr<const LoraAdapter> adapter, float user_scale);
  void set_scale(size_t index, float user_scale);
  void remove(size_t index);
  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  const LoraAdapter& adapter(size_t i) const { return *entries_[i].adapter; }
  float scale(size_t i) const { return entries_[i].user_scale; }

  void apply(int64_t layer, Projection p, const float* x, float* y, int64_t T, Backend& backend) const override;
  const TensorView* token_embedding() const override;
  const TensorView* output() const override;

 private:
  struct Entry {
    std::shared_ptr<const LoraAdapter> adapter;
    float user_scale;
  };
  std::vector<Entry> entries_;
};

}  // namespace limarp
