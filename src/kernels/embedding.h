// Token embedding lookup and its backward.
#pragma once

#include <cstdint>

#include "tensor/tensor.h"

namespace limarp::kernels {

// out[t, :] = table[tokens[t], :] as floats, for a table of any stored type.
//   out [T, dim], table [vocab, dim].
void embedding_forward(float* out, const TensorView& table, const int32_t* tokens, int64_t T);

// dtable[tokens[t], :] += dout[t, :], in token order, so repeated tokens sum in a fixed order.
//   dtable [vocab, dim], dout [T, dim].
template <typename F>
void embedding_backward(F* dtable, const F* dout, const int32_t* tokens, int64_t T, int64_t dim);

}  // namespace limarp::kernels
