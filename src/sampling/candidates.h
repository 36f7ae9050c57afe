// The working set of a sampler chain: candidate token ids with their logits, and helpers
// every sampler shares (sort, softmax, truncate).
//
//   Candidates c;
//   c.reset(logits);        // one candidate per vocabulary entry, id == index
//   c.softmax();            // sorted by logit, p filled in
//   c.truncate(40);         // keep the 40 most likely
//
// Order is total and deterministic: higher logit first, lower id first among equals, so a
// chain gives the same answer whatever the order its samplers left the list in.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace limarp {

struct Candidate {
  int32_t id;
  float logit;
  float p;  // probability, valid after softmax()
};

class Candidates {
 public:
  Candidates() = default;
  // NaN logits become -inf: a broken logit must never win a comparison.
  void reset(std::span<const float> logits);

  std::vector<Candidate>& items() { return items_; }
  const std::vector<Candidate>& items() const { return items_; }
  size_t size() const { return items_.size(); }
  bool empty() const { return items_.empty(); }
  Candidate& operator[](size_t i) { return items_[i]; }
  const Candidate& operator[](size_t i) const { return items_[i]; }

  // Sorts by logit, highest first (lower id first among equals).
  void sort_desc();
  bool sorted() const { return sorted_; }
  // p = softmax(logit); sorts first. When every logit is -inf (everything banned) the
  // probabilities are uniform instead of 0/0, so later samplers and the draw stay defined.
  void softmax();
  // Keeps the first n (after sort_desc); n >= 1.
  void truncate(size_t n);
  // Call after changing logits in a way that may change their order.
  void mark_unsorted() { sorted_ = false; }

 private:
  std::vector<Candidate> items_;
  bool sorted_ = false;
};

// Calls f(candidate, value) for every candidate whose id is a key of `by_id` (a map from
// token id to anything). Penalties and biases touch few ids among 32000 candidates: while the
// candidates are still in id order (as reset() leaves them) each is found by index; otherwise
// the candidates are scanned once.
template <typename Map, typename F>
void for_each_listed(Candidates& c, const Map& by_id, F&& f) {
  bool by_index = true;
  for (const auto& [id, value] : by_id) {
    const auto i = static_cast<size_t>(id);
    if (id < 0 || i >= c.size() || c[i].id != id) {
      by_index = false;
      break;
    }
  }
  if (by_index) {
    for (const auto& [id, value] : by_id) f(c[static_cast<size_t>(id)], value);
    return;
  }
  for (auto& x : c.items()) {
    auto it = by_id.find(x.id);
    if (it != by_id.end()) f(x, it->second);
  }
}

}  // namespace limarp
