#include "sampling/xtc.h"

namespace limarp {
namespace {

class Xtc final : public Sampler {
 public:
  explicit Xtc(const XtcParams& p) : p_(p) {}
  const char* name() const override { return "xtc"; }
  void apply(Candidates& c, SamplerContext& ctx) override {
    if (p_.probability <= 0.0f || p_.threshold > 0.5f || c.size() < 2 || !ctx.rng) return;
    if (ctx.rng->uniform() >= p_.probability) return;
    c.softmax();
    size_t above = 0;
    while (above < c.size() && c[above].p >= p_.threshold) ++above;
    if (above < 2) return;
    // Keep the least likely of the tokens above the threshold, and everything after it.
    auto& v = c.items();
    v.erase(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(above - 1));
  }

 private:
  XtcParams p_;
};

}  // namespace

std::unique_ptr<Sampler> make_xtc(const XtcParams& params) { return std::make_unique<Xtc>(params); }

}  // namespace limarp
