// The working set of a sampler chain: candidate token ids with their logits, and helpers
// every sampler shares (sort, softmax, truncate).
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
  void reset(std::span<const float> logits);

  std::vector<Candidate>& items() { return items_; }
  const std::vector<Candidate>& items() const { return items_; }
  size_t size() const { return items_.size(); }
  bool empty() const { return items_.empty(); }
  Candidate& operator[](size_t i) { return items_[i]; }

  // Sorts by logit, highest first (stable: lower id first among equals).
  void sort_desc();
  bool sorted() const { return sorted_; }
  // p = softmax(logit); sorts first.
  void softmax();
  // Keeps the first n (after sort_desc); n >= 1.
  void truncate(size_t n);
  void mark_unsorted() { sorted_ = false; }

 private:
  std::vector<Candidate> items_;
  bool sorted_ = false;
};

}  // namespace limarp
