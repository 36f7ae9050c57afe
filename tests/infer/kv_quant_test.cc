// A quantized KV cache changes what the model predicts only a little: the demo model reads 384
// held-out TinyStories tokens one at a time (each decoded token's attention reads the cache) with
// an f16 cache and with q8_0 and q4_0 caches, and the KL divergence of the next-token
// distributions, KL(f16 || quantized), stays under the bounds docs/context.md states per position
// (mean and worst). q8_0 must also stay far closer than q4_0.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "base/mapped_file.h"
#include "infer/model_bundle.h"
#include "infer/session.h"
#include "support/test_support.h"

namespace limarp {
namespace {

std::vector<double> log_softmax(const std::vector<float>& logits) {
  const double mx = *std::max_element(logits.begin(), logits.end());
  double z = 0;
  for (float x : logits) z += std::exp(x - mx);
  std::vector<double> out(logits.size());
  for (size_t i = 0; i < logits.size(); ++i) out[i] = logits[i] - mx - std::log(z);
  return out;
}

struct KlStats {
  double mean = 0, worst = 0;
};

TEST(QuantizedKvCache, KlAgainstTheHalfCacheIsSmall) {
  LIMARP_ASSET(text_path, "text/tinystories_heldout.txt");
  const std::string model_path = testing::source_dir() + "/models/limarp-demo/limarp-demo.gguf";
  auto bundle = load_model_bundle(model_path);
  ASSERT_TRUE(bundle.ok()) << bundle.error().message();
  auto text = read_text_file(text_path);
  ASSERT_TRUE(text.ok());
  std::vector<int32_t> ids = bundle->tokenizer->encode(text->substr(0, 4000));
  ASSERT_GT(ids.size(), 384u);
  ids.resize(384);
  ThreadPool pool(2);
  Forward fwd(bundle->model, pool);
  const DType types[] = {DType::kF16, DType::kQ8_0, DType::kQ4_0};
  std::vector<Session> sessions;
  for (DType t : types) sessions.emplace_back(bundle->model, 512, t);
  KlStats kl[3];
  std::vector<float> logits[3];
  for (size_t p = 0; p < ids.size(); ++p) {
    for (size_t s = 0; s < 3; ++s) ASSERT_TRUE(sessions[s].append(ids[p], fwd, logits[s]).ok());
    const std::vector<double> ref = log_softmax(logits[0]);
    for (size_t s = 1; s < 3; ++s) {
      const std::vector<double> got = log_softmax(logits[s]);
      double d = 0;
      for (size_t i = 0; i < ref.size(); ++i) d += std::exp(ref[i]) * (ref[i] - got[i]);
      kl[s].mean += d / static_cast<double>(ids.size());
      kl[s].worst = std::max(kl[s].worst, d);
    }
  }
  std::printf("KL(f16 || q8_0) per position: mean %.2e, worst %.2e; KL(f16 || q4_0): mean %.2e, worst %.2e\n",
              kl[1].mean, kl[1].worst, kl[2].mean, kl[2].worst);
  // The bounds docs/context.md states.
  EXPECT_LT(kl[1].mean, 1e-3);
  EXPECT_LT(kl[1].worst, 1e-2);
  EXPECT_LT(kl[2].mean, 2e-2);
  EXPECT_LT(kl[2].worst, 1.0);  // q4_0 keeps 16 levels per element: single positions can move a lot
  EXPECT_LT(kl[1].mean * 4, kl[2].mean);
}

}  // namespace
}  // namespace limarp
