#include "sampling/penalties.h"

#include <algorithm>
#include <unordered_map>

namespace limarp {
namespace {

// The last `range` tokens of the history (range < 0: all of it).
std::span<const int32_t> window(std::span<const int32_t> history, int range) {
  if (range < 0 || static_cast<size_t>(range) >= history.size()) return history;
  return history.subspan(history.size() - static_cast<size_t>(range));
}

class RepetitionPenalty final : public Sampler {
 public:
  explicit RepetitionPenalty(const RepetitionPenaltyParams& p) : p_(p) {}
  const char* name() const override { return "rep_pen"; }
  void apply(Candidates& c, SamplerContext& ctx) override {
    if (p_.penalty == 1.0f || p_.range == 0) return;
    const auto w = window(ctx.history, p_.range);
    if (w.empty()) return;
    const float slope = std::clamp(p_.slope, 0.0f, 1.0f);
    const float reduced = p_.penalty > 1.0f ? 1.0f + (p_.penalty - 1.0f) * slope : p_.penalty;
    // 2 = in the newer half (full penalty), 1 = only in the older half (reduced).
    std::unordered_map<int32_t, int> where;
    const size_t split = w.size() / 2;
    for (size_t i = 0; i < w.size(); ++i) {
      int& mark = where[w[i]];
      mark = std::max(mark, i >= split ? 2 : 1);
    }
    for_each_listed(c, where, [&](Candidate& x, int mark) {
      const float pen = mark == 2 ? p_.penalty : reduced;
      x.logit = x.logit <= 0 ? x.logit * pen : x.logit / pen;
    });
    c.mark_unsorted();
  }

 private:
  RepetitionPenaltyParams p_;
};

class PresenceFrequency final : public Sampler {
 public:
  explicit PresenceFrequency(const PresenceFrequencyParams& p) : p_(p) {}
  const char* name() const override { return "presence_frequency"; }
  void apply(Candidates& c, SamplerContext& ctx) override {
    if ((p_.presence == 0.0f && p_.frequency == 0.0f) || p_.range == 0) return;
    std::unordered_map<int32_t, int> count;
    for (int32_t id : window(ctx.history, p_.range)) ++count[id];
    for_each_listed(c, count, [&](Candidate& x, int n) {
      x.logit -= p_.presence + p_.frequency * static_cast<float>(n);
    });
    c.mark_unsorted();
  }

 private:
  PresenceFrequencyParams p_;
};

}  // namespace

std::unique_ptr<Sampler> make_repetition_penalty(const RepetitionPenaltyParams& params) {
  return std::make_unique<RepetitionPenalty>(params);
}
std::unique_ptr<Sampler> make_presence_frequency_penalty(const PresenceFrequencyParams& params) {
  return std::make_unique<PresenceFrequency>(params);
}

}  // namespace limarp
