#include "sampling/truncation.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

namespace limarp {
namespace {

class TopK final : public Sampler {
 public:
  explicit TopK(int k) : k_(k) {}
  const char* name() const override { return "top_k"; }
  void apply(Candidates& c, SamplerContext&) override {
    if (k_ <= 0 || static_cast<size_t>(k_) >= c.size()) return;
    auto& v = c.items();
    if (!c.sorted()) {
      // Partial sort is enough: only the top k survive, in order.
      std::partial_sort(v.begin(), v.begin() + k_, v.end(), [](const Candidate& a, const Candidate& b) {
        return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
      });
      v.resize(static_cast<size_t>(k_));
      c.mark_unsorted();
      c.sort_desc();  // already in order: marks it sorted
      return;
    }
    c.truncate(static_cast<size_t>(k_));
  }

 private:
  int k_;
};

class TopP final : public Sampler {
 public:
  explicit TopP(float p) : p_(p) {}
  const char* name() const override { return "top_p"; }
  void apply(Candidates& c, SamplerContext&) override {
    if (p_ >= 1.0f || c.size() <= 1) return;
    c.softmax();
    double cum = 0;
    size_t keep = c.size();
    for (size_t i = 0; i < c.size(); ++i) {
      cum += c[i].p;
      if (cum >= p_) {
        keep = i + 1;
        break;
      }
    }
    c.truncate(keep);
  }

 private:
  float p_;
};

class MinP final : public Sampler {
 public:
  explicit MinP(float p) : p_(p) {}
  const char* name() const override { return "min_p"; }
  void apply(Candidates& c, SamplerContext&) override {
    if (p_ <= 0.0f || c.size() <= 1) return;
    c.softmax();
    const float threshold = p_ * c[0].p;
    size_t keep = 1;
    while (keep < c.size() && c[keep].p >= threshold) ++keep;
    c.truncate(keep);
  }

 private:
  float p_;
};

class Typical final : public Sampler {
 public:
  explicit Typical(float p) : p_(p) {}
  const char* name() const override { return "typical"; }
  void apply(Candidates& c, SamplerContext&) override {
    if (p_ >= 1.0f || c.size() <= 1) return;
    c.softmax();
    double entropy = 0;
    for (const auto& x : c.items())
      if (x.p > 0) entropy -= static_cast<double>(x.p) * std::log(static_cast<double>(x.p));
    std::vector<double> score(c.size());
    for (size_t i = 0; i < c.size(); ++i)
      score[i] = c[i].p > 0 ? std::fabs(-std::log(static_cast<double>(c[i].p)) - entropy)
                            : std::numeric_limits<double>::infinity();
    std::vector<size_t> order(c.size());
    std::iota(order.begin(), order.end(), size_t{0});
    // Stable: among equal scores the more likely (earlier) token comes first.
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return score[a] < score[b]; });
    double cum = 0;
    size_t keep = order.size();
    for (size_t i = 0; i < order.size(); ++i) {
      cum += c[order[i]].p;
      if (cum > p_) {
        keep = i + 1;
        break;
      }
    }
    std::vector<Candidate> kept;
    kept.reserve(keep);
    for (size_t i = 0; i < keep; ++i) kept.push_back(c[order[i]]);
    c.items() = std::move(kept);
    c.mark_unsorted();
    c.sort_desc();
  }

 private:
  float p_;
};

class TailFree final : public Sampler {
 public:
  explicit TailFree(float z) : z_(z) {}
  const char* name() const override { return "tfs"; }
  void apply(Candidates& c, SamplerContext&) override {
    if (z_ >= 1.0f || c.size() <= 2) return;
    c.softmax();
    const size_t n = c.size();
    std::vector<double> d1(n - 1), d2(n - 2);
    for (size_t i = 0; i + 1 < n; ++i) d1[i] = static_cast<double>(c[i].p) - c[i + 1].p;
    double sum = 0;
    for (size_t i = 0; i + 2 < n; ++i) {
      d2[i] = std::fabs(d1[i] - d1[i + 1]);
      sum += d2[i];
    }
    // A flat distribution has no curvature to normalise; its raw (zero) weights keep all.
    if (sum > 1e-6)
      for (double& d : d2) d /= sum;
    double cum = 0;
    size_t keep = n;
    for (size_t i = 0; i < d2.size(); ++i) {
      cum += d2[i];
      if (cum > z_ && i >= 1) {
        keep = i;
        break;
      }
    }
    c.truncate(keep);
  }

 private:
  float z_;
};

class TopA final : public Sampler {
 public:
  explicit TopA(float a) : a_(a) {}
  const char* name() const override { return "top_a"; }
  void apply(Candidates& c, SamplerContext&) override {
    if (a_ <= 0.0f || c.size() <= 1) return;
    c.softmax();
    const float threshold = a_ * c[0].p * c[0].p;
    size_t keep = 1;
    while (keep < c.size() && c[keep].p >= threshold) ++keep;
    c.truncate(keep);
  }

 private:
  float a_;
};

}  // namespace

std::unique_ptr<Sampler> make_top_k(int k) { return std::make_unique<TopK>(k); }
std::unique_ptr<Sampler> make_top_p(float p) { return std::make_unique<TopP>(p); }
std::unique_ptr<Sampler> make_min_p(float min_p) { return std::make_unique<MinP>(min_p); }
std::unique_ptr<Sampler> make_typical(float p) { return std::make_unique<Typical>(p); }
std::unique_ptr<Sampler> make_tail_free(float z) { return std::make_unique<TailFree>(z); }
std::unique_ptr<Sampler> make_top_a(float a) { return std::make_unique<TopA>(a); }

}  // namespace limarp
