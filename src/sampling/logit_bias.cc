#include "sampling/logit_bias.h"

#include <limits>
#include <unordered_map>

namespace limarp {
namespace {

class LogitBias final : public Sampler {
 public:
  explicit LogitBias(std::map<int32_t, float> bias) : bias_(bias.begin(), bias.end()) {}
  const char* name() const override { return "logit_bias"; }
  void apply(Candidates& c, SamplerContext&) override {
    for_each_listed(c, bias_, [](Candidate& x, float b) { x.logit += b; });
    c.mark_unsorted();
  }

 private:
  std::unordered_map<int32_t, float> bias_;
};

class BannedTokens final : public Sampler {
 public:
  explicit BannedTokens(const std::vector<int32_t>& banned) {
    for (int32_t id : banned) banned_[id] = true;
  }
  const char* name() const override { return "banned_tokens"; }
  void apply(Candidates& c, SamplerContext&) override {
    for_each_listed(c, banned_, [](Candidate& x, bool) { x.logit = -std::numeric_limits<float>::infinity(); });
    c.mark_unsorted();
  }

 private:
  std::unordered_map<int32_t, bool> banned_;
};

}  // namespace

std::unique_ptr<Sampler> make_logit_bias(std::map<int32_t, float> bias) {
  return std::make_unique<LogitBias>(std::move(bias));
}
std::unique_ptr<Sampler> make_banned_tokens(std::vector<int32_t> banned) {
  return std::make_unique<BannedTokens>(banned);
}

}  // namespace limarp
