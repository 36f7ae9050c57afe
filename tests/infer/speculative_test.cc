// Speculative decoding must not change what is generated: greedy replies equal plain decoding
// token for token with either drafter, sampled replies keep the target distribution (checked
// against the exact distribution with a chi-square test whose power a control shows), and the
// KV cache after rejected drafts holds what a fresh evaluation of the same tokens gives.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <algorithm>
#include <map>
#include <utility>

#include "base/rng.h"
#include "infer/model_bundle.h"
#include "infer/speculative.h"
#include "model/random_init.h"
#include "support/test_support.h"

namespace limarp {
namespace {

LlamaModel random_model(LlamaConfig c, uint64_t seed, float scale = 0.2f) {
  TensorStore store;
  store.source = "random";
  c.to_metadata(store.metadata);
  for (auto& t : random_llama_tensors(c, QuantRecipe::parse("f32").value(), seed, scale)) {
    Tensor buf(t.type, t.shape);
    EXPECT_TRUE(t.fill(std::span<uint8_t>(buf.bytes(), buf.nbytes())).ok());
    store.add_owned(t.name, std::move(buf));
  }
  return std::move(LlamaModel::from_store(std::move(store)).value());
}

struct Run {
  std::vector<int32_t> tokens;
  SpeculativeStats stats;
};

Run generate(const LlamaModel& model, ThreadPool& pool, const Tokenizer& tok, const std::vector<int32_t>& prompt,
             const SamplerSettings& sampler, int64_t n, SpeculativeOptions spec, int64_t context = 512) {
  Forward fwd(model, pool);
  Session session(model, context);
  GenerationRequest req;
  req.prompt = prompt;
  req.max_tokens = n;
  req.sampler = sampler;
  req.stop_at_eos = false;
  req.speculative = spec;
  auto r = generate_text(session, fwd, tok, req, nullptr);
  EXPECT_TRUE(r.ok()) << r.error().message();
  if (!r.ok()) return {};
  return {r->tokens, r->speculative};
}

SamplerSettings greedy_card_settings() {
  SamplerSettings s;  // the card's repetition penalty stays on: it reads the history per row
  s.temperature = 0;
  return s;
}

// Greedy: plain, lookup and a draft model give the same ids; lookup and a self-draft accept some.
void expect_greedy_equal(const std::string& path, const std::string& text, int64_t n) {
  auto bundle = load_model_bundle(path);
  ASSERT_TRUE(bundle.ok()) << bundle.error().message();
  const Tokenizer& tok = *bundle->tokenizer;
  ThreadPool pool(2);
  const std::vector<int32_t> prompt = tok.encode(text);
  const SamplerSettings s = greedy_card_settings();
  const Run plain = generate(bundle->model, pool, tok, prompt, s, n, {});
  ASSERT_EQ(static_cast<int64_t>(plain.tokens.size()), n);

  LookupDrafter lookup(1, 4);
  const Run looked = generate(bundle->model, pool, tok, prompt, s, n, {&lookup, 6});
  EXPECT_EQ(looked.tokens, plain.tokens) << "lookup";
  EXPECT_GT(looked.stats.accepted, 0);

  // The model as its own draft: every guess is kept, rounds of 5 tokens.
  Forward self_fwd(bundle->model, pool);
  ModelDrafter self(self_fwd, 512, DType::kF16, nullptr);
  const Run selfed = generate(bundle->model, pool, tok, prompt, s, n, {&self, 4});
  EXPECT_EQ(selfed.tokens, plain.tokens) << "self draft";
  EXPECT_EQ(selfed.stats.accepted, selfed.stats.drafted);
  EXPECT_LT(selfed.stats.rounds, n / 3);

  // An unrelated random model with the same vocabulary: most guesses rejected.
  LlamaConfig small = named_shape("tiny").value();
  small.vocab_size = bundle->model.config().vocab_size;
  const LlamaModel other = random_model(small, 11);
  Forward other_fwd(other, pool);
  ModelDrafter stranger(other_fwd, 512, DType::kF16, nullptr);
  const Run strange = generate(bundle->model, pool, tok, prompt, s, n, {&stranger, 3});
  EXPECT_EQ(strange.tokens, plain.tokens) << "random draft";
  EXPECT_LT(strange.stats.accepted, strange.stats.drafted);
}

TEST(Speculative, GreedyEqualsPlainOnStories260K) {
  LIMARP_ASSET(path, "stories260K/stories260K.gguf");
  expect_greedy_equal(path, "Once upon a time, there was a little girl named Lily. Lily liked to play.", 200);
}

TEST(Speculative, GreedyEqualsPlainOnTheDemoModel) {
  const std::string path = testing::source_dir() + "/models/limarp-demo/limarp-demo.gguf";
  expect_greedy_equal(path,
                      "### Instruction:\nCharacter's Persona: Mira is a cheerful baker.\n\nUser's Persona: Tom.\n\n"
                      "### Input:\nTom: Hello Mira! What are you baking today?\n\n### Response: (length = medium)\nMira:",
                      200);
}

// After rounds whose guesses were mostly rejected, the cache holds exactly what evaluating the
// kept tokens one at a time gives (rejected rows were rewound and overwritten), position by
// position, in every layer.
TEST(Speculative, CacheAfterRejectedDraftsEqualsAFreshRun) {
  LIMARP_ASSET(path, "stories260K/stories260K.gguf");
  auto bundle = load_model_bundle(path);
  ASSERT_TRUE(bundle.ok()) << bundle.error().message();
  const LlamaModel& model = bundle->model;
  ThreadPool pool(2);
  Forward fwd(model, pool);
  LlamaConfig small = named_shape("tiny").value();
  const LlamaModel other = random_model(small, 12);
  Forward other_fwd(other, pool);
  ModelDrafter stranger(other_fwd, 512, DType::kF16, nullptr);
  GenerationRequest req;
  req.prompt = bundle->tokenizer->encode("Once upon a time, there was a big dog.");
  req.max_tokens = 120;
  req.sampler = greedy_card_settings();
  req.stop_at_eos = false;
  req.speculative = {&stranger, 4};
  Session spec(model, 512);
  auto r = generate_text(spec, fwd, *bundle->tokenizer, req, nullptr);
  ASSERT_TRUE(r.ok()) << r.error().message();
  ASSERT_GT(r->speculative.drafted - r->speculative.accepted, 20) << "too few rejections to test the rewind";

  Session fresh(model, 512);
  std::vector<float> logits;
  ASSERT_TRUE(fresh.sync(req.prompt, fwd, logits).ok());
  for (size_t i = req.prompt.size(); i < spec.tokens().size(); ++i) ASSERT_TRUE(fresh.append(spec.tokens()[i], fwd, logits).ok());
  ASSERT_EQ(fresh.tokens(), spec.tokens());
  ASSERT_EQ(fresh.cache().size(), spec.cache().size());
  const int64_t kv = spec.cache().kv_dim();
  std::vector<float> a(static_cast<size_t>(kv)), b(a.size());
  for (int64_t layer = 0; layer < model.config().n_layers; ++layer)
    for (int64_t pos = 0; pos < spec.cache().size(); ++pos) {
      spec.cache().read_key(layer, pos, a.data());
      fresh.cache().read_key(layer, pos, b.data());
      ASSERT_EQ(a, b) << "key, layer " << layer << " position " << pos;
      spec.cache().read_value(layer, pos, a.data());
      fresh.cache().read_value(layer, pos, b.data());
      ASSERT_EQ(a, b) << "value, layer " << layer << " position " << pos;
    }
}

TEST(Speculative, LookupProposesWhatFollowedTheLatestMatch) {
  LookupDrafter lookup(1, 3);
  DraftTokens d;
  const std::vector<int32_t> h = {5, 6, 7, 8, 9, 5, 6, 7, 1, 2, 5, 6};
  ASSERT_TRUE(lookup.propose(h, 3, d).ok());
  EXPECT_EQ(d.ids, (std::vector<int32_t>{7, 1, 2}));  // "5 6" last seen before "7 1 2"
  ASSERT_TRUE(lookup.propose(std::vector<int32_t>{1, 2, 3}, 3, d).ok());
  EXPECT_TRUE(d.ids.empty());
}

// The accept-or-resample rule on a hand-made distribution: whatever the draft, the draws follow p.
TEST(Speculative, AcceptOrResampleKeepsTheTargetDistribution) {
  const std::vector<float> logits = {2.0f, 1.0f, 0.5f, -1.0f, 0.0f};
  std::vector<double> p(logits.size());
  double z = 0;
  for (size_t i = 0; i < p.size(); ++i) z += p[i] = std::exp(logits[i]);
  for (auto& x : p) x /= z;
  const std::vector<float> q = {0.05f, 0.1f, 0.6f, 0.2f, 0.05f};  // a poor draft
  SamplerChain chain;
  const int N = 200000;
  for (int mode = 0; mode < 2; ++mode) {
    Rng rng(41 + mode), draft_rng(7);
    std::vector<int> counts(p.size());
    for (int i = 0; i < N; ++i) {
      DraftProposal d;
      if (mode == 0) {  // sampled from q
        double u = draft_rng.uniform(), c = 0;
        d.token = 4;
        for (int k = 0; k < 5; ++k)
          if (u < (c += q[static_cast<size_t>(k)])) {
            d.token = k;
            break;
          }
        d.q = q;
      } else {
        d.token = 2;  // deterministic, as lookup proposes
      }
      SamplerContext ctx{{}, &rng};
      ++counts[static_cast<size_t>(chain.sample(logits, ctx, d))];
    }
    // Chi-square, 4 degrees of freedom: 18.47 is the 0.999 quantile.
    double chi = 0;
    for (size_t k = 0; k < p.size(); ++k) chi += std::pow(counts[k] - N * p[k], 2) / (N * p[k]);
    EXPECT_LT(chi, 18.47) << "mode " << mode;
  }
}

// Proposes the same tokens every round, as a deterministic drafter (prompt lookup) would.
class FixedDrafter final : public Drafter {
 public:
  explicit FixedDrafter(std::vector<int32_t> ids) : ids_(std::move(ids)) {}
  const char* kind() const override { return "fixed"; }
  Status propose(std::span<const int32_t>, int64_t n, DraftTokens& out) override {
    out.clear();
    out.ids.assign(ids_.begin(), ids_.begin() + std::min<int64_t>(n, static_cast<int64_t>(ids_.size())));
    return {};
  }

 private:
  std::vector<int32_t> ids_;
};

int32_t top(const std::map<int32_t, double>& p) {
  return std::max_element(p.begin(), p.end(), [](const auto& a, const auto& b) { return a.second < b.second; })->first;
}

// Sampled generation from a random model, with a sampled draft model and with lookup: the
// second and third tokens of the reply (the first two a draft can propose) against their exact
// distributions, computed from the target's logits; the fixed drafter stands for lookup, whose
// guesses here would rarely occur. Control: the same test rejects the draft's
// own distribution, so it can fail.
TEST(Speculative, SampledRepliesKeepTheTargetDistribution) {
  LIMARP_ASSET(path, "stories260K/stories260K.gguf");
  auto bundle = load_model_bundle(path);  // for its tokenizer: the models are random, of its shape
  ASSERT_TRUE(bundle.ok()) << bundle.error().message();
  const Tokenizer& tok = *bundle->tokenizer;
  LlamaConfig c = named_shape("tiny").value();
  const LlamaModel target = random_model(c, 5, 0.6f);
  // The draft: the same random directions at another scale, so it agrees with the target often
  // but not always.
  const LlamaModel draft = random_model(c, 5, 0.45f);
  ThreadPool pool(1);
  Forward fwd(target, pool), draft_fwd(draft, pool);
  SamplerSettings s;
  s.temperature = 1.0f;
  s.tfs = 1.0f;
  s.rep_pen = 1.0f;
  s.top_k = 4;
  const std::vector<int32_t> prompt = {1, 3, 4, 5, 3, 4, 5, 3, 4};

  // Exact distributions of tokens 2 and 3 given the prompt (t1 is never drafted).
  auto dist_after = [&](const std::vector<int32_t>& ids) {
    Session session(target, 64);
    std::vector<float> logits;
    EXPECT_TRUE(session.sync(ids, fwd, logits).ok());
    auto chain = build_chain(s).value();
    Rng rng(1);
    SamplerContext ctx{ids, &rng};
    chain.sample(logits, ctx);
    std::map<int32_t, double> d;
    for (const auto& x : chain.last_candidates().items()) d[x.id] = x.p;
    return d;
  };
  std::map<int32_t, double> p2, p3;
  for (auto [t1, a] : dist_after(prompt)) {
    std::vector<int32_t> h1 = prompt;
    h1.push_back(t1);
    for (auto [t2, b] : dist_after(h1)) {
      p2[t2] += a * b;
      std::vector<int32_t> h2 = h1;
      h2.push_back(t2);
      for (auto [t3, cc] : dist_after(h2)) p3[t3] += a * b * cc;
    }
  }
  const auto chi_square = [](const std::map<int32_t, int>& counts, const std::map<int32_t, double>& p, int n) {
    double chi = 0;
    for (auto [id, prob] : p) {
      const double e = n * prob;
      if (e < 5) continue;  // pooled away: too few expected draws for the approximation
      const auto it = counts.find(id);
      const double o = it == counts.end() ? 0 : it->second;
      chi += (o - e) * (o - e) / e;
    }
    return chi;
  };
  // Cells with at least 5 expected draws count; the statistic's bound is the 0.999 quantile of
  // chi-square with (cells - 1) degrees of freedom (Wilson-Hilferty), a 0.1 % significance.
  const int N = 3000;
  const auto quantile_999 = [N](const std::map<int32_t, double>& p) {
    int cells = 0;
    for (auto [id, prob] : p) cells += N * prob >= 5;
    const double k = cells - 1, z = 3.0902;
    return k * std::pow(1 - 2 / (9 * k) + z * std::sqrt(2 / (9 * k)), 3);
  };
  const double bound2 = quantile_999(p2), bound3 = quantile_999(p3);
  {
    // Control: the draft model's own replies, sampled plainly, fail the same test.
    std::map<int32_t, int> d2, d3;
    Session session(draft, 64);
    for (int i = 0; i < N; ++i) {
      GenerationRequest req;
      req.prompt = prompt;
      req.max_tokens = 3;
      req.sampler = s;
      req.sampler.seed = 500000 + static_cast<uint64_t>(i);
      req.stop_at_eos = false;
      auto r = generate_text(session, draft_fwd, tok, req, nullptr);
      ASSERT_TRUE(r.ok());
      ++d2[r->tokens[1]];
      ++d3[r->tokens[2]];
    }
    std::printf("control, the draft model alone: chi-square token 2 %.1f, token 3 %.1f\n", chi_square(d2, p2, N),
                chi_square(d3, p3, N));
    EXPECT_GT(chi_square(d2, p2, N), 4 * bound2) << "the test cannot tell the draft from the target";
    EXPECT_GT(chi_square(d3, p3, N), 4 * bound3) << "the test cannot tell the draft from the target";
  }
  for (int mode = 0; mode < 2; ++mode) {
    ModelDrafter model_drafter(draft_fwd, 64, DType::kF16, nullptr);
    FixedDrafter fixed({top(p2), top(p3)});
    Drafter* drafter = mode == 0 ? static_cast<Drafter*>(&model_drafter) : &fixed;
    std::map<int32_t, int> c2, c3;
    SpeculativeStats total;
    Session session(target, 64);
    for (int i = 0; i < N; ++i) {
      GenerationRequest req;
      req.prompt = prompt;
      req.max_tokens = 4;  // t1, then a round verifying guesses for t2 and t3 and sampling t4
      req.sampler = s;
      req.sampler.seed = 1000 + static_cast<uint64_t>(i) + 100000 * static_cast<uint64_t>(mode);
      req.stop_at_eos = false;
      req.speculative = {drafter, 2};
      auto r = generate_text(session, fwd, tok, req, nullptr);
      ASSERT_TRUE(r.ok()) << r.error().message();
      ASSERT_EQ(r->tokens.size(), 4u);
      ++c2[r->tokens[1]];
      ++c3[r->tokens[2]];
      total.drafted += r->speculative.drafted;
      total.accepted += r->speculative.accepted;
    }
    EXPECT_GT(total.accepted, N / 10) << "mode " << mode << ": too few drafts kept to test the rule";
    EXPECT_LT(total.accepted, total.drafted) << "mode " << mode << ": no rejection was tested";
    std::printf("%s drafter: %lld of %lld guesses kept; chi-square token 2 %.1f (bound %.1f), token 3 %.1f (bound %.1f)\n",
                drafter->kind(), static_cast<long long>(total.accepted), static_cast<long long>(total.drafted),
                chi_square(c2, p2, N), bound2, chi_square(c3, p3, N), bound3);
    EXPECT_LT(chi_square(c2, p2, N), bound2) << "mode " << mode << " token 2";
    EXPECT_LT(chi_square(c3, p3, N), bound3) << "mode " << mode << " token 3";
  }
}

}  // namespace
}  // namespace limarp
