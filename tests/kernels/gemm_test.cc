// The matrix products of training against exact double-precision references, on awkward
// shapes (tails of every vector width and tile size): the blocked f32 core (every SIMD level
// the CPU has, and the scalar twin), weight gradients, products with row-major matrices, and the transposed
// product dx += dy · W against stored weights of every type (W dequantized exactly is the
// derivative of the forward x · Wᵀ). Results must not depend on the thread count, nor on the
// core's loop order.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "base/rng.h"
#include "base/thread_pool.h"
#include "kernels/cpu/registry.h"
#include "kernels/gemm.h"
#include "kernels/lora.h"
#include "kernels/matmul.h"
#include "tensor/quantize.h"

namespace limarp::kernels {
namespace {

std::vector<float> random_f32(Rng& rng, int64_t n, float scale = 1.0f) {
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = static_cast<float>(rng.normal()) * scale;
  return v;
}

// max |got - want| relative to the largest |want|.
double rel_err(const std::vector<float>& got, const std::vector<double>& want) {
  double diff = 0, mag = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    diff = std::max(diff, std::fabs(got[i] - want[i]));
    mag = std::max(mag, std::fabs(want[i]));
  }
  return diff / (mag + 1e-30);
}

TEST(Gemm, CoreMatchesDoubleReferenceOnOddShapes) {
  Rng rng(11);
  for (auto [M, N, K] : {std::array<int64_t, 3>{1, 1, 1}, {7, 17, 5}, {13, 70, 300}, {6, 64, 256}, {25, 129, 513}}) {
    for (bool transposed : {false, true}) {
      const std::vector<float> a = random_f32(rng, M * K), b = random_f32(rng, K * N);
      std::vector<float> c0 = random_f32(rng, M * N);
      const StridedMatrix am = transposed ? StridedMatrix{a.data(), 1, M} : StridedMatrix{a.data(), K, 1};
      std::vector<double> want(c0.begin(), c0.end());
      for (int64_t i = 0; i < M; ++i)
        for (int64_t j = 0; j < N; ++j) {
          double s = 0;
          for (int64_t k = 0; k < K; ++k)
            s += static_cast<double>(am.data[i * am.row_stride + k * am.col_stride]) * b[k * N + j];
          want[i * N + j] += 0.5 * s;
        }
      const double tol = 1e-6 * std::sqrt(static_cast<double>(K)) + 1e-7;
      std::vector<float> scalar = c0;
      gemm_accumulate_scalar(scalar.data(), N, am, b.data(), N, M, N, K, 0.5f);
      EXPECT_LT(rel_err(scalar, want), tol) << M << "x" << N << "x" << K << " scalar";
      for (const KernelLevel& level : runnable_levels()) {
        const Isa isa = level.isa;
        if (isa == Isa::kScalar) continue;
        std::vector<float> fast = c0;
        gemm_accumulate_at(isa, fast.data(), N, am, b.data(), N, M, N, K, 0.5f);
        EXPECT_LT(rel_err(fast, want), tol) << M << "x" << N << "x" << K << " " << isa_name(isa);
      }
    }
  }
}

// The SIMD cores walk their tiles in two orders (gemm_streams_b: all K blocks of a tile in a
// row when B's rows lie close, K blocks outermost otherwise); both must sum every element in
// the same order. The same B, once packed and once with rows far apart, gives the same bits.
TEST(Gemm, BothLoopOrdersGiveTheSameBits) {
  Rng rng(18);
  const int64_t M = 13, N = 70, K = 3 * kGemmKBlock + 17, wide = 512;
  ASSERT_TRUE(gemm_streams_b(K, N));
  ASSERT_FALSE(gemm_streams_b(K, wide));
  const std::vector<float> a = random_f32(rng, M * K), packed = random_f32(rng, K * N), c0 = random_f32(rng, M * N);
  std::vector<float> spread(static_cast<size_t>(K * wide), NAN);
  for (int64_t k = 0; k < K; ++k)
    for (int64_t j = 0; j < N; ++j) spread[k * wide + j] = packed[k * N + j];
  for (const KernelLevel& level : runnable_levels()) {
    std::vector<float> streamed = c0, blocked = c0;
    gemm_accumulate_at(level.isa, streamed.data(), N, {a.data(), K, 1}, packed.data(), N, M, N, K, 0.5f);
    gemm_accumulate_at(level.isa, blocked.data(), N, {a.data(), K, 1}, spread.data(), wide, M, N, K, 0.5f);
    EXPECT_EQ(streamed, blocked) << isa_name(level.isa);
  }
}

TEST(Gemm, WeightGradAndRowMajorProductsAreThreadIndependent) {
  Rng rng(12);
  const int64_t T = 301, n_out = 97, n_in = 70;
  const std::vector<float> dy = random_f32(rng, T * n_out), x = random_f32(rng, T * n_in);
  std::vector<double> want(static_cast<size_t>(n_out * n_in), 0.0);
  for (int64_t t = 0; t < T; ++t)
    for (int64_t o = 0; o < n_out; ++o)
      for (int64_t i = 0; i < n_in; ++i) want[o * n_in + i] += static_cast<double>(dy[t * n_out + o]) * x[t * n_in + i];
  ThreadPool one(1), three(3);
  std::vector<float> g1(want.size(), 0.0f), g3(want.size(), 0.0f);
  matmul_weight_grad(g1.data(), dy.data(), x.data(), T, n_out, n_in, 1.0f, one);
  matmul_weight_grad(g3.data(), dy.data(), x.data(), T, n_out, n_in, 1.0f, three);
  EXPECT_EQ(g1, g3);
  EXPECT_LT(rel_err(g1, want), 1e-5);

  // y [T, n_in] += dy [T, n_out] · W [n_out, n_in]
  const std::vector<float> w = random_f32(rng, n_out * n_in);
  std::vector<double> want_y(static_cast<size_t>(T * n_in), 0.0);
  for (int64_t t = 0; t < T; ++t)
    for (int64_t k = 0; k < n_out; ++k)
      for (int64_t j = 0; j < n_in; ++j) want_y[t * n_in + j] += static_cast<double>(dy[t * n_out + k]) * w[k * n_in + j];
  std::vector<float> y1(want_y.size(), 0.0f), y3(want_y.size(), 0.0f);
  matmul_nn_accumulate(y1.data(), dy.data(), w.data(), T, n_out, n_in, 1.0f, one);
  matmul_nn_accumulate(y3.data(), dy.data(), w.data(), T, n_out, n_in, 1.0f, three);
  EXPECT_EQ(y1, y3);
  EXPECT_LT(rel_err(y1, want_y), 1e-5);
}

TEST(Gemm, TransposedProductAgainstEveryWeightType) {
  Rng rng(13);
  struct Case {
    DType type;
    int64_t n_in;
  };
  for (Case c : {Case{DType::kF32, 172}, {DType::kF16, 100}, {DType::kBF16, 48}, {DType::kQ8_0, 96},
                 {DType::kQ4_0, 320}, {DType::kQ4_K, 512}, {DType::kQ6_K, 256}, {DType::kNF4, 192},
                 {DType::kNF4, 640}}) {
    // 300 tokens: the column panels for types whose blocks divide 64, two token tiles for the
    // K-quants; 1 and 5 tokens: one token tile.
    for (int64_t T : {1, 5, 300}) {
      const int64_t n_out = 77;
      const std::vector<float> wf = random_f32(rng, n_out * c.n_in);
      Tensor w = std::move(quantize(wf.data(), {n_out, c.n_in}, c.type).value());
      const Tensor wd = std::move(dequantize(w.view()).value());
      const std::vector<float> dy = random_f32(rng, T * n_out);
      std::vector<float> dx0 = random_f32(rng, T * c.n_in);
      std::vector<double> want(dx0.begin(), dx0.end());
      for (int64_t t = 0; t < T; ++t)
        for (int64_t o = 0; o < n_out; ++o)
          for (int64_t i = 0; i < c.n_in; ++i)
            want[t * c.n_in + i] += static_cast<double>(dy[t * n_out + o]) * wd.f32()[o * c.n_in + i];
      ThreadPool one(1), three(3);
      std::vector<float> dx1 = dx0, dx3 = dx0;
      matmul_transposed_accumulate(dx1.data(), dy.data(), w.view(), T, one);
      matmul_transposed_accumulate(dx3.data(), dy.data(), w.view(), T, three);
      EXPECT_EQ(dx1, dx3) << dtype_name(c.type) << " T=" << T;
      EXPECT_LT(rel_err(dx1, want), 1e-5) << dtype_name(c.type) << " T=" << T;
    }
  }
}

// Training's f32 forward product (ProductPrecision::kF32): float weights with 64 or more tokens
// go through the gemm core over transposed panels of 64 rows (203 rows: a partial panel).
// Against the exact product of the stored values, for every thread count alike.
TEST(Gemm, TrainingForwardProductOfFloatWeights) {
  Rng rng(19);
  for (DType type : {DType::kF32, DType::kF16, DType::kBF16}) {
    const int64_t n_out = 203, n = 300, T = 70;
    const std::vector<float> wf = random_f32(rng, n_out * n);
    Tensor w = std::move(quantize(wf.data(), {n_out, n}, type).value());
    const Tensor wd = std::move(dequantize(w.view()).value());
    const std::vector<float> x = random_f32(rng, T * n);
    std::vector<double> want(static_cast<size_t>(T * n_out), 0.0);
    for (int64_t t = 0; t < T; ++t)
      for (int64_t o = 0; o < n_out; ++o)
        for (int64_t i = 0; i < n; ++i) want[t * n_out + o] += static_cast<double>(x[t * n + i]) * wd.f32()[o * n + i];
    ThreadPool one(1), three(3);
    std::vector<float> y1(want.size(), NAN), y3(want.size(), NAN);
    matmul(y1.data(), x.data(), w.view(), T, one, ProductPrecision::kF32);
    matmul(y3.data(), x.data(), w.view(), T, three, ProductPrecision::kF32);
    EXPECT_EQ(y1, y3) << dtype_name(type);
    EXPECT_LT(rel_err(y1, want), 1e-5) << dtype_name(type);
  }
}

// The LoRA branch against a double-precision reference of PEFT's formula with the same
// dropout mask, and its gradients against finite differences of that reference.
TEST(Gemm, LoraBranchWithDropoutMatchesReferenceAndFiniteDifferences) {
  Rng rng(14);
  const int64_t T = 6, n_in = 20, n_out = 13, r = 4;
  const float scale = 0.75f;
  const Dropout drop{0.3f, 12345};
  std::vector<float> x = random_f32(rng, T * n_in), a = random_f32(rng, r * n_in, 0.3f),
                     b = random_f32(rng, n_out * r, 0.3f), g = random_f32(rng, T * n_out);
  int kept = 0;
  for (int64_t e = 0; e < T * n_in; ++e) kept += dropout_keeps(drop, static_cast<uint64_t>(e));
  EXPECT_GT(kept, T * n_in / 2);  // p = 0.3 keeps most
  EXPECT_LT(kept, T * n_in);      // and drops some
  // Reference: y = scale · B·A·(x ⊙ m / (1 - p)), in double, L = sum(y · g).
  auto loss = [&](const std::vector<double>& xd, const std::vector<double>& ad, const std::vector<double>& bd) {
    double total = 0;
    for (int64_t t = 0; t < T; ++t) {
      std::vector<double> ax(r, 0.0);
      for (int64_t k = 0; k < r; ++k)
        for (int64_t i = 0; i < n_in; ++i) {
          const double m = dropout_keeps(drop, static_cast<uint64_t>(t * n_in + i)) ? 1.0 / (1.0 - drop.p) : 0.0;
          ax[k] += ad[k * n_in + i] * xd[t * n_in + i] * m;
        }
      for (int64_t o = 0; o < n_out; ++o) {
        double y = 0;
        for (int64_t k = 0; k < r; ++k) y += bd[o * r + k] * ax[k];
        total += scale * y * g[t * n_out + o];
      }
    }
    return total;
  };
  std::vector<double> xd(x.begin(), x.end()), ad(a.begin(), a.end()), bd(b.begin(), b.end());
  auto fd = [&](std::vector<double>& v) {
    std::vector<double> out(v.size());
    for (size_t i = 0; i < v.size(); ++i) {
      const double keep = v[i];
      v[i] = keep + 1e-6;
      const double up = loss(xd, ad, bd);
      v[i] = keep - 1e-6;
      const double down = loss(xd, ad, bd);
      v[i] = keep;
      out[i] = (up - down) / 2e-6;
    }
    return out;
  };
  ThreadPool pool(2);
  const LoraFactors f{a.data(), b.data(), r, n_in, n_out, scale};
  std::vector<float> xbuf(T * n_in), dax(T * r), ax(T * r);
  std::vector<uint8_t> keep(T * n_in);
  const LoraScratch s{xbuf.data(), dax.data(), keep.data()};
  // Forward: y0 + branch; L of the branch alone equals the reference.
  std::vector<float> y(T * n_out, 0.0f);
  lora_forward(y.data(), ax.data(), x.data(), f, drop, T, s, pool);
  double l = 0;
  for (int64_t i = 0; i < T * n_out; ++i) l += static_cast<double>(y[i]) * g[i];
  EXPECT_NEAR(l, loss(xd, ad, bd), 1e-4 * std::fabs(l) + 1e-5);
  std::vector<float> dx(T * n_in, 0.0f), da(r * n_in, 0.0f), db(n_out * r, 0.0f);
  lora_backward(dx.data(), da.data(), db.data(), g.data(), x.data(), ax.data(), f, drop, T, s, pool);
  EXPECT_LT(rel_err(dx, fd(xd)), 1e-5);
  EXPECT_LT(rel_err(da, fd(ad)), 1e-5);
  EXPECT_LT(rel_err(db, fd(bd)), 1e-5);
}

// The branch at a size where its products run tiled and in parallel (rank rows, columns past
// one tile, token rows not a multiple of a task's), against the analytic gradients in double:
// dax = scale · dy · B, db = scale · dyᵀ · ax, da = daxᵀ · drop(x), dx = drop'(dax · A),
// within `tolerance` of the largest value of each. Any thread count gives the same bits.
void check_lora_branch(int64_t T, int64_t n_in, int64_t n_out, int64_t r, ProductPrecision precision,
                       double tolerance) {
  Rng rng(16);
  const Dropout drop{0.1f, 777};
  const float scale = 2.0f, ks = 1.0f / (1.0f - drop.p);
  const std::vector<float> x = random_f32(rng, T * n_in), a = random_f32(rng, r * n_in, 0.3f),
                           b = random_f32(rng, n_out * r, 0.3f), g = random_f32(rng, T * n_out);
  const LoraFactors f{a.data(), b.data(), r, n_in, n_out, scale};
  struct Out {
    std::vector<float> y, ax, dx, da, db;
  };
  auto run = [&](int threads) {
    ThreadPool pool(threads);
    std::vector<float> xbuf(T * n_in), dax(T * r);
    std::vector<uint8_t> keep(T * n_in);
    const LoraScratch s{xbuf.data(), dax.data(), keep.data()};
    Out o{std::vector<float>(T * n_out, 0.5f), std::vector<float>(T * r), std::vector<float>(T * n_in, 0.25f),
          std::vector<float>(r * n_in, 0.0f), std::vector<float>(n_out * r, 0.0f)};
    lora_forward(o.y.data(), o.ax.data(), x.data(), f, drop, T, s, pool, precision);
    lora_backward(o.dx.data(), o.da.data(), o.db.data(), g.data(), x.data(), o.ax.data(), f, drop, T, s, pool,
                  precision);
    return o;
  };
  const Out o = run(2);
  // Reference in double.
  std::vector<double> xd(T * n_in), ax(T * r, 0.0), dax(T * r, 0.0);
  for (int64_t e = 0; e < T * n_in; ++e) xd[e] = dropout_keeps(drop, static_cast<uint64_t>(e)) ? x[e] * ks : 0.0;
  for (int64_t t = 0; t < T; ++t)
    for (int64_t j = 0; j < r; ++j)
      for (int64_t i = 0; i < n_in; ++i) ax[t * r + j] += xd[t * n_in + i] * a[j * n_in + i];
  for (int64_t t = 0; t < T; ++t)
    for (int64_t j = 0; j < r; ++j)
      for (int64_t k = 0; k < n_out; ++k) dax[t * r + j] += scale * g[t * n_out + k] * b[k * r + j];
  auto expect_near = [&](const std::vector<float>& got, const std::vector<double>& want, const char* what) {
    ASSERT_EQ(got.size(), want.size());
    double err = 0, norm = 0;
    for (size_t i = 0; i < got.size(); ++i) {
      err = std::max(err, std::fabs(got[i] - want[i]));
      norm = std::max(norm, std::fabs(want[i]));
    }
    EXPECT_LT(err, tolerance * norm) << what;
  };
  std::vector<double> y(T * n_out, 0.5), dx(T * n_in, 0.25), da(r * n_in, 0.0), db(n_out * r, 0.0);
  for (int64_t t = 0; t < T; ++t)
    for (int64_t k = 0; k < n_out; ++k)
      for (int64_t j = 0; j < r; ++j) {
        y[t * n_out + k] += scale * ax[t * r + j] * b[k * r + j];
        db[k * r + j] += scale * g[t * n_out + k] * ax[t * r + j];
      }
  for (int64_t t = 0; t < T; ++t)
    for (int64_t i = 0; i < n_in; ++i) {
      const bool kept = dropout_keeps(drop, static_cast<uint64_t>(t * n_in + i));
      for (int64_t j = 0; j < r; ++j) {
        da[j * n_in + i] += dax[t * r + j] * xd[t * n_in + i];
        if (kept) dx[t * n_in + i] += ks * dax[t * r + j] * a[j * n_in + i];
      }
    }
  expect_near(o.ax, ax, "ax");
  expect_near(o.y, y, "y");
  expect_near(o.db, db, "db");
  expect_near(o.da, da, "da");
  expect_near(o.dx, dx, "dx");
  for (int threads : {1, 3}) {
    const Out other = run(threads);
    EXPECT_EQ(other.y, o.y) << threads;
    EXPECT_EQ(other.dx, o.dx) << threads;
    EXPECT_EQ(other.da, o.da) << threads;
    EXPECT_EQ(other.db, o.db) << threads;
  }
}

TEST(Gemm, LoraBranchAtTrainingSizesMatchesAnalyticGradients) {
  check_lora_branch(100, 300, 70, 8, ProductPrecision::kF32, 1e-5);
}

// With kBF16 on a CPU with a matrix engine, a rank-32 branch's factor products take bf16
// operands there: within bf16's rounding of the same analytic gradients (operands rounded to
// 2^-9 relative; 1e-2 of the largest value, where a wrong tile layout errs by order 1), and
// still the same bits for any thread count.
TEST(Gemm, LoraBranchOnTheMatrixEngineStaysWithinBf16) {
  const MatrixEngine* e = active_level().matrix_engine;
  if (!e || !e->available()) GTEST_SKIP() << "no matrix engine (AMX-BF16) on this CPU";
  check_lora_branch(100, 320, 64, 32, ProductPrecision::kBF16, 1e-2);  // 100: 96 tokens on the engine, 4 in f32
}


// The vectorised masked add (the dropout's backward) against its scalar twin.
TEST(Gemm, MaskedAddIsTheScalarTwins) {
  Rng rng(17);
  const int64_t n = 1003;
  const std::vector<float> v = random_f32(rng, n), base = random_f32(rng, n);
  std::vector<uint8_t> keep(n);
  for (auto& k : keep) k = rng.uniform() < 0.7 ? static_cast<uint8_t>(1 + rng.next_u64() % 255) : 0;
  std::vector<float> fast = base, scalar = base;
  masked_add(fast.data(), v.data(), keep.data(), n);
  masked_add_scalar(scalar.data(), v.data(), keep.data(), n);
  EXPECT_EQ(fast, scalar);
  int changed = 0;
  for (int64_t i = 0; i < n; ++i) changed += fast[i] != base[i];
  EXPECT_GT(changed, n / 2);
}

// The vectorised dropout, alone and split over a pool, draws exactly the scalar twin's masks,
// and about p of them drop.
TEST(Gemm, DropoutMaskIsTheScalarTwinsAndHasRateP) {
  Rng rng(15);
  for (float p : {0.05f, 0.1f, 0.5f}) {
    const int64_t n = 100003;  // not a multiple of 16
    const std::vector<float> x = random_f32(rng, n);
    std::vector<float> fast(n), scalar(n);
    std::vector<uint8_t> kf(n), ks(n);
    const Dropout d{p, 0x1234567 + static_cast<uint64_t>(p * 100)};
    dropout_apply(fast.data(), kf.data(), x.data(), d, n);
    dropout_apply_scalar(scalar.data(), ks.data(), x.data(), d, n);
    EXPECT_EQ(kf, ks);
    EXPECT_EQ(fast, scalar);
    // Split over a pool, each share from its own offset seed (dropout_from).
    ThreadPool pool(3);
    std::vector<float> pooled(n);
    std::vector<uint8_t> kp(n);
    dropout_apply(pooled.data(), kp.data(), x.data(), d, n, pool);
    EXPECT_EQ(kp, ks);
    EXPECT_EQ(pooled, scalar);
    int64_t dropped = 0;
    for (int64_t i = 0; i < n; ++i) dropped += !ks[static_cast<size_t>(i)];
    // Binomial: 5 standard deviations.
    const double sd = std::sqrt(static_cast<double>(n) * p * (1 - p));
    EXPECT_NEAR(static_cast<double>(dropped), p * static_cast<double>(n), 5 * sd) << p;
  }
}

}  // namespace
}  // namespace limarp::kernels
