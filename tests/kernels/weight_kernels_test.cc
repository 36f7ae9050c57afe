// Every optimized weight kernel against its scalar twin (same activation quantization, so
// they agree to float rounding) and every twin against the exact float reference (within the
// error that int8 activations can cause, computed per case). Odd row counts, odd token counts,
// and rows of several lengths, including lengths a SIMD kernel must decline.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <utility>
#include <vector>

#include "base/rng.h"
#include "base/thread_pool.h"
#include "kernels/activation_quant.h"
#include "kernels/cpu/registry.h"
#include "kernels/matmul.h"
#include "kernels/weight_kernels.h"
#include "tensor/row_interleave.h"
#include "tensor/quantize.h"

namespace limarp::kernels {
namespace {

struct Case {
  DType type;
  std::vector<int64_t> lengths;
};

const Case kCases[] = {
    {DType::kF32, {16, 48, 112, 172, 4096}}, {DType::kF16, {16, 48, 113, 4096}},
    {DType::kBF16, {16, 47, 112, 4096}},  {DType::kQ8_0, {64, 96, 128, 320, 4096}},
    {DType::kQ4_0, {128, 96, 384, 4096}}, {DType::kQ4_K, {256, 768, 4096}},
    {DType::kQ6_K, {256, 768, 4096}},     {DType::kNF4, {64, 192, 4096}},
};

struct Problem {
  Tensor w;                // quantized weights [rows, n]
  RowLayout layout = RowLayout::kStored;  // how w's rows lie
  std::vector<float> wf;   // the same dequantized
  std::vector<float> x;    // [tokens, n]
  int64_t rows, n, tokens;
};

Problem make_problem(DType type, int64_t rows, int64_t n, int64_t tokens, uint64_t seed) {
  Rng rng(seed);
  Problem p{Tensor(), RowLayout::kStored, {}, {}, rows, n, tokens};
  std::vector<float> w(static_cast<size_t>(rows * n));
  for (auto& v : w) v = static_cast<float>(rng.normal());
  // Outliers and an all-zero row, as real weights have.
  w[3] = 9.0f;
  for (int64_t i = 0; i < n; ++i) w[static_cast<size_t>((rows / 2) * n + i)] = 0.0f;
  p.w = std::move(quantize(w.data(), {rows, n}, type).value());
  const Tensor wf = std::move(dequantize(p.w.view()).value());
  p.wf.assign(wf.f32(), wf.f32() + wf.elements());
  p.x.resize(static_cast<size_t>(tokens * n));
  for (auto& v : p.x) v = static_cast<float>(rng.normal()) * (rng.uniform() < 0.05 ? 8.0f : 1.0f);
  return p;
}

std::vector<float> run(const WeightKernel& k, const Problem& p) {
  const size_t ldx = k.prepared_bytes(p.n);
  AlignedBuffer px = allocate_aligned(ldx * static_cast<size_t>(p.tokens));
  for (int64_t t = 0; t < p.tokens; ++t) k.prepare(p.x.data() + t * p.n, p.n, px.get() + t * ldx);
  std::vector<float> y(static_cast<size_t>(p.rows * p.tokens), NAN);
  const auto* w = static_cast<const uint8_t*>(p.w.view().data);
  k.tile(y.data(), p.rows, w, p.w.view().row_stride(), p.rows, px.get(), ldx, p.tokens, p.n);
  return y;
}

// Exact reference in double, and the bound on what int8 activations may change: per block of
// act_block elements (0: float activations), |x - x~| <= d_x / 2 with d_x = max|x| / 127.
void reference(const Problem& p, int64_t act_block, std::vector<double>& y, std::vector<double>& bound) {
  y.assign(static_cast<size_t>(p.rows * p.tokens), 0);
  bound.assign(y.size(), 0);
  const bool int_activations = act_block > 0;
  const int64_t block = int_activations ? act_block : kActBlock;
  for (int64_t t = 0; t < p.tokens; ++t)
    for (int64_t r = 0; r < p.rows; ++r) {
      double s = 0, b = 0;
      for (int64_t i = 0; i < p.n; i += block) {
        double amax = 0, wsum = 0;
        for (int64_t j = i; j < i + block && j < p.n; ++j) {
          const double xv = p.x[static_cast<size_t>(t * p.n + j)], wv = p.wf[static_cast<size_t>(r * p.n + j)];
          s += xv * wv;
          amax = std::max(amax, std::fabs(xv));
          wsum += std::fabs(wv);
        }
        if (int_activations) b += amax / 127.0 / 2.0 * wsum;
      }
      y[static_cast<size_t>(t * p.rows + r)] = s;
      bound[static_cast<size_t>(t * p.rows + r)] = b;
    }
}

double magnitude(const Problem& p, int64_t t, int64_t r) {
  double m = 0;
  for (int64_t i = 0; i < p.n; ++i)
    m += std::fabs(static_cast<double>(p.x[static_cast<size_t>(t * p.n + i)]) * p.wf[static_cast<size_t>(r * p.n + i)]);
  return m;
}

// The levels above scalar that this build has and this CPU runs (x86: AVX2, AVX-512; AArch64:
// NEON, NEON with dot product).
std::span<const KernelLevel> simd_levels() { return runnable_levels().subspan(1); }

// The scalar kernels of a type: the fallback first, then twins of SIMD kernels that quantize
// activations otherwise (act_block).
// The scalar kernels of a type in the stored layout (the regrouped ones have their own test).
std::vector<const WeightKernel*> scalar_twins(DType type) {
  size_t count = 0;
  const WeightKernel* table = scalar_kernels(&count);
  std::vector<const WeightKernel*> out;
  for (size_t i = 0; i < count; ++i)
    if (table[i].type == type && table[i].layout == RowLayout::kStored) out.push_back(&table[i]);
  return out;
}

TEST(WeightKernels, EveryLevelMatchesItsScalarTwinAndTheReference) {
  int checked_simd = 0;
  for (const Case& c : kCases) {
    const std::vector<const WeightKernel*> twins = scalar_twins(c.type);
    ASSERT_FALSE(twins.empty()) << dtype_name(c.type);
    for (int64_t n : c.lengths) {
      if (n % twins[0]->n_multiple != 0) continue;
      for (int64_t tokens : {1, 3, 9}) {
        const Problem p = make_problem(c.type, 13, n, tokens, static_cast<uint64_t>(n * 31 + tokens));
        for (const WeightKernel* twin : twins) {
          const int64_t act_block = twin->prepared_bytes(256) != 256 * 4 ? twin->act_block : 0;
          std::vector<double> ref, bound;
          reference(p, act_block, ref, bound);
          const auto scalar = run(*twin, p);
          for (size_t i = 0; i < scalar.size(); ++i) {
            const double mag = magnitude(p, static_cast<int64_t>(i) / p.rows, static_cast<int64_t>(i) % p.rows);
            ASSERT_LE(std::fabs(scalar[i] - ref[i]), bound[i] + 1e-5 * mag + 1e-6)
                << twin->name << " n=" << n << " tokens=" << tokens << " i=" << i;
          }
        }
        for (const KernelLevel& level : simd_levels()) {
          const WeightKernel* k = find_kernel(c.type, level.isa);
          if (!k || n % k->n_multiple != 0) continue;
          const WeightKernel* twin = find_twin(*k);
          ASSERT_NE(twin, nullptr) << k->name;
          const auto scalar = run(*twin, p), simd = run(*k, p);
          for (size_t i = 0; i < simd.size(); ++i) {
            const double mag = magnitude(p, static_cast<int64_t>(i) / p.rows, static_cast<int64_t>(i) % p.rows);
            ASSERT_LE(std::fabs(simd[i] - scalar[i]), 2e-6 * mag + 1e-6)
                << k->name << " vs " << twin->name << " n=" << n << " tokens=" << tokens << " i=" << i;
          }
          ++checked_simd;
        }
      }
    }
  }
  if (simd_levels().empty()) GTEST_SKIP() << "no SIMD level on this CPU; only scalar twins checked";
  EXPECT_GT(checked_simd, 20);
}

// The same Q4_0, Q8_0, Q4_K or Q6_K problem with its weights regrouped 16 rows at a time.
Problem interleaved(const Problem& p) {
  Problem q{Tensor(p.w.view().type, {p.rows, p.n}), RowLayout::kInterleaved16, p.wf, p.x, p.rows, p.n, p.tokens};
  interleave_rows(p.w.view().type, static_cast<const uint8_t*>(p.w.view().data), p.rows, p.n, q.w.bytes());
  return q;
}

TEST(WeightKernels, InterleavedLayoutsRoundTripEveryRow) {
  for (DType stored : {DType::kQ4_0, DType::kQ8_0, DType::kQ4_K, DType::kQ6_K}) {
    const Problem p = make_problem(stored, 48, 3 * dtype_traits(stored).block_elems, 1, 5);
    const Problem q = interleaved(p);
    EXPECT_EQ(q.w.nbytes(), p.w.nbytes());
    std::vector<uint8_t> row(p.w.view().row_stride());
    for (int64_t r = 0; r < p.rows; ++r) {
      deinterleave_row(q.w.view().type, q.w.bytes(), r, p.n, row.data());
      ASSERT_EQ(0, std::memcmp(row.data(), p.w.view().row(r), row.size())) << dtype_name(stored) << " row " << r;
    }
  }
}

// Their scalar twins are the stored types' twins on regathered rows (bit for bit); the AVX2 and
// AVX-512 kernels, with lanes as rows, agree with them to float rounding. Three groups of 16
// rows, tokens past a tile of 4 (AVX2: 2), and rows of one block up to Llama-2's widths.
TEST(WeightKernels, InterleavedLayoutsMatchTheStoredOnes) {
  int checked_simd = 0;
  const std::pair<DType, std::vector<int64_t>> cases[] = {
      {DType::kQ4_0, {32, 96, 384, 4096}}, {DType::kQ8_0, {32, 96, 384, 4096}}, {DType::kQ4_K, {256, 768, 11008}},
      {DType::kQ6_K, {256, 768, 11008}}};
  constexpr RowLayout kRows16 = RowLayout::kInterleaved16;
  for (const auto& [stored_type, lengths] : cases) {
    const WeightKernel* stored = find_kernel(stored_type, Isa::kScalar);
    const WeightKernel* twin = find_kernel(stored_type, Isa::kScalar, kRows16);
    ASSERT_NE(twin, nullptr);
    std::vector<const WeightKernel*> simd;
    for (const KernelLevel& level : simd_levels())
      if (find_kernel(stored_type, level.isa, kRows16)) simd.push_back(find_kernel(stored_type, level.isa, kRows16));
    for (int64_t n : lengths)
      for (int64_t tokens : {1, 3, 5, 9}) {
        const Problem p = make_problem(stored_type, 48, n, tokens, static_cast<uint64_t>(n + tokens));
        const Problem q = interleaved(p);
        const auto want = run(*stored, p);
        EXPECT_EQ(run(*twin, q), want) << twin->name << " n=" << n << " tokens=" << tokens;
        for (const WeightKernel* k : simd) {
          // A kernel with other activation scales than the stored type's has a twin of its own,
          // checked here against the exact result.
          const WeightKernel* own = find_twin(*k);
          ASSERT_NE(own, nullptr) << k->name;
          const auto own_want = own == twin ? want : run(*own, q);
          if (own != twin) {
            std::vector<double> ref, bound;
            reference(p, own->act_block, ref, bound);
            for (size_t i = 0; i < ref.size(); ++i) {
              const double mag = magnitude(p, static_cast<int64_t>(i) / p.rows, static_cast<int64_t>(i) % p.rows);
              ASSERT_LE(std::fabs(own_want[i] - ref[i]), bound[i] + 1e-5 * mag + 1e-6)
                  << own->name << " n=" << n << " tokens=" << tokens << " i=" << i;
            }
          }
          const auto got = run(*k, q);
          for (size_t i = 0; i < got.size(); ++i) {
            const double mag = magnitude(p, static_cast<int64_t>(i) / p.rows, static_cast<int64_t>(i) % p.rows);
            ASSERT_LE(std::fabs(got[i] - own_want[i]), 2e-6 * mag + 1e-6)
                << k->name << " vs " << own->name << " n=" << n << " tokens=" << tokens << " i=" << i;
          }
          ++checked_simd;
        }
      }
  }
  if (checked_simd == 0) GTEST_SKIP() << "no SIMD level on this CPU; only the scalar twins checked";
}

// Speculative decoding verifies drafted tokens in one call and must pick what decoding them one
// at a time picks: a token's result may not depend on how many tokens share the call (bit for
// bit, every level, both layouts).
TEST(WeightKernels, ATokensResultDoesNotDependOnTheBatch) {
  int checked = 0;
  for (const KernelLevel& level : runnable_levels())
    for (const Case& c : kCases)
      for (RowLayout layout : {RowLayout::kStored, RowLayout::kInterleaved16}) {
        const WeightKernel* k = find_kernel(c.type, level.isa, layout);
        if (!k || k->isa != level.isa) continue;
        const int64_t n = 4096, tokens = 9;
        Problem stored = make_problem(c.type, 48, n, tokens, 17);
        const Problem p = layout == RowLayout::kStored ? std::move(stored) : interleaved(stored);
        const std::vector<float> all = run(*k, p);
        int64_t differing = 0;
        for (int64_t t = 0; t < tokens; ++t) {
          Problem one{Tensor(), p.layout, {}, {}, p.rows, n, 1};
          one.w = Tensor(p.w.view().type, {p.rows, n});
          std::memcpy(one.w.bytes(), p.w.view().data, p.w.nbytes());
          one.x.assign(p.x.begin() + t * n, p.x.begin() + (t + 1) * n);
          const std::vector<float> single = run(*k, one);
          for (int64_t r = 0; r < p.rows; ++r) differing += single[static_cast<size_t>(r)] != all[static_cast<size_t>(t * p.rows + r)];
        }
        EXPECT_EQ(differing, 0) << k->name << ": results of " << tokens << " tokens in one call differ from one at a time";
        ++checked;
      }
  EXPECT_GE(checked, 8);
}

TEST(WeightKernels, SelectionFallsBackForLengthsASimdKernelDeclines) {
  // 96 is a whole number of Q4_0 blocks but not of the AVX-512 kernel's 128-element groups.
  const WeightKernel* k = select_kernel(DType::kQ4_0, 96);
  ASSERT_NE(k, nullptr);
  EXPECT_EQ(96 % k->n_multiple, 0);
  for (DType t : {DType::kF32, DType::kF16, DType::kBF16, DType::kQ8_0, DType::kQ4_0, DType::kQ4_K, DType::kQ6_K,
                  DType::kNF4, DType::kQ5_K, DType::kQ3_K, DType::kQ2_K, DType::kQ4_1, DType::kQ5_0, DType::kQ5_1})
    EXPECT_NE(select_kernel(t, 256, Isa::kScalar), nullptr) << dtype_name(t);
}

// Decoding's few-token path (shares per thread, stolen chunks) and the prompt path (token
// chunks) alike.
TEST(Matmul, ThreadCountDoesNotChangeResults) {
  for (DType type : {DType::kF32, DType::kQ4_0, DType::kQ6_K})
    for (int64_t tokens : {1, 3, 70}) {
      const Problem p = make_problem(type, 203, tokens == 70 ? 512 : 4096, tokens, 99);  // 70 spans two token chunks
      std::vector<float> y1(static_cast<size_t>(p.rows * p.tokens)), y3(y1.size());
      ThreadPool one(1), three(3);
      matmul(y1.data(), p.x.data(), p.w.view(), p.tokens, one);
      matmul(y3.data(), p.x.data(), p.w.view(), p.tokens, three);
      EXPECT_EQ(y1, y3) << dtype_name(type) << " tokens " << tokens;
      // Layout: y[t, o].
      std::vector<double> ref, bound;
      reference(p, type != DType::kF32 ? select_kernel(type, p.n)->act_block : 0, ref, bound);
      for (size_t i = 0; i < y1.size(); ++i)
        ASSERT_NEAR(y1[i], ref[i], bound[i] + 1e-3) << dtype_name(type) << " tokens " << tokens << " " << i;
    }
}

}  // namespace
}  // namespace limarp::kernels

namespace limarp::kernels {
namespace {

// The AMX prompt GEMM against the exact reference: operands are rounded to bf16 (relative
// error <= 2^-9 each), so |error| <= 2^-8 · Σ|x·w| (plus f32 accumulation, far smaller).
// Odd token and row counts exercise partial tiles and panels; one thread packs three 32-row
// panels per task (the last task partial), two threads one. Both give the same bits.
TEST(Matmul, AmxMatrixEngineMatchesReferenceWithinBf16Rounding) {
  const MatrixEngine* amx = nullptr;
  for (const KernelLevel& level : runnable_levels())
    if (level.matrix_engine && level.matrix_engine->available()) amx = level.matrix_engine;
  if (!amx) GTEST_SKIP() << "no AMX-BF16 on this CPU";
  const std::pair<DType, RowLayout> cases[] = {
      {DType::kQ4_0, RowLayout::kStored},         {DType::kQ8_0, RowLayout::kStored},
      {DType::kQ4_K, RowLayout::kStored},         {DType::kBF16, RowLayout::kStored},
      {DType::kF32, RowLayout::kStored},  // training's bf16 products: whole panels read in place
      {DType::kQ4_0, RowLayout::kInterleaved16}, {DType::kQ8_0, RowLayout::kInterleaved16},
      {DType::kQ4_K, RowLayout::kInterleaved16}, {DType::kQ6_K, RowLayout::kInterleaved16}};
  for (const auto& [type, layout] : cases) {
    // The interleaved layouts need whole groups of 16 rows: 208 = 6.5 panels of 32.
    const bool rows16 = layout == RowLayout::kInterleaved16;
    Problem stored = make_problem(type, rows16 ? 208 : 203, 512, 70, 7);
    const Problem p = rows16 ? interleaved(stored) : std::move(stored);
    TensorView w = p.w.view();
    w.layout = p.layout;
    auto run_with = [&](int threads) {
      std::vector<float> y(static_cast<size_t>(p.rows * p.tokens));
      ThreadPool pool(threads);
      amx->run(y.data(), p.rows, p.x.data(), p.tokens, w, pool);
      return y;
    };
    const std::vector<float> y = run_with(1);
    EXPECT_EQ(run_with(2), y) << dtype_name(type);
    std::vector<double> ref, bound;
    reference(p, 0, ref, bound);
    for (size_t i = 0; i < y.size(); ++i) {
      const double mag = magnitude(p, static_cast<int64_t>(i) / p.rows, static_cast<int64_t>(i) % p.rows);
      ASSERT_LE(std::fabs(y[i] - ref[i]), 0x1p-8 * mag + 1e-5) << dtype_name(type) << " i=" << i;
    }
  }
}

// The AMX backward product, dx += dy · W, against the exact reference within bf16 rounding,
// accumulated onto dx's old values; the sum runs over W's rows, so W has a whole number of
// k-steps of rows and any number of columns (a partial column panel for f32; 3 whole panels of
// 256 for the K-quants, fewer panels than tasks, so token ranges split too). Identical for any
// thread count.
TEST(Matmul, AmxTransposedProductMatchesReferenceWithinBf16Rounding) {
  const MatrixEngine* amx = nullptr;
  for (const KernelLevel& level : runnable_levels())
    if (level.matrix_engine && level.matrix_engine->available()) amx = level.matrix_engine;
  if (!amx) GTEST_SKIP() << "no AMX-BF16 on this CPU";
  const std::pair<DType, int64_t> cases[] = {{DType::kF32, 200},  {DType::kF16, 96},   {DType::kBF16, 64},
                                             {DType::kQ8_0, 160}, {DType::kQ4_0, 96},  {DType::kQ4_K, 768},
                                             {DType::kQ6_K, 512}, {DType::kNF4, 192}};
  for (const auto& [type, n] : cases) {
    // W [96, n] from the problem; dy [tokens, 96] and dx [tokens, n] drawn here.
    const Problem p = make_problem(type, 96, n, 70, 11);
    Rng rng(static_cast<uint64_t>(n));
    std::vector<float> dy(static_cast<size_t>(p.tokens * p.rows));
    for (auto& v : dy) v = static_cast<float>(rng.normal());
    std::vector<float> dx0(static_cast<size_t>(p.tokens * n));
    for (auto& v : dx0) v = static_cast<float>(rng.normal());
    auto run_with = [&](int threads) {
      std::vector<float> dx = dx0;
      ThreadPool pool(threads);
      amx->run_transposed(dx.data(), n, dy.data(), p.tokens, p.w.view(), pool);
      return dx;
    };
    const std::vector<float> dx = run_with(2);
    for (int64_t t = 0; t < p.tokens; ++t)
      for (int64_t i = 0; i < n; ++i) {
        double ref = dx0[static_cast<size_t>(t * n + i)], mag = 0;
        for (int64_t o = 0; o < p.rows; ++o) {
          const double prod = static_cast<double>(dy[static_cast<size_t>(t * p.rows + o)]) *
                              p.wf[static_cast<size_t>(o * n + i)];
          ref += prod;
          mag += std::fabs(prod);
        }
        ASSERT_LE(std::fabs(dx[static_cast<size_t>(t * n + i)] - ref), 0x1p-8 * mag + 1e-5)
            << dtype_name(type) << " t=" << t << " i=" << i;
      }
    EXPECT_EQ(run_with(1), dx) << dtype_name(type);
    EXPECT_EQ(run_with(3), dx) << dtype_name(type);
  }
}

}  // namespace
}  // namespace limarp::kernels
