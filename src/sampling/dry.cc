#include "sampling/dry.h"

#include <algorithm>
#include <cmath>
#include <string_view>
#include <unordered_map>

namespace limarp {
namespace {

// Largest penalty we subtract: beyond this the token is banned in all but name, and the
// exponential must not overflow to inf (inf − inf would give NaN logits later).
constexpr double kMaxPenalty = 1e30;

// breaker[i] for every position of the window: its token's text overlaps a breaker string.
std::vector<bool> breaker_positions(std::span<const int32_t> w, const std::vector<std::string>& breakers,
                                    const TokenTexts* texts) {
  std::vector<bool> is_breaker(w.size(), false);
  if (!texts || breakers.empty()) return is_breaker;
  std::string text;
  std::vector<size_t> start(w.size() + 1);
  for (size_t i = 0; i < w.size(); ++i) {
    start[i] = text.size();
    const auto id = static_cast<size_t>(w[i]);
    if (w[i] >= 0 && id < texts->size()) text += (*texts)[id];
  }
  start[w.size()] = text.size();
  for (const auto& b : breakers) {
    if (b.empty()) continue;
    for (size_t at = text.find(b); at != std::string::npos; at = text.find(b, at + 1)) {
      const size_t end = at + b.size();
      // Tokens whose [start, next start) overlaps [at, end).
      auto first = std::upper_bound(start.begin(), start.end(), at) - start.begin() - 1;
      for (auto i = static_cast<size_t>(std::max<std::ptrdiff_t>(first, 0)); i < w.size() && start[i] < end; ++i)
        if (start[i + 1] > at) is_breaker[i] = true;
    }
  }
  return is_breaker;
}

class Dry final : public Sampler {
 public:
  Dry(const DryParams& p, std::shared_ptr<const TokenTexts> texts) : p_(p), texts_(std::move(texts)) {}
  const char* name() const override { return "dry"; }
  void apply(Candidates& c, SamplerContext& ctx) override {
    if (p_.multiplier <= 0.0f) return;
    const auto pen = dry_penalties(ctx.history, p_, texts_.get());
    if (pen.empty()) return;
    std::unordered_map<int32_t, float> by_id(pen.begin(), pen.end());
    for_each_listed(c, by_id, [](Candidate& x, float v) { x.logit -= v; });
    c.mark_unsorted();
  }

 private:
  DryParams p_;
  std::shared_ptr<const TokenTexts> texts_;
};

}  // namespace

std::vector<std::pair<int32_t, float>> dry_penalties(std::span<const int32_t> history, const DryParams& p,
                                                     const TokenTexts* texts) {
  std::vector<std::pair<int32_t, float>> out;
  if (p.multiplier <= 0.0f || history.size() < 2) return out;
  auto w = history;
  if (p.penalty_last_n > 0 && static_cast<size_t>(p.penalty_last_n) < w.size())
    w = w.subspan(w.size() - static_cast<size_t>(p.penalty_last_n));
  const size_t n = w.size();
  if (n < 2) return out;
  const auto is_breaker = breaker_positions(w, p.sequence_breakers, texts);
  // Repeats may only use the tokens after the newest breaker.
  size_t limit = 0;
  while (limit < n && !is_breaker[n - 1 - limit]) ++limit;
  const size_t allowed = static_cast<size_t>(std::max(1, p.allowed_length));
  if (limit < allowed) return out;

  // Z-algorithm on r = reversed window: z[k] = length of the common prefix of r and r[k..],
  // i.e. the length of the run ending at position n-1-k that equals the run ending at n-1.
  std::vector<size_t> z(n, 0);
  auto r = [&](size_t i) { return w[n - 1 - i]; };
  for (size_t k = 1, left = 0, right = 0; k < n; ++k) {
    if (k < right) z[k] = std::min(right - k, z[k - left]);
    while (k + z[k] < n && r(z[k]) == r(k + z[k])) ++z[k];
    if (k + z[k] > right) {
      left = k;
      right = k + z[k];
    }
  }
  std::unordered_map<int32_t, size_t> longest;  // following token -> longest repeat it extends
  for (size_t k = 1; k < n; ++k) {
    const size_t len = std::min(z[k], limit);
    if (len < allowed) continue;
    const int32_t next = w[n - k];  // the token after the earlier run (which ends at n-1-k)
    size_t& best = longest[next];
    best = std::max(best, len);
  }
  for (const auto& [id, len] : longest) {
    const double penalty = static_cast<double>(p.multiplier) *
                           std::pow(static_cast<double>(p.base), static_cast<double>(len - allowed));
    out.emplace_back(id, static_cast<float>(std::min(penalty, kMaxPenalty)));
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::unique_ptr<Sampler> make_dry(const DryParams& params, std::shared_ptr<const TokenTexts> texts) {
  return std::make_unique<Dry>(params, std::move(texts));
}

}  // namespace limarp
