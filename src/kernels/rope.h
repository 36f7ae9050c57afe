// Rotary position embeddings. Two layouts of the rotary pairs exist in the wild (see
// docs/formats.md): interleaved (2i, 2i+1) as Meta/GGUF store q/k, and rotate-half
// (i, i + d/2) as Hugging Face stores them. Rotating in the file's own layout avoids
// permuting weights at load time.
//
// The rotation is orthogonal, so its backward is the inverse rotation (rope_backward).
// Templates on the float type: float for the model, double for the reference build tests
// differentiate numerically.
#pragma once

#include <cstdint>
#include <vector>

namespace limarp {

enum class RopeLayout { kInterleaved, kHalf };

namespace kernels {

// The unscaled inverse frequencies inv_freq[i] = theta^(-2i/head_dim), i < head_dim/2, in
// float as reference implementations compute them. Scaled tables start from these
// (model/rope_scaling.h).
void rope_inv_freq(float* inv_freq, int64_t head_dim, float theta);

// cos/sin tables for one position: cos_sin[2*i], cos_sin[2*i+1] for pair i < head_dim/2, both
// times mscale (YaRN's attention factor; 1 otherwise). Angles are computed in double:
// pos * inv_freq[i].
void rope_cos_sin(float* cos_sin, int64_t pos, const float* inv_freq, int64_t head_dim, float mscale = 1.0f);

// Rotates x[n_heads * head_dim] in place (one token) with a table from rope_cos_sin.
template <typename F>
void rope_apply(F* x, const float* cos_sin, int64_t n_heads, int64_t head_dim, RopeLayout layout);
// The inverse rotation (also the gradient of rope_apply, with the same table: a table scaled
// by mscale gives mscale times the inverse, which is that gradient).
template <typename F>
void rope_apply_inverse(F* x, const float* cos_sin, int64_t n_heads, int64_t head_dim, RopeLayout layout);

// dx = Rᵀ · dout, in place on the gradient of one token's q or k.
template <typename F>
inline void rope_backward(F* dx, const float* cos_sin, int64_t n_heads, int64_t head_dim, RopeLayout layout) {
  rope_apply_inverse(dx, cos_sin, n_heads, head_dim, layout);
}

}  // namespace kernels
}  // namespace limarp
