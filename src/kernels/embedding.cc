#include "kernels/embedding.h"

#include "kernels/matmul.h"

namespace limarp::kernels {

void embedding_forward(float* out, const TensorView& table, const int32_t* tokens, int64_t T) {
  const int64_t dim = table.cols();
  for (int64_t t = 0; t < T; ++t) weight_row(out + t * dim, table, tokens[t]);
}

template <typename F>
void embedding_backward(F* dtable, const F* dout, const int32_t* tokens, int64_t T, int64_t dim) {
  for (int64_t t = 0; t < T; ++t) {
    F* row = dtable + static_cast<int64_t>(tokens[t]) * dim;
    const F* d = dout + t * dim;
    for (int64_t i = 0; i < dim; ++i) row[i] += d[i];
  }
}

template void embedding_backward<float>(float*, const float*, const int32_t*, int64_t, int64_t);
template void embedding_backward<double>(double*, const double*, const int32_t*, int64_t, int64_t);

}  // namespace limarp::kernels
