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

}  // namespace limarp::kernels
