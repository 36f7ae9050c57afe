// Q4_0 weights regrouped in memory so the decode kernel reads sixteen rows at once, one row per
// 32-bit vector lane (DType::kQ4_0R16). In the stored layout each row's blocks lie one after
// another, so a SIMD kernel must gather every block's 16 code bytes and spread its scale over
// the lanes its products land in; here sixteen rows' scales convert with one instruction and
// each code vector multiplies a broadcast of four activations. Measured on the project machine
// (one core, cache-resident 256 x 4096 matrix): 1.5-1.8x the stored-layout kernel.
//
// Per group of 16 rows and per block column b (32 elements), 288 bytes, the same 18 bytes per
// block as Q4_0, so a matrix keeps its size and group g starts at byte g * 16 * row_bytes:
//   [0, 32)                 the f16 scales, row r at bytes 2r..2r+1
//   [32 + 64j, 96 + 64j)    for j = 0..3: code bytes 4j..4j+3 of row r at bytes 4r..4r+3
// The layout exists only in memory (the model layer repacks at load); files keep Q4_0.
#pragma once

#include <cstddef>
#include <cstdint>

namespace limarp {

constexpr int64_t kQ4_0R16Rows = 16;
constexpr size_t kQ4_0R16BlockBytes = 288;

// src: a Q4_0 [rows, n] matrix; rows a multiple of 16, n of 32; src and dst do not overlap.
void interleave_q4_0(const uint8_t* src, int64_t rows, int64_t n, uint8_t* dst);

// Row r of an interleaved [rows, n] matrix, back in Q4_0 blocks (n / 32 blocks of 18 bytes).
void deinterleave_q4_0_row(const uint8_t* data, int64_t r, int64_t n, uint8_t* out);

}  // namespace limarp
