// The kernel registry: for each instruction-set level this build holds and this CPU can run,
// one KernelLevel of function pointers, and the level every kernel call uses, chosen once at
// start-up (the best runnable one, capped by LIMARP_ISA=scalar|avx2|avx512|neon|dotprod).
//
// A build holds the portable level (cpu/generic) and the levels of the target's processor
// family only (cpu/x86 or cpu/arm, picked by CMake from CMAKE_SYSTEM_PROCESSOR). Within a family
// levels are ordered, lowest first; a slot a level leaves empty is taken from the level below,
// so every slot of a registered level is callable except the optional ones marked below.
//
//   const KernelLevel& k = active_level();
//   k.gemm(c, ldc, a, b, ldb, M, N, K, alpha);
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/thread_pool.h"
#include "kernels/cpu/cpu_features.h"
#include "kernels/gemm.h"
#include "kernels/lora.h"
#include "kernels/weight_kernels.h"
#include "tensor/tensor.h"

namespace limarp::kernels {

// Many-token products on a matrix engine (x86: AMX) with bf16 operands and f32 sums, used by
// kernels/matmul.cc for prompts and, when a training run asks for bf16, for training's products.
struct MatrixEngine {
  int64_t k_step;    // the summed dimension must be a multiple of this
  int64_t min_rows;  // and the matrix at least this tall (forward product)
  bool (*available)();  // asked at first use: it may request the engine's state from the OS
  // y[t * ldy + o] = Σ_i x[t, i] · W[o, i] for t < T and every row o of w.
  void (*run)(float* y, int64_t ldy, const float* x, int64_t T, const TensorView& w, ThreadPool& pool);
  // dx[t * ldx + i] += Σ_o dy[t, o] · W[o, i] for t < T and every column i of w (stored layout,
  // w.rows() a multiple of k_step).
  void (*run_transposed)(float* dx, int64_t ldx, const float* dy, int64_t T, const TensorView& w, ThreadPool& pool);
};

struct KernelLevel {
  Isa isa = Isa::kScalar;
  // Weight kernels of this level only (select_kernel walks down the levels).
  std::span<const WeightKernel> weight_kernels;
  // kernels/gemm.h's core.
  void (*gemm)(float* c, int64_t ldc, StridedMatrix a, const float* b, int64_t ldb, int64_t M, int64_t N, int64_t K,
               float alpha) = nullptr;
  // kernels/vector_math.h
  void (*exp_shifted_inplace)(float* x, float shift, int64_t n) = nullptr;
  float (*max_f32)(const float* x, int64_t n) = nullptr;
  double (*sum_f32)(const float* x, int64_t n) = nullptr;
  uint64_t (*sum_u64)(const uint64_t* p, size_t n) = nullptr;
  // kernels/kv_rows.h
  void (*weighted_row_sum)(float* out, const float* w, const void* rows, DType type, int64_t n, int64_t dim) = nullptr;
  void (*store_kv_row)(void* dst, DType type, const float* src, int64_t n) = nullptr;
  void (*load_kv_row)(float* dst, const void* src, DType type, int64_t n) = nullptr;
  // Optional (may stay null on every level). Dropout over a prefix of the elements: returns how
  // many it handled; kernels/lora.cc does the rest with the scalar loop.
  int64_t (*dropout_prefix)(float* out, uint8_t* keep, const float* x, const Dropout& d, int64_t n) = nullptr;
  // out[e] += v[e] where keep[e] != 0, over a prefix; returns how many it handled.
  int64_t (*masked_add_prefix)(float* out, const float* v, const uint8_t* keep, int64_t n) = nullptr;
  const MatrixEngine* matrix_engine = nullptr;
};

// Runnable levels, lowest (scalar) first. Built once, on first use, from cpu_features() and
// LIMARP_ISA; immutable afterwards.
std::span<const KernelLevel> runnable_levels();
// The level kernels use; the same object for the whole run.
const KernelLevel& active_level();
inline Isa active_isa() { return active_level().isa; }
// The runnable level named isa, or null when this build or this CPU lacks it.
const KernelLevel* find_level(Isa isa);
// "kernels: avx512 (avx2 fma ...)": the best runnable level and the features detected.
std::string describe_kernels();

// A level's weight-kernel table as its defining file hands it out.
inline std::span<const WeightKernel> weight_table(const WeightKernel* (*get)(size_t* count)) {
  size_t count = 0;
  const WeightKernel* table = get(&count);
  return {table, count};
}

// What cpu/generic and the target's family contribute (one family file is compiled in).
KernelLevel generic_level();
// The family's levels above scalar that this CPU runs, lowest first; empty slots are allowed.
std::vector<KernelLevel> family_levels(const CpuFeatures& features);

}  // namespace limarp::kernels
