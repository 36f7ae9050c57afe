#version 450
// Prompt-sized products: y[r, o] = alpha * dot(x[r, :], w[o, :]) + beta * y[r, o] over tiles of
// 64 output rows by 32 batch rows. Each step of 32 along the inner dimension dequantizes one
// block of every weight row of the tile and the matching activations into shared memory, and
// each thread accumulates a 4 x 8 patch of the tile from there, so a weight block is read once
// per 32 batch rows instead of once per 8 (matmul.comp). Activations stay f32, as in the CPU's
// prompt path. Weight layouts as in matmul.comp (W_F32, W_F16, W_Q8_0, W_Q4_0, W_Q4_K, W_Q6_K).
#include "common.glsl"

#define TO 64   // output rows per tile
#define TR 32   // batch rows per tile
#define TK 32   // inner step: one quantization block

layout(push_constant) uniform Params {
  uint n_in, n_out, rows;
  uint x_off, y_off;
  float alpha, beta;
} p;

layout(std430, binding = 0) buffer Y { float y[]; };
layout(std430, binding = 1) readonly buffer X { float x[]; };
#include "dequant.glsl"

shared float ws[TO][TK + 1];
shared float xs[TR][TK + 1];

void main() {
  const uint o0 = gl_WorkGroupID.x * TO, r0 = gl_WorkGroupID.y * TR;
  const uint tid = gl_LocalInvocationID.x;
  const uint to = (tid % 16) * 4, tr = (tid / 16) * 8;  // this thread's 4 x 8 patch
  float acc[4][8];
  [[unroll]] for (uint i = 0; i < 4; ++i)
    [[unroll]] for (uint j = 0; j < 8; ++j) acc[i][j] = 0.0;

  for (uint b = 0; b < p.n_in / TK; ++b) {
    // 64 threads: one weight row each; activations 16 elements each (32 rows x 32).
    {
      const uint o = o0 + tid;
      for (uint k = 0; k < TK; ++k) ws[tid][k] = o < p.n_out ? weight_at(o, b, k, p.n_in) : 0.0;
      const uint xr = tid / 2, k0 = (tid % 2) * 16;
      const uint r = r0 + xr;
      for (uint k = 0; k < 16; ++k) xs[xr][k0 + k] = r < p.rows ? x[p.x_off + r * p.n_in + b * TK + k0 + k] : 0.0;
    }
    barrier();
    for (uint k = 0; k < TK; ++k) {
      float wv[4];
      [[unroll]] for (uint i = 0; i < 4; ++i) wv[i] = ws[to + i][k];
      [[unroll]] for (uint j = 0; j < 8; ++j) {
        const float xv = xs[tr + j][k];
        [[unroll]] for (uint i = 0; i < 4; ++i) acc[i][j] += wv[i] * xv;
      }
    }
    barrier();
  }
  [[unroll]] for (uint j = 0; j < 8; ++j) {
    const uint r = r0 + tr + j;
    if (r >= p.rows) continue;
    [[unroll]] for (uint i = 0; i < 4; ++i) {
      const uint o = o0 + to + i;
      if (o >= p.n_out) continue;
      const uint yi = p.y_off + r * p.n_out + o;
      const float v = p.alpha * acc[i][j];
      y[yi] = p.beta == 0.0 ? v : v + p.beta * y[yi];
    }
  }
}
