// Which samples form which micro-batch, for every epoch, reproducibly from the seed: the
// order of micro-batches is shuffled per epoch (seeded by seed and epoch), so any micro-batch
// can be rebuilt from its global index alone — a checkpoint stores just that index.
//
// Without sample packing a micro-batch is micro_batch_size samples. With it, samples are
// packed (once, in a seeded order, first fit) into micro-batches of up to
// micro_batch_size × sequence_len tokens; each sample stays its own attention sequence with
// positions from 0, so packing changes how many samples share a step, never what a sample sees.
#pragma once

#include <cstdint>
#include <vector>

#include "model/training_pass.h"
#include "train/dataset.h"

namespace limarp::train {

struct BatchPlanOptions {
  int64_t micro_batch_size = 1;
  int64_t sequence_len = 2048;
  bool sample_packing = false;
  uint64_t seed = 42;
};

class BatchPlan {
 public:
  BatchPlan(const std::vector<Sample>& samples, BatchPlanOptions options);

  int64_t micro_batches_per_epoch() const { return static_cast<int64_t>(groups_.size()); }
  // Sample indices of the micro-batch with this global index (epoch = index / per epoch).
  const std::vector<int64_t>& micro_batch(int64_t global_index) const;
  double epoch_of(int64_t global_index) const;
  // The micro-batch as a training batch: each sample a sequence whose row i predicts token
  // i + 1 when that token is trained.
  void fill(TrainBatch& batch, int64_t global_index) const;

 private:
  const std::vector<int64_t>& order_for(int64_t epoch) const;

  const std::vector<Sample>& samples_;
  BatchPlanOptions options_;
  std::vector<std::vector<int64_t>> groups_;  // micro-batches of one epoch, before shuffling
  mutable int64_t cached_epoch_ = -1;
  mutable std::vector<int64_t> cached_order_;
};

// Splits off a validation set: val_set_size < 1 is a fraction, >= 1 a count of the original
// (not derived) samples; chosen by a seeded shuffle. Derived samples of a validation sample's
// group are dropped, neither trained nor validated on. Returns {train, validation}.
std::pair<std::vector<Sample>, std::vector<Sample>> split_validation(std::vector<Sample> samples, double val_set_size,
                                                                     uint64_t seed);

// Appends one sample to a batch as its own sequence.
void append_sample(TrainBatch& batch, const Sample& s);

}  // namespace limarp::train
