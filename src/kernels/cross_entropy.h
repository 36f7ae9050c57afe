// Cross-entropy of next-token logits with a loss mask, and its backward.
// Rows whose target is negative carry no loss (the prompt part of a sample, padding, the
// boundary between packed samples): their loss is 0 and their logit gradient is 0.
// Templates on the float type (double: the reference build). Pure, per row.
#pragma once

#include <cstdint>

namespace limarp::kernels {

constexpr int32_t kNoTarget = -1;

// losses[t] = logsumexp(logits[t, :]) - logits[t, targets[t]]   (0 where targets[t] < 0)
//   logits [T, V]; the log-sum-exp is taken with the row maximum subtracted, summed in double.
template <typename F>
void cross_entropy_forward(F* losses, const F* logits, const int32_t* targets, int64_t T, int64_t V);

// dlogits[t, :] = dloss[t] * (softmax(logits[t, :]) - onehot(targets[t]))   (assigned; 0 rows
// where targets[t] < 0). dlogits may alias logits: the fused classifier overwrites logits with
// their gradient to save a [T, V] buffer.
template <typename F>
void cross_entropy_backward(F* dlogits, const F* logits, const int32_t* targets, const F* dloss, int64_t T, int64_t V);

// One row's gradient of  dloss · CE(logits, target) + dchoice · B,  where B is the binary
// cross-entropy of the choice "emit `stop` next or not" (p = softmax(logits)):
//   B = -log p[stop]          when target == stop
//   B = -log(1 - p[stop])     otherwise
// Unlike a heavier CE weight, B's gradient on a go-on row moves only stop's share: the other
// logits keep their ratios, so weighting length decisions does not also over-train the word
// that follows a sentence. Assigned; dlogits may alias logits. target must be >= 0.
template <typename F>
void stop_choice_backward(F* dlogits, const F* logits, int32_t target, int32_t stop, F dloss, F dchoice, int64_t V);

}  // namespace limarp::kernels
