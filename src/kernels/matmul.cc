#include "kernels/matmul.h"

#include <algorithm>
#include <vector>

#include "kernels/ops.h"
#include "tensor/quantize.h"

namespace limarp::kernels {

void weight_row(float* out, const TensorView& w, int64_t r) { dequantize_row(w.type, w.row(r), out, w.cols()); }

void matmul(float* y, const float* x, const TensorView& w, int64_t T, ThreadPool& pool) {
  const int64_t n_out = w.rows(), n_in = w.cols();
  // Rows in chunks: big enough to amortise scheduling, small enough to balance.
  const int64_t grain = std::max<int64_t>(1, std::min<int64_t>(64, n_out / (8 * pool.size()) + 1));
  pool.parallel_for(n_out, grain, [&](int64_t begin, int64_t end) {
    std::vector<float> row(static_cast<size_t>(w.type == DType::kF32 ? 0 : n_in));
    for (int64_t o = begin; o < end; ++o) {
      const float* wr;
      if (w.type == DType::kF32) {
        wr = reinterpret_cast<const float*>(w.row(o));
      } else {
        dequantize_row(w.type, w.row(o), row.data(), n_in);
        wr = row.data();
      }
      for (int64_t t = 0; t < T; ++t) y[t * n_out + o] = dot_f32(x + t * n_in, wr, n_in);
    }
  });
}

void matmul_transposed_accumulate(float* dx, const float* dy, const TensorView& w, int64_t T, ThreadPool& pool) {
  const int64_t n_out = w.rows(), n_in = w.cols();
  // Parallel over tokens so each dx row has one writer; rows of W are visited in order.
  pool.parallel_for(T, 1, [&](int64_t begin, int64_t end) {
    std::vector<float> row(static_cast<size_t>(n_in));
    for (int64_t o = 0; o < n_out; ++o) {
      dequantize_row(w.type, w.row(o), row.data(), n_in);
      for (int64_t t = begin; t < end; ++t) axpy(dx + t * n_in, dy[t * n_out + o], row.data(), n_in);
    }
  });
}

}  // namespace limarp::kernels
