// Every Vulkan shader against the CPU backend's result on random inputs of awkward sizes: rows
// that are not a multiple of the workgroup or of the matmul's 8-row tiles, odd head counts,
// grouped-query heads, a prompt block then decoding. Runs on whatever Vulkan device is first
// (lavapipe in CI); without one it skips and says so (a failure under CI=true, where setup
// installs lavapipe).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <list>
#include <random>

#include "backend/compute_device.h"
#include "backend/cpu_backend.h"
#include "kernels/activation_quant.h"
#include "kernels/rope.h"
#include "support/test_support.h"
#include "tensor/quantize.h"

namespace limarp {
namespace {

// x · Wᵀ as the device computes quantized products: activations rounded to 8-bit blocks of 32
// (the CPU's quantize_act), times the dequantized weights, summed in double.
std::vector<float> reference_q8_act(const TensorView& w, const std::vector<float>& x, int64_t rows) {
  const Tensor wf = dequantize(w).value();
  const int64_t n_out = w.rows(), n_in = w.cols();
  std::vector<float> y(static_cast<size_t>(rows * n_out));
  int8_t q[kernels::kActBlock];
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t b = 0; b < n_in / kernels::kActBlock; ++b) {
      const kernels::ActBlock a = kernels::quantize_act_block(x.data() + r * n_in + b * kernels::kActBlock, q);
      for (int64_t o = 0; o < n_out; ++o) {
        double s = 0;
        for (int i = 0; i < kernels::kActBlock; ++i)
          s += static_cast<double>(wf.f32()[o * n_in + b * kernels::kActBlock + i]) * q[i];
        y[static_cast<size_t>(r * n_out + o)] += static_cast<float>(s * a.d);
      }
    }
  return y;
}

std::vector<float> random_floats(size_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

float max_abs(const std::vector<float>& v) {
  float m = 0;
  for (float x : v) m = std::max(m, std::fabs(x));
  return m;
}

class VulkanOps : public ::testing::Test {
 protected:
  void SetUp() override {
    auto be = open_device_backend({DeviceSpec::Kind::kVulkan, 0});
    if (!be.ok()) {
      // CI's setup installs the Vulkan headers, glslc and lavapipe: there a missing device is a failure.
      if (testing::in_ci() && vulkan_available_in_build()) FAIL() << "CI=true but no Vulkan device: " << be.error().message();
      GTEST_SKIP() << "no Vulkan backend here: " << be.error().message();
    }
    gpu_ = std::move(be.value());
  }

  // Puts rows of host data into workspace `slot` of both backends (through embed, the one
  // operation that reads host memory).
  std::pair<float*, float*> put(uint32_t slot, const std::vector<float>& data, int64_t width) {
    const int64_t rows = static_cast<int64_t>(data.size()) / width;
    tables_.push_back(data);
    const TensorView table{DType::kF32, {rows, width}, tables_.back().data(), data.size() * sizeof(float)};
    std::vector<int32_t> ids(static_cast<size_t>(rows));
    for (int64_t r = 0; r < rows; ++r) ids[static_cast<size_t>(r)] = static_cast<int32_t>(r);
    float* c = cpu_.workspace(slot, static_cast<int64_t>(data.size()));
    float* g = gpu_->workspace(slot, static_cast<int64_t>(data.size()));
    cpu_.embed(c, table, ids.data(), rows);
    gpu_->embed(g, table, ids.data(), rows);
    return {c, g};
  }

  void check_matmuls();
  std::vector<float> cpu_rows(const float* p, int64_t n) { return {p, p + n}; }
  std::vector<float> gpu_rows(const float* p, int64_t n) {
    std::vector<float> out(static_cast<size_t>(n));
    gpu_->read_rows(out.data(), p, n);
    return out;
  }

  ThreadPool pool_{2};
  CpuBackend cpu_{pool_};
  std::unique_ptr<Backend> gpu_;
  std::list<std::vector<float>> tables_;
};

// Both matmul paths: subgroup reductions (where the device has them) and the shared-memory
// fallback, forced by LIMARP_VULKAN_NO_SUBGROUPS.
TEST_F(VulkanOps, MatmulEveryWeightTypeMatchesTheCpu) {
  for (int fallback = 0; fallback < 2; ++fallback) {
    if (fallback) {
      setenv("LIMARP_VULKAN_NO_SUBGROUPS", "1", 1);
      auto be = open_device_backend({DeviceSpec::Kind::kVulkan, 0});
      unsetenv("LIMARP_VULKAN_NO_SUBGROUPS");
      ASSERT_TRUE(be.ok()) << be.error().message();
      gpu_ = std::move(be.value());
    }
    check_matmuls();
  }
}

void VulkanOps::check_matmuls() {
  struct Case {
    DType type;
    int64_t n_in;
    double bound;  // max |gpu - cpu| / max |cpu|
  };
  // q8_0 and q4_0 use the CPU's activation quantization, so only the summation order differs
  // from the CPU backend. The K-quants' CPU kernels scale activations per 256 elements (the
  // device per 32), so they are checked against the exact sum the device computes: their
  // dequantized weights times the 8-bit activations (reference_q8_act). NF4 has no shader and
  // runs as f16: its bound is f16's rounding of the weights against the CPU.
  const Case cases[] = {{DType::kF32, 96, 1e-5},  {DType::kF16, 96, 1e-5},  {DType::kQ8_0, 96, 1e-5},
                        {DType::kQ4_0, 160, 1e-5}, {DType::kQ4_K, 512, 1e-5}, {DType::kQ6_K, 256, 1e-5},
                        {DType::kNF4, 128, 5e-3}};
  for (const Case& c : cases) {
    const int64_t n_out = 67;
    const std::vector<float> wf = random_floats(static_cast<size_t>(n_out * c.n_in), 7);
    auto wq = convert_tensor(TensorView{DType::kF32, {n_out, c.n_in}, wf.data(), wf.size() * 4}, c.type);
    ASSERT_TRUE(wq.ok()) << wq.error().message();
    const TensorView w = wq->view();
    for (int64_t rows : {1, 5, 13, 16, 40}) {
      auto [xc, xg] = put(0, random_floats(static_cast<size_t>(rows * c.n_in), 11 + rows), c.n_in);
      float* yc = cpu_.workspace(1, rows * n_out);
      float* yg = gpu_->workspace(1, rows * n_out);
      gpu_->matmul(yg, xg, w, rows);
      const bool kquant = c.type == DType::kQ4_K || c.type == DType::kQ6_K;
      // From 16 rows on (when the inner size is whole blocks), prompts take the tiled shader,
      // which multiplies f32 activations by the dequantized weights: so does the reference.
      const bool tiled = rows >= 16 && c.n_in % 32 == 0 && c.type != DType::kNF4;
      std::vector<float> a;
      if (tiled) {
        const Tensor dequantized = dequantize(w).value();
        cpu_.matmul(yc, xc, dequantized.view(), rows);
        a = cpu_rows(yc, rows * n_out);
      } else if (kquant) {
        a = reference_q8_act(w, tables_.back(), rows);
      } else {
        cpu_.matmul(yc, xc, w, rows);
        a = cpu_rows(yc, rows * n_out);
      }
      const auto b = gpu_rows(yg, rows * n_out);
      EXPECT_LE(testing::max_abs_diff(a, b) / max_abs(a), c.bound) << dtype_name(c.type) << " rows " << rows;
    }
  }
}

// A model's matrices leave the device with the model: a model loaded afterwards whose tensors
// land at the same host addresses (a file mapped where the last one was) gets its own weights,
// not the stale copies. The second "model" here is new contents in the same host buffer.
TEST_F(VulkanOps, PreparedMatricesAreReleasedWithTheirModel) {
  const int64_t n_out = 40, n_in = 128, rows = 3;
  auto make = [&](uint32_t seed) {
    const std::vector<float> wf = random_floats(static_cast<size_t>(n_out * n_in), seed);
    return convert_tensor(TensorView{DType::kF32, {n_out, n_in}, wf.data(), wf.size() * 4}, DType::kQ8_0).value();
  };
  const Tensor a = make(21), b = make(22);
  std::vector<uint8_t> host(a.view().nbytes);
  auto [xc, xg] = put(0, random_floats(static_cast<size_t>(rows * n_in), 5), n_in);
  auto product = [&](const TensorView& w) {
    float* yc = cpu_.workspace(1, rows * n_out);
    float* yg = gpu_->workspace(1, rows * n_out);
    cpu_.matmul(yc, xc, w, rows);
    gpu_->matmul(yg, xg, w, rows);
    const auto want = cpu_rows(yc, rows * n_out);
    return testing::max_abs_diff(want, gpu_rows(yg, rows * n_out)) / max_abs(want);
  };
  for (const Tensor* model : {&a, &b}) {
    std::memcpy(host.data(), model->view().data, host.size());
    TensorView w = model->view();
    w.data = host.data();
    TensorView* matrices[] = {&w};
    PreparedWeights kept = gpu_->prepare_weights(matrices, {"test model", false});
    EXPECT_EQ(kept.matrices, 1);
    EXPECT_LE(product(w), 1e-5) << (model == &a ? "first" : "second") << " model";
  }
}

// Embedding rows gathered on the device from each table type's device layout, repeated and
// out-of-order tokens included (f32 tables are every other test's input path).
TEST_F(VulkanOps, EmbeddingRowsOfEveryTableTypeMatchTheCpu) {
  const int64_t vocab = 50, dim = 256;
  const std::vector<float> values = random_floats(static_cast<size_t>(vocab * dim), 21);
  const std::vector<int32_t> tokens = {3, 0, 49, 3, 17};
  const auto rows = static_cast<int64_t>(tokens.size());
  for (DType type : {DType::kF16, DType::kQ8_0, DType::kQ4_0, DType::kQ4_K, DType::kQ6_K}) {
    auto table = convert_tensor(TensorView{DType::kF32, {vocab, dim}, values.data(), values.size() * 4}, type);
    ASSERT_TRUE(table.ok()) << table.error().message();
    float* c = cpu_.workspace(0, rows * dim);
    float* g = gpu_->workspace(0, rows * dim);
    cpu_.embed(c, table->view(), tokens.data(), rows);
    gpu_->embed(g, table->view(), tokens.data(), rows);
    const auto a = cpu_rows(c, rows * dim), b = gpu_rows(g, rows * dim);
    EXPECT_LE(testing::max_abs_diff(a, b) / max_abs(a), 1e-6) << dtype_name(type);
  }
}

TEST_F(VulkanOps, RmsnormSwigluAddAxpyMatchTheCpu) {
  const int64_t rows = 3, dim = 200;
  const std::vector<float> weight = random_floats(static_cast<size_t>(dim), 3);
  auto [xc, xg] = put(0, random_floats(static_cast<size_t>(rows * dim), 4), dim);
  auto [bc, bg] = put(1, random_floats(static_cast<size_t>(rows * dim), 5), dim);
  float* oc = cpu_.workspace(2, rows * dim);
  float* og = gpu_->workspace(2, rows * dim);
  cpu_.rmsnorm(oc, xc, weight.data(), rows, dim, 1e-5f);
  gpu_->rmsnorm(og, xg, weight.data(), rows, dim, 1e-5f);
  EXPECT_LE(testing::max_abs_diff(cpu_rows(oc, rows * dim), gpu_rows(og, rows * dim)), 1e-5);

  const int64_t n = rows * dim - 7;  // not a multiple of the workgroup
  cpu_.swiglu(oc, xc, bc, n);
  gpu_->swiglu(og, xg, bg, n);
  EXPECT_LE(testing::max_abs_diff(cpu_rows(oc, n), gpu_rows(og, n)), 1e-5);
  cpu_.add(oc, xc + 1, bc, n);  // unaligned offsets
  gpu_->add(og, xg + 1, bg, n);
  EXPECT_LE(testing::max_abs_diff(cpu_rows(oc, n), gpu_rows(og, n)), 1e-6);
  cpu_.axpy(oc, 0.37f, bc, n);
  gpu_->axpy(og, 0.37f, bg, n);
  EXPECT_LE(testing::max_abs_diff(cpu_rows(oc, n), gpu_rows(og, n)), 1e-6);
  cpu_.zero(oc + 3, 10);
  gpu_->zero(og + 3, 10);
  EXPECT_EQ(cpu_rows(oc, n), gpu_rows(og, n));
}

TEST_F(VulkanOps, RopeBothLayoutsMatchTheCpu) {
  const int64_t rows = 5, heads = 3, hd = 10;
  const std::vector<float> inv_freq = {1.0f, 0.3f, 0.1f, 0.03f, 0.01f};
  const RotaryTable table{inv_freq.data(), hd, 1.0f};
  for (RopeLayout layout : {RopeLayout::kInterleaved, RopeLayout::kHalf}) {
    auto [xc, xg] = put(0, random_floats(static_cast<size_t>(rows * heads * hd), 8), heads * hd);
    float* cc = cpu_.workspace(1, rows * hd);
    float* cg = gpu_->workspace(1, rows * hd);
    cpu_.rope_table(cc, table, 17, rows);
    gpu_->rope_table(cg, table, 17, rows);
    cpu_.rope(xc, cc, rows, heads, hd, layout);
    gpu_->rope(xg, cg, rows, heads, hd, layout);
    EXPECT_LE(testing::max_abs_diff(cpu_rows(xc, rows * heads * hd), gpu_rows(xg, rows * heads * hd)), 1e-5);
  }
}

// A prompt block (blocked attention on the CPU), then single decoded tokens, over caches of
// both element types, grouped-query heads, a context not a multiple of the tile; then removing
// positions (the cache shift) and reading rows back.
TEST_F(VulkanOps, AttentionOverTheKvCacheMatchesTheCpu) {
  const kernels::AttentionShape shape{6, 2, 48};
  const int64_t dim = shape.n_heads * shape.head_dim, kv = shape.n_kv_heads * shape.head_dim;
  for (DType type : {DType::kF32, DType::kF16}) {
    const KvShape ks{2, shape.n_kv_heads, shape.head_dim, 200, type};
    auto cpu_cache = cpu_.make_kv_storage(ks);
    auto gpu_cache = gpu_->make_kv_storage(ks);
    int64_t pos = 0;
    for (int64_t rows : {int64_t{70}, int64_t{1}, int64_t{1}, int64_t{29}}) {
      const uint32_t seed = static_cast<uint32_t>(pos + 100 * static_cast<int>(type));
      auto [qc, qg] = put(0, random_floats(static_cast<size_t>(rows * dim), seed), dim);
      auto [kc, kg] = put(1, random_floats(static_cast<size_t>(rows * kv), seed + 1), kv);
      auto [vc, vg] = put(2, random_floats(static_cast<size_t>(rows * kv), seed + 2), kv);
      for (int64_t layer = 0; layer < 2; ++layer) {
        cpu_cache->store(layer, pos, rows, kc, vc);
        gpu_cache->store(layer, pos, rows, kg, vg);
      }
      float* oc = cpu_.workspace(3, rows * dim);
      float* og = gpu_->workspace(3, rows * dim);
      cpu_.attention_cached(oc, qc, *cpu_cache, 1, rows, pos, shape);
      gpu_->attention_cached(og, qg, *gpu_cache, 1, rows, pos, shape);
      EXPECT_LE(testing::max_abs_diff(cpu_rows(oc, rows * dim), gpu_rows(og, rows * dim)), 2e-5)
          << dtype_name(type) << " at " << pos;
      pos += rows;
    }
    std::vector<float> inv_freq(static_cast<size_t>(shape.head_dim / 2));
    kernels::rope_inv_freq(inv_freq.data(), shape.head_dim, 10000.0f);
    const RotaryTable table{inv_freq.data(), shape.head_dim, 1.0f};
    cpu_cache->remove(10, 40, pos, table, RopeLayout::kHalf);
    gpu_cache->remove(10, 40, pos, table, RopeLayout::kHalf);
    std::vector<float> a(static_cast<size_t>(kv)), b(static_cast<size_t>(kv));
    auto expect_same_rows = [&](const char* when) {
      for (int64_t p : {int64_t{0}, int64_t{10}, int64_t{70}, int64_t{71}}) {
        for (int which = 0; which < 2; ++which) {
          cpu_cache->read(1, which, p, a.data());
          gpu_cache->read(1, which, p, b.data());
          EXPECT_EQ(a, b) << when << ": position " << p << (which ? " value" : " key");
        }
      }
    };
    expect_same_rows("after the shift");
    // Rows from host memory (a restored slot file), then read back after the cached read.
    const std::vector<float> hk = random_floats(static_cast<size_t>(3 * kv), 77), hv = random_floats(static_cast<size_t>(3 * kv), 78);
    cpu_cache->store_host(1, 70, 3, hk.data(), hv.data());
    gpu_cache->store_host(1, 70, 3, hk.data(), hv.data());
    expect_same_rows("after a host store");
  }
}

}  // namespace
}  // namespace limarp
