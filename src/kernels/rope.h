// Rotary position embeddings. Two layouts of the rotary pairs exist in the wild (see
// docs/formats.md): interleaved (2i, 2i+1) as Meta/GGUF store q/k, and rotate-half
// (i, i + d/2) as Hugging Face stores them. Rotating in the file's own layout avoids
// permuting weights at load time.
#pragma once

#include <cstdint>
#include <vector>

namespace limarp {

enum class RopeLayout { kInterleaved, kHalf };

namespace kernels {

// cos/sin tables for one position: cos_sin[2*i], cos_sin[2*i+1] for pair i < head_dim/2.
// Angles are computed in double: pos * theta^(-2i/head_dim).
void rope_cos_sin(float* cos_sin, int64_t pos, int64_t head_dim, float theta);

// Rotates x[n_heads * head_dim] in place (one token) with a table from rope_cos_sin.
void rope_apply(float* x, const float* cos_sin, int64_t n_heads, int64_t head_dim, RopeLayout layout);
// The inverse rotation (gradient of rope_apply).
void rope_apply_inverse(float* x, const float* cos_sin, int64_t n_heads, int64_t head_dim, RopeLayout layout);

}  // namespace kernels
}  // namespace limarp
