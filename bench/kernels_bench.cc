// Weight-kernel throughput: one matmul of a 4096 x 4096 matrix (Llama-2-7B's attention shape)
// against 1 token (decode) and 64 tokens (prompt processing), for every weight type, at the
// best instruction-set level and at the scalar twin, side by side in one run. Reported as
// weight bytes/s (decode) and multiply-adds/s (prefill).
//
// kernel_compute/*: the decode kernels alone on a 256 x 4096 matrix that stays in one core's
// L2 cache, so memory bandwidth does not hide their cost: Q4_0 and Q8_0 in the stored layout
// and regrouped 16 rows at a time (tensor/row_interleave.h), as a machine with more bandwidth
// per core than this one would see them.
#include <benchmark/benchmark.h>

#include <vector>

#include "base/rng.h"
#include "base/thread_pool.h"
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
  const int64_t n = 4096, rows = 256, tokens = state.range(0);
  const Tensor w = random_weights(stored, rows, n);
  Tensor regrouped;
  DType type = stored;
  const uint8_t* data = w.bytes();
  if (interleave) {
    type = *interleaved_type(stored);
    regrouped = Tensor(type, {rows, n});
    interleave_rows(stored, w.bytes(), rows, n, regrouped.bytes());
    data = regrouped.bytes();
  }
  const kernels::WeightKernel* k = kernels::select_kernel(type, n);
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

void register_all() {
  if (kernels::active_isa() == kernels::Isa::kAvx512)
    for (DType t : {DType::kQ4_0, DType::kQ8_0})
      for (bool interleave : {false, true}) {
        const std::string name =
            std::string("kernel_compute/") + dtype_name(t) + (interleave ? "/interleaved" : "/stored");
        benchmark::RegisterBenchmark(name.c_str(), BM_KernelCompute, t, interleave)->Arg(1)->Arg(4)->UseRealTime();
      }
  const DType types[] = {DType::kQ4_0, DType::kQ8_0, DType::kQ4_K, DType::kQ6_K, DType::kF16, DType::kBF16, DType::kF32, DType::kNF4};
  for (DType t : types)
    for (int threads : {1, 2}) {
      const std::string name = std::string("matmul/") + dtype_name(t) + "/threads:" + std::to_string(threads);
      benchmark::RegisterBenchmark(name.c_str(), BM_Matmul, t, kernels::active_isa(), threads)
          ->Arg(1)->Arg(64)->Arg(512)->Unit(benchmark::kMillisecond)->UseRealTime();
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
