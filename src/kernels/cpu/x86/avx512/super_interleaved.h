// What the AVX-512 kernels on regrouped K-quants (Q4_K, Q6_K: superblocks of 256 values,
// activations prepared per 256 by kernels/super_act.h) share: the tile that walks groups of 16
// rows against runs of up to 4 tokens, and the kernel-table entry. A kernel supplies its
// Groups: a type whose run<TB>(y, ldy, w, px, ldx, superblocks) computes one group of rows for
// TB tokens.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/cpu/x86/avx512/simd_util.h"
#include "kernels/super_act.h"
#include "kernels/weight_kernels.h"

namespace limarp::kernels::avx512 {

constexpr int64_t kSuperValues = 256;

template <class Groups>
void super_interleaved_tile(float* y, int64_t ldy, const uint8_t* w, size_t ldw, int64_t rows, const uint8_t* px,
                            size_t ldx, int64_t tokens, int64_t n) {
  interleaved_groups<4>(y, ldy, w, ldw, rows, px, ldx, tokens, [&]<int TB>(float* yg, const uint8_t* wg, const uint8_t* pg) {
    Groups::template run<TB>(yg, ldy, wg, pg, ldx, n / kSuperValues);
  });
}

template <class Groups>
constexpr WeightKernel super_interleaved_kernel(const char* name, DType type) {
  return {name, type, Isa::kAvx512, kSuperValues, super_act_bytes, prepare_super_act, super_interleaved_tile<Groups>,
          static_cast<int>(kSuperValues), RowLayout::kInterleaved16};
}

}  // namespace limarp::kernels::avx512
