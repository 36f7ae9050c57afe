// Hub names as users write them: repository, revision, quantization tag or file, and the
// mistakes that must be errors rather than odd downloads.
#include <gtest/gtest.h>

#include "hub/hub_name.h"
#include "hub/hub_settings.h"

namespace limarp::hub {
namespace {

TEST(HubName, RepositoryRevisionAndTag) {
  auto n = parse_hub_name("hf:TheBloke/Llama-2-7B-GGUF@v1.0:q4_k_m");
  ASSERT_TRUE(n.ok()) << n.error().message();
  EXPECT_EQ(n->repo, "TheBloke/Llama-2-7B-GGUF");
  EXPECT_EQ(n->revision, "v1.0");
  EXPECT_EQ(n->quant, "Q4_K_M");
  EXPECT_TRUE(n->file.empty());
  EXPECT_EQ(n->display(), "hf:TheBloke/Llama-2-7B-GGUF@v1.0:Q4_K_M");
}

TEST(HubName, PrefixOptionalDefaultsToMain) {
  auto n = parse_hub_name("lemonilia/LimaRP-Llama2-7B-v3");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->revision, "main");
  EXPECT_TRUE(n->quant.empty() && n->file.empty());
}

TEST(HubName, TagWithDotOrSlashIsAFile) {
  auto n = parse_hub_name("hf:org/name:sub/llama-2-7b.Q4_K_M.gguf");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->file, "sub/llama-2-7b.Q4_K_M.gguf");
  EXPECT_TRUE(n->quant.empty());
}

TEST(HubName, RejectsMalformedNames) {
  for (const char* bad : {"hf:", "hf:noslash", "hf:a/b/c", "hf:a--b/c", "hf:org/na me", "hf:org/name:",
                          "hf:org/name@", "hf:org/name:../../etc/passwd", "hf:org/name:/abs.gguf", "hf:-org/name"})
    EXPECT_FALSE(parse_hub_name(bad).ok()) << bad;
}

TEST(HubName, OnlyThePrefixMakesAPathAHubName) {
  EXPECT_TRUE(is_hub_name("hf:org/name"));
  EXPECT_FALSE(is_hub_name("models/hf:odd"));
  EXPECT_FALSE(is_hub_name("org/name"));  // a relative folder on disk stays one
}

TEST(HubName, CommitHashes) {
  EXPECT_TRUE(is_commit_hash("0123456789abcdef0123456789abcdef01234567"));
  EXPECT_FALSE(is_commit_hash("main"));
  EXPECT_FALSE(is_commit_hash("0123456789ABCDEF0123456789abcdef01234567"));
}

TEST(HubSettings, EnvironmentAsHuggingfaceHubReadsIt) {
  setenv("HF_HOME", "/tmp/limarp-hf-home", 1);
  unsetenv("HF_HUB_CACHE");
  unsetenv("HUGGINGFACE_HUB_CACHE");
  setenv("HF_ENDPOINT", "http://127.0.0.1:9/", 1);
  setenv("HF_TOKEN", "  hf_abc \n", 1);
  setenv("HF_HUB_OFFLINE", "True", 1);
  const HubSettings s = HubSettings::from_environment();
  EXPECT_EQ(s.cache_dir, "/tmp/limarp-hf-home/hub");
  EXPECT_EQ(s.endpoint, "http://127.0.0.1:9");
  EXPECT_EQ(s.token, "hf_abc");
  EXPECT_EQ(s.network, NetworkMode::kOffline);
  for (const char* v : {"HF_HOME", "HF_ENDPOINT", "HF_TOKEN", "HF_HUB_OFFLINE"}) unsetenv(v);
}

}  // namespace
}  // namespace limarp::hub
