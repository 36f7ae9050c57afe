// Shared by the model tests: the torch-written tiny Llama (tests/reference/tiny_llama.py) and
// running limarp's forward pass over its token sequence.
#pragma once

#include <gtest/gtest.h>

#include <span>
#include <string>
#include <vector>

#include "base/json_util.h"
#include "base/thread_pool.h"
#include "model/forward.h"
#include "support/test_support.h"

namespace limarp {

struct Reference {
  std::string dir;
  std::vector<int32_t> tokens;
  int64_t n_prompt = 0, vocab = 0;
  std::vector<float> logits(const std::string& type) const {
    return testing::read_f32(dir + "/logits_" + type + ".f32");
  }
};

inline Reference make_reference(const std::string& name, const std::string& flags) {
  Reference r;
  r.dir = testing::scratch_dir(name);
  if (!testing::run_reference("tiny_llama.py", r.dir + " " + flags)) return r;
  r.tokens = testing::read_i32(r.dir + "/tokens.i32");
  auto meta = read_json_file(r.dir + "/meta.json");
  EXPECT_TRUE(meta.ok());
  r.n_prompt = (*meta)["n_prompt"].get<int64_t>();
  r.vocab = (*meta)["vocab"].get<int64_t>();
  return r;
}

// Logits for every token: the prompt in one batch (all rows), then one token at a time
// through the KV cache. An f32 cache by default: the torch comparisons check the model's f32
// arithmetic, which an f16 cache would round.
inline std::vector<float> run_model(const LlamaModel& model, const Reference& ref, int threads,
                                    const LinearAdapter* adapter = nullptr, DType kv_type = DType::kF32) {
  ThreadPool pool(threads);
  Forward fwd(model, pool);
  KvCache cache(model.config(), 64, kv_type);
  std::vector<float> all, logits;
  std::span<const int32_t> tokens(ref.tokens);
  EXPECT_TRUE(fwd.eval(tokens.first(static_cast<size_t>(ref.n_prompt)), cache, logits, LogitsWanted::kAll, adapter).ok());
  all = logits;
  for (size_t i = static_cast<size_t>(ref.n_prompt); i < tokens.size(); ++i) {
    EXPECT_TRUE(fwd.eval(tokens.subspan(i, 1), cache, logits, LogitsWanted::kLast, adapter).ok());
    all.insert(all.end(), logits.begin(), logits.end());
  }
  EXPECT_EQ(cache.size(), static_cast<int64_t>(tokens.size()));
  return all;
}

}  // namespace limarp
