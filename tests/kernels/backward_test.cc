// Every backward kernel against central finite differences of its forward twin, in double
// precision: the same kernel source instantiated for double is the reference build, so a
// wrong derivative shows up as a disagreement far above the ~1e-9 that differencing leaves.
// Each check differentiates the scalar L = sum(out · g) for a random g, so every output
// element contributes. The float builds are then compared with the double ones.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <vector>

#include <fmt/format.h>

#include "base/rng.h"
#include "kernels/attention.h"
#include "kernels/kv_heads.h"
#include "kernels/cross_entropy.h"
#include "kernels/embedding.h"
#include "kernels/ops.h"
#include "kernels/rope.h"
#include "kernels/vector_math.h"

namespace limarp::kernels {
namespace {

using Vec = std::vector<double>;

Vec random_vec(Rng& rng, size_t n, double scale = 1.0) {
  Vec v(n);
  for (auto& x : v) x = rng.normal() * scale;
  return v;
}

double dot(const Vec& a, const Vec& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

// Central differences of loss() with respect to every element of x.
Vec numeric_grad(Vec& x, const std::function<double()>& loss, double h = 1e-6) {
  Vec g(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const double keep = x[i];
    x[i] = keep + h;
    const double up = loss();
    x[i] = keep - h;
    const double down = loss();
    x[i] = keep;
    g[i] = (up - down) / (2 * h);
  }
  return g;
}

// max |a - b| / (max |b| + 1e-12)
double rel_err(const Vec& a, const Vec& b) {
  double diff = 0, mag = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff = std::max(diff, std::fabs(a[i] - b[i]));
    mag = std::max(mag, std::fabs(b[i]));
  }
  return diff / (mag + 1e-12);
}

// Differences in double leave ~1e-9 relative error; a wrong term is off by 1e-2 or more.
constexpr double kFdTol = 1e-7;

std::vector<float> to_f32(const Vec& v) { return {v.begin(), v.end()}; }
Vec to_f64(const std::vector<float>& v) { return {v.begin(), v.end()}; }

TEST(Backward, RmsNormMatchesFiniteDifferences) {
  Rng rng(1);
  const int64_t n = 37;
  const float eps = 1e-5f;
  Vec x = random_vec(rng, n), w = random_vec(rng, n, 0.5), g = random_vec(rng, n);
  for (auto& v : w) v += 1.0;
  auto loss = [&] {
    Vec out(n);
    rmsnorm(out.data(), x.data(), w.data(), n, eps);
    return dot(out, g);
  };
  Vec dx(n, 0.0), dw(n, 0.0);
  rmsnorm_backward(dx.data(), dw.data(), g.data(), x.data(), w.data(), n, eps);
  EXPECT_LT(rel_err(dx, numeric_grad(x, loss)), kFdTol);
  EXPECT_LT(rel_err(dw, numeric_grad(w, loss)), kFdTol);
  // dx accumulates (residual stream); a frozen norm (null dweight) gives the same dx.
  Vec dx2(n, 1.0);
  rmsnorm_backward(dx2.data(), static_cast<double*>(nullptr), g.data(), x.data(), w.data(), n, eps);
  for (int64_t i = 0; i < n; ++i) EXPECT_NEAR(dx2[i] - 1.0, dx[i], 1e-12);
  // The float build agrees with the double one.
  std::vector<float> fx = to_f32(x), fw = to_f32(w), fg = to_f32(g), fdx(n, 0.0f), fdw(n, 0.0f);
  rmsnorm_backward(fdx.data(), fdw.data(), fg.data(), fx.data(), fw.data(), n, eps);
  EXPECT_LT(rel_err(to_f64(fdx), dx), 1e-5);
  EXPECT_LT(rel_err(to_f64(fdw), dw), 1e-5);
}

TEST(Backward, SwigluMatchesFiniteDifferences) {
  Rng rng(2);
  const int64_t n = 41;
  Vec gate = random_vec(rng, n, 2.0), up = random_vec(rng, n), g = random_vec(rng, n);
  auto loss = [&] {
    Vec out(n);
    swiglu(out.data(), gate.data(), up.data(), n);
    return dot(out, g);
  };
  Vec dgate(n), dup(n);
  swiglu_backward(dgate.data(), dup.data(), g.data(), gate.data(), up.data(), n);
  EXPECT_LT(rel_err(dgate, numeric_grad(gate, loss)), kFdTol);
  EXPECT_LT(rel_err(dup, numeric_grad(up, loss)), kFdTol);
}

TEST(Backward, RopeMatchesFiniteDifferencesInBothLayouts) {
  Rng rng(3);
  const int64_t heads = 3, hd = 10;
  std::vector<float> cs(hd), inv_freq(hd / 2);
  rope_inv_freq(inv_freq.data(), hd, 10000.0f);
  // A table scaled as YaRN's attention factor scales it: the gradient carries the same factor.
  rope_cos_sin(cs.data(), 17, inv_freq.data(), hd, 1.3f);
  for (RopeLayout layout : {RopeLayout::kInterleaved, RopeLayout::kHalf}) {
    Vec x = random_vec(rng, heads * hd), g = random_vec(rng, heads * hd);
    auto loss = [&] {
      Vec out = x;
      rope_apply(out.data(), cs.data(), heads, hd, layout);
      return dot(out, g);
    };
    Vec dx = g;
    rope_backward(dx.data(), cs.data(), heads, hd, layout);
    EXPECT_LT(rel_err(dx, numeric_grad(x, loss)), kFdTol) << static_cast<int>(layout);
  }
}

TEST(Backward, CausalAttentionMatchesFiniteDifferences) {
  Rng rng(4);
  const int64_t T = 7;
  const AttentionShape s{4, 2, 6};  // grouped-query: two query heads per kv head
  const int64_t D = s.n_heads * s.head_dim, KV = s.n_kv_heads * s.head_dim;
  Vec q = random_vec(rng, T * D), k = random_vec(rng, T * KV), v = random_vec(rng, T * KV),
      g = random_vec(rng, T * D);
  Vec out(T * D), lse(T * s.n_heads), scratch(T);
  auto forward = [&] {
    for (int64_t grp = 0; grp < s.n_kv_heads; ++grp)
      attention_forward_group_reference(out.data(), lse.data(), q.data(), k.data(), v.data(), scratch.data(), T, s, grp);
  };
  auto loss = [&] {
    forward();
    return dot(out, g);
  };
  forward();
  Vec dq(T * D, NAN), dk(T * KV, NAN), dv(T * KV, NAN);
  for (int64_t grp = 0; grp < s.n_kv_heads; ++grp)
    attention_backward_group_reference(dq.data(), dk.data(), dv.data(), g.data(), q.data(), k.data(), v.data(), out.data(),
                             lse.data(), T, s, grp);
  EXPECT_LT(rel_err(dq, numeric_grad(q, loss)), kFdTol);
  EXPECT_LT(rel_err(dk, numeric_grad(k, loss)), kFdTol);
  EXPECT_LT(rel_err(dv, numeric_grad(v, loss)), kFdTol);

  // Causality: the first token's output depends on nothing after it.
  forward();
  const Vec first(out.begin(), out.begin() + D);
  for (int64_t i = KV; i < T * KV; ++i) k[i] += 1.0, v[i] -= 1.0;
  forward();
  for (int64_t i = 0; i < D; ++i) EXPECT_EQ(out[i], first[i]);

  // The float build of the forward agrees with the inference kernel (KV cache from position 0).
  std::vector<float> fq = to_f32(q), fk = to_f32(k), fv = to_f32(v), fout(T * D), flse(T * s.n_heads), fs(T),
                     inf(T * D);
  for (int64_t grp = 0; grp < s.n_kv_heads; ++grp)
    attention_forward_group_reference(fout.data(), flse.data(), fq.data(), fk.data(), fv.data(), fs.data(), T, s, grp);
  ThreadPool pool(1);
  const HeadMajor kh(fk, T, s.n_kv_heads, s.head_dim, DType::kF32), vh(fv, T, s.n_kv_heads, s.head_dim, DType::kF32);
  attention(inf.data(), fq.data(), kh.view(), vh.view(), T, 0, s, pool);
  for (int64_t i = 0; i < T * D; ++i) EXPECT_NEAR(fout[i], inf[i], 1e-5);
}

// The blocked attention (GEMM core, vector exp) against its reference twin on lengths around
// the query block size, grouped and plain heads.
TEST(Backward, BlockedAttentionMatchesItsReferenceTwin) {
  Rng rng(7);
  for (AttentionShape s : {AttentionShape{4, 2, 8}, AttentionShape{3, 3, 6}, AttentionShape{8, 1, 16}})
    for (int64_t T : {1, 5, 32, 33, 70}) {
      const int64_t D = s.n_heads * s.head_dim, KV = s.n_kv_heads * s.head_dim;
      std::vector<float> q = to_f32(random_vec(rng, T * D)), k = to_f32(random_vec(rng, T * KV)),
                         v = to_f32(random_vec(rng, T * KV)), dout = to_f32(random_vec(rng, T * D));
      std::vector<float> out_r(T * D), lse_r(T * s.n_heads), out_b(T * D), lse_b(T * s.n_heads), tmp(T);
      std::vector<float> scratch(static_cast<size_t>(attention_scratch_floats(T, s)));
      std::vector<float> dq_r(T * D), dk_r(T * KV), dv_r(T * KV), dq_b(T * D), dk_b(T * KV), dv_b(T * KV);
      for (int64_t g = 0; g < s.n_kv_heads; ++g) {
        attention_forward_group_reference(out_r.data(), lse_r.data(), q.data(), k.data(), v.data(), tmp.data(), T, s, g);
        attention_forward_group(out_b.data(), lse_b.data(), q.data(), k.data(), v.data(), scratch.data(), T, s, g);
      }
      for (int64_t g = 0; g < s.n_kv_heads; ++g) {
        attention_backward_group_reference(dq_r.data(), dk_r.data(), dv_r.data(), dout.data(), q.data(), k.data(),
                                           v.data(), out_r.data(), lse_r.data(), T, s, g);
        attention_backward_group(dq_b.data(), dk_b.data(), dv_b.data(), dout.data(), q.data(), k.data(), v.data(),
                                 out_b.data(), lse_b.data(), scratch.data(), T, s, g);
      }
      // Errors relative to the inputs' scale (1): with T = 1 the exact dq and dk are 0 and both
      // twins return rounding noise.
      auto err = [](const std::vector<float>& a, const std::vector<float>& b) {
        double m = 0;
        for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(static_cast<double>(a[i]) - b[i]));
        return m;
      };
      const std::string what = "T=" + std::to_string(T) + " heads " + std::to_string(s.n_heads);
      EXPECT_LT(err(out_b, out_r), 1e-5) << what;
      EXPECT_LT(err(lse_b, lse_r), 1e-5) << what;
      EXPECT_LT(err(dq_b, dq_r), 1e-5) << what;
      EXPECT_LT(err(dk_b, dk_r), 1e-5) << what;
      EXPECT_LT(err(dv_b, dv_r), 1e-5) << what;
    }
}

TEST(Backward, CrossEntropyWithLossMaskMatchesFiniteDifferences) {
  Rng rng(5);
  const int64_t T = 5, V = 11;
  Vec logits = random_vec(rng, T * V, 3.0), dloss = random_vec(rng, T);
  const std::vector<int32_t> targets = {3, kNoTarget, 0, 10, 7};
  auto loss = [&] {
    Vec l(T);
    cross_entropy_forward(l.data(), logits.data(), targets.data(), T, V);
    return dot(l, dloss);
  };
  Vec dlogits(T * V, NAN);
  cross_entropy_backward(dlogits.data(), logits.data(), targets.data(), dloss.data(), T, V);
  EXPECT_LT(rel_err(dlogits, numeric_grad(logits, loss)), kFdTol);
  for (int64_t i = 0; i < V; ++i) EXPECT_EQ(dlogits[V + i], 0.0);  // masked row
  // In place (dlogits aliasing logits), as the fused classifier calls it.
  Vec inplace = logits;
  cross_entropy_backward(inplace.data(), inplace.data(), targets.data(), dloss.data(), T, V);
  EXPECT_EQ(inplace, dlogits);
  // The loss itself: -log softmax at the target.
  Vec l(T);
  cross_entropy_forward(l.data(), logits.data(), targets.data(), T, V);
  double z = 0;
  for (int64_t i = 0; i < V; ++i) z += std::exp(logits[i]);
  EXPECT_NEAR(l[0], std::log(z) - logits[3], 1e-12);
  EXPECT_EQ(l[1], 0.0);
  // The float build (vectorised exp) agrees with the double one, over a vocabulary wider than
  // its chunk of 256.
  const int64_t wide = 1000;
  Vec big = random_vec(rng, 2 * wide, 4.0);
  const std::vector<int32_t> t2 = {17, 999};
  const Vec d2 = {0.5, -1.5};
  Vec l64(2), g64(2 * wide);
  cross_entropy_forward(l64.data(), big.data(), t2.data(), 2, wide);
  cross_entropy_backward(g64.data(), big.data(), t2.data(), d2.data(), 2, wide);
  std::vector<float> fbig = to_f32(big), fd2 = to_f32(d2), l32(2), g32(2 * wide);
  cross_entropy_forward(l32.data(), fbig.data(), t2.data(), 2, wide);
  cross_entropy_backward(g32.data(), fbig.data(), t2.data(), fd2.data(), 2, wide);
  EXPECT_LT(rel_err(to_f64(l32), l64), 1e-6);
  EXPECT_LT(rel_err(to_f64(g32), g64), 1e-5);
}

// The length-decision loss: dloss · CE + dchoice · B, with B = -log p[stop] when the target is
// the stop and -log(1 - p[stop]) when it is not, against finite differences of that formula.
TEST(Backward, StopChoiceMatchesFiniteDifferences) {
  Rng rng(15);
  const int64_t V = 13;
  Vec logits = random_vec(rng, V, 3.0);
  auto softmax = [&](int64_t j) {
    double z = 0;
    for (double x : logits) z += std::exp(x);
    return std::exp(logits[static_cast<size_t>(j)]) / z;
  };
  for (const auto& [target, stop] : {std::pair{4, 4}, std::pair{4, 9}, std::pair{0, 12}}) {
    for (const auto& [dloss, dchoice] : {std::pair{1.0, 0.0}, std::pair{0.5, 3.0}, std::pair{0.0, 2.0}}) {
      auto loss = [&] {
        const double ce = -std::log(softmax(target));
        const double b = target == stop ? -std::log(softmax(stop)) : -std::log(1 - softmax(stop));
        return dloss * ce + dchoice * b;
      };
      const std::string what = fmt::format("target {} stop {} dloss {} dchoice {}", target, stop, dloss, dchoice);
      Vec g(V, NAN);
      stop_choice_backward(g.data(), logits.data(), target, stop, dloss, dchoice, V);
      EXPECT_LT(rel_err(g, numeric_grad(logits, loss)), kFdTol) << what;
      Vec inplace = logits;
      stop_choice_backward(inplace.data(), inplace.data(), target, stop, dloss, dchoice, V);
      EXPECT_EQ(inplace, g) << what;
      // On a go-on row B moves only the stop's logit against the rest: the others keep their ratios.
      if (target != stop && dloss == 0) {
        for (int64_t j = 0; j < V; ++j)
          if (j != stop) {
            EXPECT_NEAR(g[j] / softmax(j), g[0] / softmax(0), 1e-9) << what;
          }
      }
    }
  }
  // A near-certain stop on a go-on row: the gradient stays finite and is p_stop-sized.
  Vec sure(V, 0.0);
  sure[2] = 60;
  Vec g(V);
  stop_choice_backward(g.data(), sure.data(), 5, 2, 0.0, 1.0, V);
  for (double x : g) EXPECT_TRUE(std::isfinite(x));
  EXPECT_NEAR(g[2], 1.0, 1e-9);
  // The float build agrees with the double one over a vocabulary wider than its exp chunk.
  const int64_t wide = 1000;
  Vec big = random_vec(rng, wide, 4.0), g64(wide);
  stop_choice_backward(g64.data(), big.data(), 17, 999, 0.5, 2.0, wide);
  std::vector<float> fbig = to_f32(big), g32(wide);
  stop_choice_backward(g32.data(), fbig.data(), 17, 999, 0.5f, 2.0f, wide);
  EXPECT_LT(rel_err(to_f64(g32), g64), 1e-5);
}

TEST(Backward, EmbeddingSumsRepeatedTokens) {
  Rng rng(6);
  const int64_t V = 9, D = 5;
  const std::vector<int32_t> tokens = {4, 1, 4, 8, 4};
  const auto T = static_cast<int64_t>(tokens.size());
  Vec table = random_vec(rng, V * D), g = random_vec(rng, T * D);
  std::vector<float> ftable = to_f32(table);
  auto loss = [&] {
    ftable = to_f32(table);
    std::vector<float> out(T * D);
    embedding_forward(out.data(), TensorView{DType::kF32, {V, D}, ftable.data(), ftable.size() * 4}, tokens.data(), T);
    return dot(to_f64(out), g);
  };
  Vec dtable(V * D, 0.0);
  embedding_backward(dtable.data(), g.data(), tokens.data(), T, D);
  // The lookup is linear: a unit step differentiates it exactly (up to float rounding).
  EXPECT_LT(rel_err(dtable, numeric_grad(table, loss, 1.0)), 1e-5);
}

TEST(VectorMath, ReductionsMatchPlainLoops) {
  Rng rng(8);
  for (int64_t n : {1, 15, 16, 17, 100, 1000}) {
    std::vector<float> x = to_f32(random_vec(rng, static_cast<size_t>(n), 3.0));
    float m = x[0];
    double s = 0;
    for (float v : x) m = std::max(m, v), s += v;
    EXPECT_EQ(max_f32(x.data(), n), m) << n;
    EXPECT_NEAR(sum_f32(x.data(), n), s, 1e-9 * (std::fabs(s) + static_cast<double>(n))) << n;
  }
}

TEST(VectorMath, WordSumMatchesTheScalarTwin) {
  Rng rng(9);
  std::vector<uint64_t> words(1000);
  for (auto& w : words) w = rng.next_u64();
  // Around the AVX2 step (16 words) and the AVX-512 one (32).
  for (size_t n : std::initializer_list<size_t>{0, 1, 15, 16, 17, 31, 32, 33, 100, 1000}) {
    uint64_t plain = 0;
    for (size_t i = 0; i < n; ++i) plain += words[i];
    EXPECT_EQ(sum_u64(words.data(), n), plain) << n;
    EXPECT_EQ(sum_u64_scalar(words.data(), n), plain) << n;
  }
}

TEST(VectorMath, ExpMatchesTheLibraryWithinTwoUlp) {
  std::vector<float> x;
  for (float v = -110.0f; v < 89.0f; v += 0.0137f) x.push_back(v);
  std::vector<float> fast = x, scalar = x;
  exp_shifted_inplace(fast.data(), 0.5f, static_cast<int64_t>(x.size()));
  exp_shifted_inplace_scalar(scalar.data(), 0.5f, static_cast<int64_t>(x.size()));
  for (size_t i = 0; i < x.size(); ++i) {
    const float want = scalar[i];
    if (want < 1e-37f) {  // denormal range: absolute error only
      EXPECT_NEAR(fast[i], want, 1e-38f) << x[i];
      continue;
    }
    EXPECT_LE(std::fabs(fast[i] - want), 2.0f * (std::nextafter(want, INFINITY) - want)) << x[i];
  }
}

}  // namespace
}  // namespace limarp::kernels
