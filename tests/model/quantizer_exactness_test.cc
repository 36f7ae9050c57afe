// The K-quant quantizers are at least as exact as llama.cpp's on the same data: real trained
// weights (every matrix of stories260K, each cut to whole super-blocks of 256) and Gaussian
// values. The bounds are the RMS errors of ggml's own quantizers (ggml_quantize_chunk without
// an importance matrix, what llama-quantize runs) on exactly these values, measured with
// llama.cpp c392e509 outside this repository.
#include <gtest/gtest.h>

#include <cmath>

#include "base/rng.h"
#include "formats/gguf.h"
#include "support/test_support.h"
#include "tensor/quant_blocks.h"
#include "tensor/quantize.h"

namespace limarp {
namespace {

struct Errors {
  double sum_squares = 0;
  int64_t count = 0;
  double rms() const { return std::sqrt(sum_squares / static_cast<double>(count)); }
};

void add_round_trip(const float* x, int64_t n, DType type, Errors& e) {
  auto q = quantize(x, {1, n}, type);
  ASSERT_TRUE(q.ok()) << q.error().message();
  auto y = dequantize(q->view());
  ASSERT_TRUE(y.ok());
  const auto out = y->f32_span();
  for (int64_t i = 0; i < n; ++i) {
    const double d = static_cast<double>(out[static_cast<size_t>(i)]) - x[i];
    e.sum_squares += d * d;
  }
  e.count += n;
}

Errors trained_weights(const std::string& path, DType type) {
  Errors e;
  auto store = read_gguf(path);
  EXPECT_TRUE(store.ok());
  for (const std::string& name : store->names()) {
    const TensorView& view = *store->find(name);
    if (view.shape.size() != 2 || view.type != DType::kF32) continue;
    add_round_trip(view.f32(), view.elements() / kQK_K * kQK_K, type, e);
  }
  return e;
}

Errors gaussian(DType type) {
  Rng rng(2);
  std::vector<float> x(256 * 64);
  for (auto& v : x) v = static_cast<float>(rng.normal());
  Errors e;
  add_round_trip(x.data(), static_cast<int64_t>(x.size()), type, e);
  return e;
}

TEST(QuantizerExactness, AtLeastAsExactAsLlamaCpp) {
  LIMARP_ASSET(stories, "stories260K/stories260K.gguf");
  struct Case {
    DType type;
    double llamacpp_trained, llamacpp_gaussian;  // RMS error of ggml's quantizer
  };
  const Case cases[] = {
      {DType::kQ4_K, 0.0142276134, 0.0714163395},
      {DType::kQ6_K, 0.00331423421, 0.0177730459},
  };
  for (const Case& c : cases) {
    const double trained = trained_weights(stories, c.type).rms(), normal = gaussian(c.type).rms();
    std::printf("%s: trained weights %.6g (llama.cpp %.6g, %.2f%%), Gaussian %.6g (llama.cpp %.6g, %.2f%%)\n",
                dtype_name(c.type), trained, c.llamacpp_trained, 100 * (trained / c.llamacpp_trained - 1), normal,
                c.llamacpp_gaussian, 100 * (normal / c.llamacpp_gaussian - 1));
    EXPECT_LE(trained, c.llamacpp_trained) << dtype_name(c.type);
    EXPECT_LE(normal, c.llamacpp_gaussian) << dtype_name(c.type);
  }
}

}  // namespace
}  // namespace limarp
