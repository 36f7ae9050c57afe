// Row loops of attention over the KV cache, for the cache's element types (f32, f16, q8_0 and
// q4_0 blocks of 32 with one f16 scale each, as llama.cpp's quantized caches hold). Decoding
// reads every cached key and value of the sequence once per token; at a few thousand tokens
// that is as many bytes as the weights, so these loops must stream at memory speed. (Scores
// against the keys are a matrix-vector product: the f32/f16 weight kernels compute them.)
// The AVX2 versions (F16C converts halves in hardware) serve AVX2 and AVX-512 machines; the
// scalar twins are their reference.
#pragma once

#include <cstddef>
#include <cstdint>

#include "tensor/dtype.h"

namespace limarp::kernels {

// True for the element types a KV cache may hold, and the bytes of n elements of one (n a
// multiple of 32 for the block types).
bool is_kv_type(DType type);
size_t kv_bytes(DType type, int64_t n);
// Whether heads of head_dim elements can be stored as `type` (the block types need whole
// blocks per head); the error names the type and the model's head size.
bool kv_type_fits(DType type, int64_t head_dim);

// out[0..dim) = sum_p w[p] * rows[p] for n rows of `dim` elements stored back to back (out is
// overwritten).
void weighted_row_sum(float* out, const float* w, const void* rows, DType type, int64_t n, int64_t dim);
void weighted_row_sum_scalar(float* out, const float* w, const void* rows, DType type, int64_t n, int64_t dim);

// Conversions between f32 and the cache's type (f16: round to nearest even; q8_0, q4_0: each
// block scaled by its largest magnitude, as the weight quantizers do).
void store_kv_row(void* dst, DType type, const float* src, int64_t n);
void load_kv_row(float* dst, const void* src, DType type, int64_t n);
void store_kv_row_scalar(void* dst, DType type, const float* src, int64_t n);
void load_kv_row_scalar(float* dst, const void* src, DType type, int64_t n);

}  // namespace limarp::kernels
