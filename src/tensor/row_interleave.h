// Q4_0, Q8_0, Q4_K and Q6_K weights regrouped in memory so the decode kernels read sixteen rows at
// once, one row per 32-bit vector lane (a view's RowLayout::kInterleaved16; its type stays the
// stored one). In the stored
// layout each row's blocks lie one after another, so a SIMD kernel must gather every block's
// code bytes and spread its scales over the lanes its products land in; here sixteen rows'
// scales convert with one instruction and each code vector multiplies a broadcast of four
// activations. Measured on the project machine (one core, cache-resident 256 x 4096 matrix):
// Q4_0 1.5-1.8x the stored-layout kernel, Q4_K 1.6-4.7x (median 2.3x, six runs).
//
// A stored block is F f16 fields followed by C bytes (C a multiple of 4): Q4_0 one scale and 16
// code bytes (two 4-bit codes each), Q8_0 one scale and 32 codes, Q4_K d and dmin, then 12
// bytes of packed 6-bit sub-block scales and mins and 128 code bytes; Q6_K's one field, d,
// ends its stored block (after 128 bytes of low code bits, 64 of high bits and 16 scales) and
// moves to the front of the column like the others'. Per group of 16 rows and
// per block column b, 16 blocks' bytes, the same as the 16 rows' blocks, so a matrix keeps its
// size and group g starts at byte g * 16 * row_bytes:
//   [32f, 32f + 32)              field f of each row, row r at bytes 32f + 2r..32f + 2r + 1
//   [32F + 64j, 32F + 64j + 64)  for j < C / 4: bytes 4j..4j+3 of row r at bytes 4r..4r+3
// The layout exists only in memory (the model layer regroups at load); files keep the stored one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "tensor/dtype.h"

namespace limarp {

constexpr int64_t kInterleaveRows = 16;

// Whether a type has the 16-row layout (q4_0, q8_0, q4_k, q6_k).
bool has_interleaved_layout(DType type);

// Bytes of one block column of a 16-row group.
size_t interleaved_column_bytes(DType type);

// src: a [rows, n] matrix of the stored type; rows a multiple of 16, n of its block; no overlap.
void interleave_rows(DType stored, const uint8_t* src, int64_t rows, int64_t n, uint8_t* dst);

// Row r of an interleaved [rows, n] matrix of `type`, back in the stored layout's blocks.
void deinterleave_row(DType type, const uint8_t* data, int64_t r, int64_t n, uint8_t* out);

}  // namespace limarp
