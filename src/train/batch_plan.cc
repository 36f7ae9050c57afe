#include "train/batch_plan.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <string>

#include "base/rng.h"
#include "kernels/cross_entropy.h"

namespace limarp::train {
namespace {

void shuffle(std::vector<int64_t>& v, uint64_t seed) {
  Rng rng(seed);
  for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[rng.next_u64() % i]);
}

constexpr uint64_t kPackingStream = 0x7061636bULL;   // "pack"
constexpr uint64_t kEpochStream = 0x65706f63ULL;     // "epoc"
constexpr uint64_t kValidationStream = 0x76616cULL;  // "val"

}  // namespace

void append_sample(TrainBatch& batch, const Sample& s) {
  std::vector<int32_t> targets(s.tokens.size(), kernels::kNoTarget);
  for (size_t i = 0; i + 1 < s.tokens.size(); ++i)
    if (s.trained[i + 1]) targets[i] = s.tokens[i + 1];
  // Row i predicts token i + 1, so it takes that token's weight and decision (empty stays empty).
  auto by_row = []<typename T>(const std::vector<T>& per_token, T last) {
    std::vector<T> rows;
    if (per_token.empty()) return rows;
    rows.assign(per_token.begin() + 1, per_token.end());
    rows.push_back(last);
    return rows;
  };
  batch.add_sequence(s.tokens, targets, by_row(s.weight, 1.0f), by_row(s.choice, StopChoice{}));
}

BatchPlan::BatchPlan(const std::vector<Sample>& samples, BatchPlanOptions options)
    : samples_(samples), options_(options) {
  std::vector<int64_t> order(samples.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int64_t>(i);
  if (!options.sample_packing) {
    for (size_t i = 0; i < order.size(); i += static_cast<size_t>(options.micro_batch_size))
      groups_.emplace_back(order.begin() + static_cast<std::ptrdiff_t>(i),
                           order.begin() + static_cast<std::ptrdiff_t>(
                                               std::min(order.size(), i + static_cast<size_t>(options.micro_batch_size))));
    return;
  }
  shuffle(order, options.seed ^ kPackingStream);
  const int64_t capacity = options.micro_batch_size * options.sequence_len;
  std::vector<int64_t> room;  // tokens still free per bin
  for (int64_t idx : order) {
    const int64_t n = samples[static_cast<size_t>(idx)].size();
    size_t bin = 0;
    while (bin < room.size() && room[bin] < n) ++bin;
    if (bin == room.size()) {
      groups_.emplace_back();
      room.push_back(capacity);
    }
    groups_[bin].push_back(idx);
    room[bin] -= n;
  }
}

const std::vector<int64_t>& BatchPlan::order_for(int64_t epoch) const {
  if (epoch != cached_epoch_) {
    cached_order_.resize(groups_.size());
    for (size_t i = 0; i < groups_.size(); ++i) cached_order_[i] = static_cast<int64_t>(i);
    shuffle(cached_order_, options_.seed ^ (kEpochStream + static_cast<uint64_t>(epoch) * 0x9e3779b97f4a7c15ULL));
    cached_epoch_ = epoch;
  }
  return cached_order_;
}

const std::vector<int64_t>& BatchPlan::micro_batch(int64_t global_index) const {
  const int64_t per_epoch = micro_batches_per_epoch();
  const auto& order = order_for(global_index / per_epoch);
  return groups_[static_cast<size_t>(order[static_cast<size_t>(global_index % per_epoch)])];
}

double BatchPlan::epoch_of(int64_t global_index) const {
  return static_cast<double>(global_index) / static_cast<double>(micro_batches_per_epoch());
}

void BatchPlan::fill(TrainBatch& batch, int64_t global_index) const {
  batch.clear();
  for (int64_t idx : micro_batch(global_index)) append_sample(batch, samples_[static_cast<size_t>(idx)]);
}

std::pair<std::vector<Sample>, std::vector<Sample>> split_validation(std::vector<Sample> samples, double val_set_size,
                                                                     uint64_t seed) {
  std::vector<int64_t> order;  // the original samples: validation candidates
  for (size_t i = 0; i < samples.size(); ++i)
    if (!samples[i].derived) order.push_back(static_cast<int64_t>(i));
  const auto n = static_cast<int64_t>(order.size());
  int64_t n_val = val_set_size < 1 ? static_cast<int64_t>(std::floor(val_set_size * static_cast<double>(n)))
                                   : static_cast<int64_t>(val_set_size);
  if (val_set_size > 0 && n_val == 0) n_val = 1;
  n_val = std::min(n_val, n - 1);
  std::vector<Sample> train, val;
  if (n_val <= 0) return {std::move(samples), std::move(val)};
  shuffle(order, seed ^ kValidationStream);
  std::vector<uint8_t> is_val(samples.size(), 0);
  std::set<std::string> held_out;
  for (int64_t i = 0; i < n_val; ++i) {
    const auto idx = static_cast<size_t>(order[static_cast<size_t>(i)]);
    is_val[idx] = 1;
    if (!samples[idx].group.empty()) held_out.insert(samples[idx].group);
  }
  for (size_t i = 0; i < samples.size(); ++i) {
    if (is_val[i]) val.push_back(std::move(samples[i]));
    else if (!samples[i].derived || !held_out.count(samples[i].group)) train.push_back(std::move(samples[i]));
  }
  return {std::move(train), std::move(val)};
}

}  // namespace limarp::train
