// The sampler keys of request bodies (server/sampler_fields.h): KoboldCpp and OpenAI
// spellings, KoboldCpp's banned-token box, and errors that name the key.
#include <gtest/gtest.h>

#include <limits>

#include "server/sampler_fields.h"

namespace limarp::server {
namespace {

TEST(SamplerFields, CustomTokenBansFromKoboldCppsBox) {
  SamplerSettings s;
  ASSERT_TRUE(apply_sampler_json(s, Json::parse(R"({"custom_token_bans": "1954, 13,29871"})"), "r").ok());
  EXPECT_EQ(s.custom_token_bans, (std::vector<int32_t>{1954, 13, 29871}));
  ASSERT_TRUE(apply_sampler_json(s, Json::parse(R"({"custom_token_bans": [7, 8]})"), "r").ok());
  EXPECT_EQ(s.custom_token_bans, (std::vector<int32_t>{7, 8}));
  ASSERT_TRUE(apply_sampler_json(s, Json::parse(R"({"custom_token_bans": ""})"), "r").ok());
  EXPECT_TRUE(s.custom_token_bans.empty());
  s.custom_token_bans = {3, 40000};
  const auto outside = check_token_ids(s, 32000);
  ASSERT_FALSE(outside.ok());
  EXPECT_NE(outside.error().message().find("custom_token_bans names token 40000"), std::string::npos);
  SamplerSettings greedy;
  greedy.temperature = 0;
  greedy.custom_token_bans = {0};
  auto chain = build_chain(greedy);
  ASSERT_TRUE(chain.ok());
  EXPECT_EQ(chain->describe(), "banned_tokens -> rep_pen -> greedy");
}

TEST(SamplerFields, MalformedCustomTokenBans) {
  for (const char* text : {R"({"custom_token_bans": "12, x"})", R"({"custom_token_bans": "-1"})",
                           R"({"custom_token_bans": "4294967297"})", R"({"custom_token_bans": {"a": 1}})",
                           R"({"custom_token_bans": [1.5]})", R"({"custom_token_bans": "1,,2"})"}) {
    SamplerSettings s;
    const Status st = apply_sampler_json(s, Json::parse(text), "r");
    EXPECT_FALSE(st.ok()) << text;
    if (!st.ok()) {
      EXPECT_NE(st.error().message().find("custom_token_bans"), std::string::npos) << st.error().message();
    }
  }
}

TEST(SamplerFields, ReadsKoboldCppAndOpenAiBodies) {
  SamplerSettings s;
  const Json body = Json::parse(R"({
    "prompt": "x", "temperature": 0.7, "rep_pen": 1.1, "rep_pen_range": 1024, "rep_pen_slope": 0.7,
    "sampler_order": [6, 0, 1, 3, 4, 2, 5], "logit_bias": {"13": -1.5, "2": false},
    "sampler_seed": 42, "dry_multiplier": 0.8, "dry_sequence_breakers": "[\"\\n\", \":\"]",
    "banned_tokens": ["shivers", 7], "typical": 0.9, "mirostat": 2, "unknown_key": {"a": 1}})");
  ASSERT_TRUE(apply_sampler_json(s, body, "request").ok());
  EXPECT_FLOAT_EQ(s.temperature, 0.7f);
  EXPECT_FLOAT_EQ(s.rep_pen, 1.1f);
  EXPECT_EQ(s.rep_pen_range, 1024);
  EXPECT_FLOAT_EQ(s.rep_pen_slope, 0.7f);
  EXPECT_FLOAT_EQ(s.logit_bias.at(13), -1.5f);
  EXPECT_EQ(s.logit_bias.at(2), -std::numeric_limits<float>::infinity());
  EXPECT_EQ(s.seed, 42u);
  EXPECT_EQ(s.dry_sequence_breakers, (std::vector<std::string>{"\n", ":"}));
  EXPECT_EQ(s.banned_strings, (std::vector<std::string>{"shivers"}));
  EXPECT_EQ(s.banned_tokens, (std::vector<int32_t>{7}));
  EXPECT_FLOAT_EQ(s.typical_p, 0.9f);
  EXPECT_EQ(s.mirostat, 2);
  EXPECT_FLOAT_EQ(s.tfs, 0.95f);  // absent: unchanged

  SamplerSettings o;
  ASSERT_TRUE(apply_sampler_json(o, Json::parse(R"({"repetition_penalty": 1.2, "seed": -1, "top_k": 40})"), "req").ok());
  EXPECT_FLOAT_EQ(o.rep_pen, 1.2f);
  EXPECT_FALSE(o.seed.has_value());
  EXPECT_EQ(o.top_k, 40);
}

TEST(SamplerFields, BodyErrorsNameTheKey) {
  SamplerSettings s;
  EXPECT_EQ(apply_sampler_json(s, Json::parse(R"({"top_p": "high"})"), "request").error().message(),
            "request: top_p must be a number, got \"high\"");
  EXPECT_EQ(apply_sampler_json(s, Json::parse(R"({"top_k": 4.5})"), "request").error().message(),
            "request: top_k must be an integer, got 4.5");
  EXPECT_EQ(apply_sampler_json(s, Json::parse(R"({"top_p": 2})"), "request").error().message(),
            "request: top_p must be in [0, 1], got 2");
  EXPECT_NE(apply_sampler_json(s, Json::parse(R"({"logit_bias": {"x": 1}})"), "request").error().message().find(
                "not a token id"),
            std::string::npos);
}

TEST(SamplerFields, TokenIdsPast32BitsAreRefusedNotNarrowed) {
  // 4294967297 = 2^32 + 1 once became token 1, 4294967301 token 5.
  for (const char* text : {R"({"banned_tokens": [4294967297]})", R"({"logit_bias": [[4294967301, 1]]})",
                           R"({"logit_bias": {"4294967301": 1}})", R"({"banned_tokens": [18446744073709551615]})",
                           R"({"banned_tokens": [-9223372036854775808]})"}) {
    SamplerSettings s;
    const Status st = apply_sampler_json(s, Json::parse(text), "request");
    ASSERT_FALSE(st.ok()) << text;
    EXPECT_NE(st.error().message().find("not a token id"), std::string::npos) << text << " -> " << st.error().message();
    EXPECT_TRUE(s.banned_tokens.empty() && s.logit_bias.empty()) << text;
  }
  SamplerSettings s;
  ASSERT_TRUE(apply_sampler_json(s, Json::parse(R"({"banned_tokens": [2147483647], "logit_bias": [[7, -1]]})"), "r").ok());
  EXPECT_EQ(s.banned_tokens, std::vector<int32_t>{2147483647});
  EXPECT_EQ(s.logit_bias.at(7), -1.0f);
}

}  // namespace
}  // namespace limarp::server
