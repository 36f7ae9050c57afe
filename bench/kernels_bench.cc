// Weight-kernel throughput: one matmul of a 4096 x 4096 matrix (Llama-2-7B's attention shape)
// against 1 token (decode) and 64 tokens (prompt processing), for every weight type, at the
// best instruction-set level and at the scalar twin, side by side in one run. Reported as
// weight bytes/s (decode) and multiply-adds/s (prefill).
//
// attention_decode/*: one decoded token's attention over the KV cache (see below);
// attention_prompt/*: a prompt batch's attention, after 0 and 1536 cached positions.
//
// gemm/*: the f32 core of training's products and prompt attention, one thread, at each
// instruction-set level the CPU has.
//
// training_product/*: a training step's products with an f32 base weight [out, in] over a
// micro-batch of 2048 tokens, 2 threads: forward (y = x·Wᵀ) and backward (dx += dy·W), in f32
// and, where the CPU has a matrix engine (AMX), in bf16 (kernels/matmul.h: ProductPrecision).
//
// lora/*: one LoRA branch (dropout 0.1) of a training step over 2048 tokens, forward and
// backward, 2 threads: rank 8 at stories110M's [out, in] shapes (what a small adapter costs
// next to the base products above) and the card's rank 256 on a 7B attention projection; f32,
// and bf16 (the factor products on the matrix engine where the CPU has one and the widths
// allow).
//
// kernel_compute/*: the decode kernels alone on a 64 x 4096 matrix that stays in one core's
// L2 cache (at most 278 KiB, Q8_0; Zen 3 has 512 KiB per core), so memory bandwidth does not
// hide their cost: Q4_0, Q8_0, Q4_K and Q6_K in the stored layout and the first three
// regrouped 16 rows at a time (tensor/row_interleave.h), as a machine with more bandwidth per
// core than this one would see them.
#include <benchmark/benchmark.h>

#include <cstring>
#include <vector>

#include "base/rng.h"
#include "base/thread_pool.h"
#include "kernels/attention.h"
#include "kernels/bandwidth.h"
#include "kernels/cpu/registry.h"
#include "kernels/gemm.h"
#include "kernels/kv_rows.h"
#include "kernels/lora.h"
#include "kernels/matmul.h"
#include "kernels/weight_kernels.h"
#include "tensor/quantize.h"
#include "tensor/row_interleave.h"

namespace limarp {
namespace {

Tensor random_weights(DType type, int64_t rows, int64_t cols) {
  Rng rng(1);
  std::vector<float> w(static_cast<size_t>(rows * cols));
  for (auto& v : w) v = rng.fast_normal() * 0.02f;
  return std::move(quantize(w.data(), {rows, cols}, type).value());
}

// A copy of w in the layout the model computes it in: regrouped 16 rows at a time where its
// type has such a layout (tensor/row_interleave.h), else as stored.
struct LaidOut {
  Tensor w;
  RowLayout layout = RowLayout::kStored;
  TensorView view() const {
    TensorView v = w.view();
    v.layout = layout;
    return v;
  }
};

LaidOut regrouped_copy(const Tensor& w) {
  const TensorView v = w.view();
  const bool rows16 = has_interleaved_layout(v.type);
  LaidOut out{Tensor(v.type, v.shape), rows16 ? RowLayout::kInterleaved16 : RowLayout::kStored};
  if (rows16) interleave_rows(v.type, w.bytes(), v.rows(), v.cols(), out.w.bytes());
  else std::memcpy(out.w.bytes(), w.bytes(), w.nbytes());
  return out;
}

void BM_Matmul(benchmark::State& state, DType type, kernels::Isa isa, int threads) {
  const int64_t n = 4096, rows = 4096, tokens = state.range(0);
  const Tensor w = random_weights(type, rows, n);
  std::vector<float> x(static_cast<size_t>(tokens * n), 0.5f), y(static_cast<size_t>(tokens * rows));
  const kernels::WeightKernel* k = kernels::select_kernel(type, n, isa);
  state.SetLabel(k ? k->name : "none");
  ThreadPool pool(threads);
  // matmul picks the active level; the scalar runs go through the kernel table directly.
  const size_t ldx = k->prepared_bytes(n);
  AlignedBuffer px = allocate_aligned(ldx * static_cast<size_t>(tokens));
  for (auto _ : state) {
    if (isa == kernels::active_isa()) {
      kernels::matmul(y.data(), x.data(), w.view(), tokens, pool);
    } else {
      for (int64_t t = 0; t < tokens; ++t) k->prepare(x.data() + t * n, n, px.get() + t * ldx);
      k->tile(y.data(), rows, w.bytes(), w.view().row_stride(), rows, px.get(), ldx, tokens, n);
    }
    benchmark::DoNotOptimize(y.data());
  }
  state.counters["weight_GB/s"] = benchmark::Counter(static_cast<double>(w.nbytes()) * static_cast<double>(state.iterations()) / 1e9,
                                                     benchmark::Counter::kIsRate);
  state.counters["GMAC/s"] = benchmark::Counter(static_cast<double>(n * rows * tokens) * static_cast<double>(state.iterations()) / 1e9,
                                                benchmark::Counter::kIsRate);
}

void BM_KernelCompute(benchmark::State& state, DType stored, bool interleave) {
  const int64_t n = 4096, rows = 64, tokens = state.range(0);
  const Tensor w = random_weights(stored, rows, n);
  const LaidOut regrouped = interleave ? regrouped_copy(w) : LaidOut{};
  const RowLayout layout = interleave ? RowLayout::kInterleaved16 : RowLayout::kStored;
  const uint8_t* data = interleave ? regrouped.w.bytes() : w.bytes();
  const kernels::WeightKernel* k = kernels::select_kernel(stored, n, layout);
  state.SetLabel(k->name);
  std::vector<float> x(static_cast<size_t>(tokens * n), 0.5f), y(static_cast<size_t>(tokens * rows));
  const size_t ldx = k->prepared_bytes(n);
  AlignedBuffer px = allocate_aligned(ldx * static_cast<size_t>(tokens));
  for (int64_t t = 0; t < tokens; ++t) k->prepare(x.data() + t * n, n, px.get() + t * ldx);
  for (auto _ : state) {
    k->tile(y.data(), rows, data, w.view().row_stride(), rows, px.get(), ldx, tokens, n);
    benchmark::DoNotOptimize(y.data());
  }
  const double bytes = static_cast<double>(w.nbytes() * tokens) * static_cast<double>(state.iterations());
  state.counters["weight_GB/s"] = benchmark::Counter(bytes / 1e9, benchmark::Counter::kIsRate);
}

// prepare_act/*: one activation row made ready for a kernel (quantized to int8 blocks for the
// integer kernels), as every decode matmul does on the calling thread before the rows split:
// time the other threads wait.
void BM_PrepareAct(benchmark::State& state, DType stored, bool interleave) {
  const int64_t n = state.range(0);
  const kernels::WeightKernel* k =
      kernels::select_kernel(stored, n, interleave ? RowLayout::kInterleaved16 : RowLayout::kStored);
  state.SetLabel(k->name);
  Rng rng(3);
  std::vector<float> x(static_cast<size_t>(n));
  for (float& v : x) v = rng.fast_normal();
  AlignedBuffer px = allocate_aligned(k->prepared_bytes(n));
  for (auto _ : state) {
    k->prepare(x.data(), n, px.get());
    benchmark::DoNotOptimize(px.get());
  }
  state.counters["elements/s"] =
      benchmark::Counter(static_cast<double>(n) * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

// matmul_from_memory/*: decoding's matmuls with the weights coming from memory: one token
// through 4096 x 4096 matrices in the layout the model computes (regrouped where the type has
// one), copies of one matrix laid out over at least 512 MB so no cache holds them. `of_probe`
// divides by the read bandwidth that `limarp bench` measures, so types compare by how close
// each gets to what memory delivers.
void BM_MatmulFromMemory(benchmark::State& state, DType stored, int threads) {
  const int64_t n = 4096, rows = 4096;
  const Tensor w = random_weights(stored, rows, n);
  const size_t bytes = w.nbytes();
  const int copies = static_cast<int>((size_t{512} << 20) / bytes) + 1;
  std::vector<LaidOut> mats;
  for (int c = 0; c < copies; ++c) mats.push_back(regrouped_copy(w));
  ThreadPool pool(threads);
  const double probe = kernels::measure_read_bandwidth(pool).gb_per_s;
  std::vector<float> x(static_cast<size_t>(n), 0.5f), y(static_cast<size_t>(rows));
  state.SetLabel(kernels::select_kernel(stored, n, mats[0].layout)->name);
  size_t next = 0;
  for (auto _ : state) {
    kernels::matmul(y.data(), x.data(), mats[next].view(), 1, pool);
    next = (next + 1) % mats.size();
    benchmark::DoNotOptimize(y.data());
  }
  const double gb = static_cast<double>(bytes) * static_cast<double>(state.iterations()) / 1e9;
  state.counters["weight_GB/s"] = benchmark::Counter(gb, benchmark::Counter::kIsRate);
  state.counters["of_probe"] = benchmark::Counter(probe > 0 ? gb / probe : 0, benchmark::Counter::kIsRate);
}

// `rows` rows of `width` random normal values in a KV cache's element type.
AlignedBuffer random_kv_rows(DType type, int64_t rows, int64_t width, Rng& rng) {
  const size_t row_bytes = kernels::kv_bytes(type, width);
  AlignedBuffer out = allocate_aligned(row_bytes * static_cast<size_t>(rows));
  std::vector<float> row(static_cast<size_t>(width));
  for (int64_t r = 0; r < rows; ++r) {
    for (auto& x : row) x = rng.fast_normal();
    kernels::store_kv_row(out.get() + static_cast<size_t>(r) * row_bytes, type, row.data(), width);
  }
  return out;
}

// Llama-2-7B's attention heads: 32 of 128, no grouping.
constexpr kernels::AttentionShape kLlama7bHeads{32, 32, 128};

// Decoding one token's attention over a KV cache of `positions` tokens, Llama-2-7B's heads (32
// of 128), in each KV element type. 32 layers' caches (1-2 GiB), visited in turn, so the reads come
// from memory as in a real model rather than from cache. Reported as cache bytes read per second.
void BM_AttentionDecode(benchmark::State& state, DType type) {
  const kernels::AttentionShape shape = kLlama7bHeads;
  const int64_t positions = state.range(0), layers = 32, kv = shape.n_kv_heads * shape.head_dim;
  const size_t layer_bytes = kernels::kv_bytes(type, positions * kv);
  Rng rng(3);
  AlignedBuffer keys = random_kv_rows(type, positions * layers, kv, rng);
  AlignedBuffer values = random_kv_rows(type, positions * layers, kv, rng);
  std::vector<float> q(static_cast<size_t>(kv), 0.1f), out(q.size());
  ThreadPool pool(2);
  int64_t layer = 0;
  for (auto _ : state) {
    const size_t offset = layer_bytes * static_cast<size_t>(layer);
    kernels::attention(out.data(), q.data(), {keys.get() + offset, type, positions * shape.head_dim},
                       {values.get() + offset, type, positions * shape.head_dim}, 1, positions - 1, shape, pool);
    benchmark::DoNotOptimize(out.data());
    layer = (layer + 1) % layers;
  }
  state.SetLabel(dtype_name(type));
  const double bytes = 2.0 * static_cast<double>(layer_bytes) * static_cast<double>(state.iterations());
  state.counters["kv_GB/s"] = benchmark::Counter(bytes / 1e9, benchmark::Counter::kIsRate);
}

// A prompt batch's attention (the blocked path): `new` queries after `cached` positions of
// context, Llama-2-7B's heads, one layer. Compute-bound; reported as tokens per second.
void BM_AttentionPrompt(benchmark::State& state, DType type) {
  const kernels::AttentionShape shape = kLlama7bHeads;
  const int64_t fresh = state.range(0), cached = state.range(1), positions = cached + fresh;
  const int64_t kv = shape.n_kv_heads * shape.head_dim;
  Rng rng(5);
  AlignedBuffer keys = random_kv_rows(type, positions, kv, rng), values = random_kv_rows(type, positions, kv, rng);
  std::vector<float> q(static_cast<size_t>(fresh * kv)), out(q.size());
  for (auto& x : q) x = 0.1f * rng.fast_normal();
  ThreadPool pool(2);
  for (auto _ : state) {
    kernels::attention(out.data(), q.data(), {keys.get(), type, positions * shape.head_dim},
                       {values.get(), type, positions * shape.head_dim}, fresh, cached, shape, pool);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetLabel(dtype_name(type));
  state.counters["tok/s"] =
      benchmark::Counter(static_cast<double>(fresh * state.iterations()), benchmark::Counter::kIsRate);
}

// C[256, 1024] += A[256, 1024] · B[1024, 1024]: a LoRA-sized weight-gradient product.
void BM_Gemm(benchmark::State& state, kernels::Isa isa) {
  const int64_t M = 256, N = 1024, K = 1024;
  Rng rng(6);
  std::vector<float> a(static_cast<size_t>(M * K)), b(static_cast<size_t>(K * N)), c(static_cast<size_t>(M * N));
  for (auto* v : {&a, &b})
    for (auto& x : *v) x = rng.fast_normal();
  for (auto _ : state) {
    kernels::gemm_accumulate_at(isa, c.data(), N, {a.data(), K, 1}, b.data(), N, M, N, K, 1.0f);
    benchmark::DoNotOptimize(c.data());
  }
  state.counters["GFLOP/s"] = benchmark::Counter(2e-9 * static_cast<double>(M * N * K * state.iterations()),
                                                 benchmark::Counter::kIsRate);
}

void BM_TrainingProduct(benchmark::State& state, bool backward, kernels::ProductPrecision precision) {
  const int64_t out = state.range(0), in = state.range(1), tokens = 2048;
  const Tensor w = random_weights(DType::kF32, out, in);
  std::vector<float> x(static_cast<size_t>(tokens * (backward ? out : in)), 0.5f);
  std::vector<float> y(static_cast<size_t>(tokens * (backward ? in : out)));
  ThreadPool pool(2);
  for (auto _ : state) {
    if (backward) kernels::matmul_transposed_accumulate(y.data(), x.data(), w.view(), tokens, pool, precision);
    else kernels::matmul(y.data(), x.data(), w.view(), tokens, pool, precision);
    benchmark::DoNotOptimize(y.data());
  }
  state.counters["GFLOP/s"] = benchmark::Counter(2e-9 * static_cast<double>(out * in * tokens * state.iterations()),
                                                 benchmark::Counter::kIsRate);
}

void BM_Lora(benchmark::State& state, bool backward, kernels::ProductPrecision precision) {
  const int64_t out = state.range(0), in = state.range(1), rank = state.range(2), tokens = 2048;
  Rng rng(3);
  auto filled = [&](int64_t n) {
    std::vector<float> v(static_cast<size_t>(n));
    for (auto& x : v) x = rng.fast_normal();
    return v;
  };
  const std::vector<float> x = filled(tokens * in), dy = filled(tokens * out), a = filled(rank * in),
                           b = filled(out * rank);
  std::vector<float> y(static_cast<size_t>(tokens * out)), dx(static_cast<size_t>(tokens * in)),
      ax(static_cast<size_t>(tokens * rank)), da(a.size()), db(b.size()), xd(x.size()),
      dax(ax.size());
  std::vector<uint8_t> keep(x.size());
  const kernels::LoraFactors f{a.data(), b.data(), rank, in, out, 2.0f};
  const kernels::Dropout d{0.1f, 42};
  const kernels::LoraScratch scratch{xd.data(), dax.data(), keep.data()};
  ThreadPool pool(2);
  kernels::lora_forward(y.data(), ax.data(), x.data(), f, d, tokens, scratch, pool, precision);
  for (auto _ : state) {
    if (backward)
      kernels::lora_backward(dx.data(), da.data(), db.data(), dy.data(), x.data(), ax.data(), f, d, tokens, scratch,
                             pool, precision);
    else kernels::lora_forward(y.data(), ax.data(), x.data(), f, d, tokens, scratch, pool, precision);
    benchmark::DoNotOptimize(dx.data());
  }
}

void register_all() {
  for (bool backward : {false, true})
    for (auto precision : {kernels::ProductPrecision::kF32, kernels::ProductPrecision::kBF16}) {
      const std::string name = std::string("lora/") + (backward ? "backward/" : "forward/") +
                               (precision == kernels::ProductPrecision::kBF16 ? "bf16" : "f32");
      benchmark::RegisterBenchmark(name.c_str(), BM_Lora, backward, precision)
          ->Args({768, 768, 8})->Args({2048, 768, 8})->Args({768, 2048, 8})->Args({4096, 4096, 256})
          ->Unit(benchmark::kMillisecond)->UseRealTime();
    }
  for (bool backward : {false, true})
    for (auto precision : {kernels::ProductPrecision::kF32, kernels::ProductPrecision::kBF16}) {
      const std::string name = std::string("training_product/") + (backward ? "backward/" : "forward/") +
                               (precision == kernels::ProductPrecision::kBF16 ? "bf16" : "f32");
      // stories110M's attention, feed-forward up and down projections, and a 7B attention one.
      benchmark::RegisterBenchmark(name.c_str(), BM_TrainingProduct, backward, precision)
          ->Args({768, 768})->Args({2048, 768})->Args({768, 2048})->Args({4096, 4096})
          ->Unit(benchmark::kMillisecond)->UseRealTime();
    }
  for (const kernels::KernelLevel& level : kernels::runnable_levels())
    benchmark::RegisterBenchmark((std::string("gemm/") + kernels::isa_name(level.isa)).c_str(), BM_Gemm, level.isa)
        ->Unit(benchmark::kMillisecond)->UseRealTime();
  for (DType t : {DType::kF32, DType::kF16})
    benchmark::RegisterBenchmark((std::string("attention_prompt/") + dtype_name(t)).c_str(), BM_AttentionPrompt, t)
        ->Args({512, 0})->Args({512, 1536})->Unit(benchmark::kMillisecond)->UseRealTime();

  for (DType t : {DType::kF32, DType::kF16, DType::kQ8_0, DType::kQ4_0})
    benchmark::RegisterBenchmark((std::string("attention_decode/") + dtype_name(t)).c_str(), BM_AttentionDecode, t)
        ->Arg(512)->Arg(2048)->Unit(benchmark::kMicrosecond)->UseRealTime();
  if (kernels::active_isa() != kernels::Isa::kScalar)
    for (DType t : {DType::kQ4_0, DType::kQ8_0, DType::kQ4_K, DType::kQ6_K})
      for (bool interleave : {false, true}) {
        if (interleave && !has_interleaved_layout(t)) continue;
        const std::string name =
            std::string("kernel_compute/") + dtype_name(t) + (interleave ? "/interleaved" : "/stored");
        benchmark::RegisterBenchmark(name.c_str(), BM_KernelCompute, t, interleave)->Arg(1)->Arg(4)->Arg(8)->Arg(16)->UseRealTime();
      }
  for (DType t : {DType::kQ4_0, DType::kQ8_0, DType::kQ4_K, DType::kQ6_K})
    for (bool interleave : {false, true}) {
      if (interleave && !has_interleaved_layout(t)) continue;
      const std::string name = std::string("prepare_act/") + dtype_name(t) + (interleave ? "/interleaved" : "/stored");
      benchmark::RegisterBenchmark(name.c_str(), BM_PrepareAct, t, interleave)->Arg(4096)->Arg(11008)->UseRealTime();
    }
  const DType types[] = {DType::kQ4_0, DType::kQ8_0, DType::kQ4_K, DType::kQ6_K, DType::kF16, DType::kBF16, DType::kF32, DType::kNF4};
  for (DType t : types)
    for (int threads : {1, 2}) {
      const std::string name = std::string("matmul/") + dtype_name(t) + "/threads:" + std::to_string(threads);
      benchmark::RegisterBenchmark(name.c_str(), BM_Matmul, t, kernels::active_isa(), threads)
          ->Arg(1)->Arg(64)->Arg(512)->Unit(benchmark::kMillisecond)->UseRealTime();
    }
  for (DType t : {DType::kQ4_0, DType::kQ8_0, DType::kQ4_K, DType::kQ6_K})
    for (int threads : {1, 2}) {
      const std::string name =
          std::string("matmul_from_memory/") + dtype_name(t) + "/threads:" + std::to_string(threads);
      benchmark::RegisterBenchmark(name.c_str(), BM_MatmulFromMemory, t, threads)
          ->Unit(benchmark::kMicrosecond)
          ->UseRealTime();
    }
  for (DType t : types) {
    const std::string name = std::string("matmul_scalar_twin/") + dtype_name(t);
    benchmark::RegisterBenchmark(name.c_str(), BM_Matmul, t, kernels::Isa::kScalar, 1)
        ->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();
  }
}

}  // namespace
}  // namespace limarp

int main(int argc, char** argv) {
  limarp::register_all();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  return 0;
}
