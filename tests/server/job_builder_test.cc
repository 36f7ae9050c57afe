// Request bodies to jobs: token limits in every spelling and clamped, stop strings, EOS bans,
// per-request LoRA scales, raw prompts as text or ids, and fitting a prompt into the context.
#include <gtest/gtest.h>

#include "infer/model_bundle.h"
#include "server/job_builder.h"
#include "support/test_support.h"

namespace limarp::server {
namespace {

TEST(FitRawPrompt, KeepsTheStartAndTheNewestTokens) {
  std::vector<int32_t> p(100);
  for (int i = 0; i < 100; ++i) p[static_cast<size_t>(i)] = i;
  int64_t max_tokens = 30;
  EXPECT_FALSE(fit_raw_prompt(p, max_tokens, 200, 0));
  EXPECT_EQ(max_tokens, 30);
  EXPECT_TRUE(fit_raw_prompt(p, max_tokens, 110, 5));
  EXPECT_EQ(max_tokens, 30);
  ASSERT_EQ(p.size(), 80u);
  EXPECT_EQ(p[0], 0);
  EXPECT_EQ(p[4], 4);
  EXPECT_EQ(p[5], 25);  // tokens 5..24 dropped
  EXPECT_EQ(p.back(), 99);
  std::vector<int32_t> q(10, 7);
  int64_t big = 1000;
  fit_raw_prompt(q, big, 64, 0);
  EXPECT_EQ(big, 32);  // the reply gets at most half the context
}

class JobBuilderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto path = ::limarp::testing::asset_path("stories260K/stories260K.gguf");
    if (!path) {
      if (::limarp::testing::in_ci()) FAIL() << "missing stories260K";
      GTEST_SKIP() << "test assets not found";
    }
    bundle_ = std::make_unique<ModelBundle>(std::move(load_model_bundle(*path).value()));
    loras_.add("a", nullptr, 0.25f);
    loras_.add("b", nullptr, 1.0f);
    ctx_.tokenizer = &*bundle_->tokenizer;
    ctx_.loras = &loras_;
    ctx_.defaults.max_tokens = 100;
    ctx_.defaults.max_tokens_limit = 500;
  }
  Result<JobSpec> read(const char* text, Dialect d = Dialect::kOpenAI) {
    return read_generation_fields(Json::parse(text), ctx_, d);
  }
  std::unique_ptr<ModelBundle> bundle_;
  LoraRegistry loras_;
  ServerContext ctx_;
};

TEST_F(JobBuilderTest, SharedKeysInTheirSpellings) {
  EXPECT_EQ(read("{}")->request.max_tokens, 100);
  EXPECT_EQ(read(R"({"max_tokens": 7})")->request.max_tokens, 7);
  EXPECT_EQ(read(R"({"n_predict": -1})")->request.max_tokens, 500);
  EXPECT_EQ(read(R"({"max_new_tokens": 100000})")->request.max_tokens, 500);
  EXPECT_EQ(read(R"({"max_length": 9})", Dialect::kKobold)->request.max_tokens, 9);
  auto s = read(R"({"stop": ["\n###", ""], "temperature": 0.3, "top_k": 12, "seed": 42, "genkey": "K1", "ignore_eos": true,
                    "min_p": 0.1, "dry_multiplier": 0.8, "xtc_probability": 0.5, "mirostat": 2, "some_other_backend_key": [1]})");
  ASSERT_TRUE(s.ok()) << s.error().message();
  EXPECT_EQ(s->request.stop, std::vector<std::string>{"\n###"});
  EXPECT_FLOAT_EQ(s->request.sampler.temperature, 0.3f);
  EXPECT_EQ(s->request.sampler.top_k, 12);
  EXPECT_FLOAT_EQ(s->request.sampler.min_p, 0.1f);
  EXPECT_FLOAT_EQ(s->request.sampler.dry_multiplier, 0.8f);
  EXPECT_EQ(s->request.sampler.mirostat, 2);
  EXPECT_EQ(s->request.sampler.seed, 42u);
  EXPECT_EQ(s->genkey, "K1");
  EXPECT_FALSE(s->request.stop_at_eos);
  EXPECT_EQ(s->request.sampler.banned_tokens, std::vector<int32_t>{bundle_->tokenizer->eos()});
  auto k = read(R"({"stop_sequence": ["\nYou:"], "singleline": true, "use_default_badwordsids": false})", Dialect::kKobold);
  ASSERT_TRUE(k.ok());
  EXPECT_EQ(k->request.stop, (std::vector<std::string>{"\nYou:", "\n"}));
  EXPECT_TRUE(k->request.stop_at_eos);
}

TEST_F(JobBuilderTest, ARequestMayShortenButNotExtendTheTimeLimit) {
  ctx_.defaults.time_limit = std::chrono::milliseconds(5000);
  EXPECT_EQ(read("{}")->time_limit.count(), 5000);
  EXPECT_EQ(read(R"({"t_max_predict_ms": 200})")->time_limit.count(), 200);
  EXPECT_EQ(read(R"({"t_max_predict_ms": 60000})")->time_limit.count(), 5000);
  EXPECT_EQ(read(R"({"t_max_predict_ms": 0})")->time_limit.count(), 5000);
  ctx_.defaults.time_limit = std::chrono::milliseconds(0);  // --timeout 0: no server limit
  EXPECT_EQ(read(R"({"t_max_predict_ms": 60000})")->time_limit.count(), 60000);
  auto bad = read(R"({"t_max_predict_ms": "soon"})");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("t_max_predict_ms"), std::string::npos);
}

TEST_F(JobBuilderTest, LoraScalesAreCopiedOrTakenFromTheRequest) {
  EXPECT_EQ(read("{}")->lora_scales, (std::vector<float>{0.25f, 1.0f}));
  EXPECT_EQ(read(R"({"lora": [{"id": 1, "scale": 0.5}]})")->lora_scales, (std::vector<float>{0.0f, 0.5f}));
  auto bad = read(R"({"lora": [{"id": 2, "scale": 0.5}]})");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("lora[0].id 2 is not a loaded adapter"), std::string::npos);
}

TEST_F(JobBuilderTest, MalformedFieldsAreNamed) {
  const std::vector<std::pair<const char*, const char*>> cases = {
      {R"({"max_tokens": "10"})", "max_tokens must be an integer"},
      {R"({"max_tokens": 1.5})", "max_tokens must be an integer"},
      {R"({"stop": 5})", "stop must be a string or an array of strings"},
      {R"({"stop": ["a", 1]})", "stop[1] must be a string"},
      {R"({"temperature": "hot"})", "temperature must be a number"},
      {R"({"top_p": 7})", "top_p"},
      {R"({"ignore_eos": "yes"})", "ignore_eos must be true or false"},
      {R"({"genkey": 5})", "genkey must be a string"},
      {R"({"lora": {"id": 0}})", "lora must be an array"},
      {R"({"grammar": "root ::= \"a"})", "grammar: line 1, column 12: unterminated string literal"},
      {R"({"grammar": 5})", "grammar must be a GBNF grammar as a string"},
      {R"({"json_schema": {"type": "string", "format": "date"}})", "json_schema: 'format' at # is not supported"},
      {R"({"response_format": {"type": "xml"}})", "response_format.type must be text, json_object or json_schema"},
      {R"({"custom_token_bans": "5, 99999"})", "custom_token_bans names token 99999, outside the vocabulary"},
      {R"({"n": 3})", "n must be 1"},
      {R"({"logit_bias": "x"})", "logit_bias"},
      {R"({"logit_bias": {"99999": -1}})", "logit_bias names token 99999, outside the vocabulary"},
      {R"({"banned_tokens": [5, 99999]})", "banned_tokens names token 99999, outside the vocabulary"},
  };
  for (const auto& [text, want] : cases) {
    auto r = read(text);
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_NE(r.error().message().find(want), std::string::npos) << text << " -> " << r.error().message();
  }
}

TEST_F(JobBuilderTest, RawPromptsAsTextOrIds) {
  const Tokenizer& tok = *bundle_->tokenizer;
  EXPECT_EQ(read_raw_prompt(Json::parse(R"({"prompt": "Once upon"})"), {"prompt"}, tok).value(), tok.encode("Once upon"));
  EXPECT_EQ(read_raw_prompt(Json::parse(R"({"prompt": ["Once upon"]})"), {"prompt"}, tok).value(), tok.encode("Once upon"));
  EXPECT_EQ(read_raw_prompt(Json::parse(R"({"prompt": [1, 403, 407]})"), {"prompt"}, tok).value(), (std::vector<int32_t>{1, 403, 407}));
  for (const char* bad : {R"({})", R"({"prompt": 5})", R"({"prompt": [1, 99999]})", R"({"prompt": [1, -1]})",
                          R"({"prompt": ["a", "b"]})", R"({"prompt": {}})"}) {
    EXPECT_FALSE(read_raw_prompt(Json::parse(bad), {"prompt"}, tok).ok()) << bad;
  }
}

}  // namespace
}  // namespace limarp::server
