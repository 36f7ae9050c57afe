#version 450
// y[r, o] = alpha * dot(x[r, :], w[o, :]) + beta * y[r, o] for a weight matrix in the device
// layout of vulkan_weights.h. Quantized types take activations already quantized to 8-bit
// blocks by quantize_q8.comp (the CPU kernels' rounding), so the integer dot products equal
// the CPU's; f32 and f16 weights multiply f32 activations.
//
// Quantized layouts (vulkan_weights.h), 32 elements per block: W_Q8_0 int8 codes and a scale;
// W_Q4_0 4-bit codes (offset 8) and a scale; W_Q4_K 4-bit codes, a scale and a min (Q4_K);
// W_Q6_K int8 codes (Q6_K's minus 32) and a scale per 16.
//
// Each output row's dot products are split over LANES threads, each summing a strided share of
// the row's blocks for up to ROWS batch rows at once (the weight block is read once for all of
// them). Where the device has subgroup arithmetic (SUBGROUP) a subgroup takes one output row
// and adds its shares with subgroupAdd, so a workgroup covers several rows and needs no
// barrier; otherwise the whole workgroup takes one row and adds the shares in shared memory.
#include "common.glsl"
#if defined(SUBGROUP)
#extension GL_KHR_shader_subgroup_basic : enable
#extension GL_KHR_shader_subgroup_arithmetic : enable
#endif

#define ROWS 8

layout(push_constant) uniform Params {
  uint n_in, n_out, rows;
  uint x_off, y_off;      // element offsets (quantized x: block offset)
  float alpha, beta;
  uint rows_per_group;    // output rows per workgroup (SUBGROUP: the host's guess of its subgroups)
} p;

layout(std430, binding = 0) buffer Y { float y[]; };
#if defined(W_F32)
layout(std430, binding = 1) readonly buffer X { float x[]; };
layout(std430, binding = 2) readonly buffer W { float w[]; };
#elif defined(W_F16)
layout(std430, binding = 1) readonly buffer X { float x[]; };
layout(std430, binding = 2) readonly buffer W { uint w[]; };  // two halves per word
#else
layout(std430, binding = 1) readonly buffer XQ { uint xq[]; };  // 8 words (32 int8) per block
layout(std430, binding = 2) readonly buffer WQ { uint wq[]; };  // Q8_0: 8 words, Q4_0: 4 per block
layout(std430, binding = 3) readonly buffer WD { float wd[]; };  // scale per weight block (Q6_K: two)
layout(std430, binding = 4) readonly buffer XD { float xd[]; };  // one scale per activation block
layout(std430, binding = 5) readonly buffer WM { float wm[]; };  // Q4_K: the min of each block
#endif

#if !defined(SUBGROUP)
shared float partial[ROWS][WG];
#endif

int dot4(uint a, uint b) {
  return bitfieldExtract(int(a), 0, 8) * bitfieldExtract(int(b), 0, 8) +
         bitfieldExtract(int(a), 8, 8) * bitfieldExtract(int(b), 8, 8) +
         bitfieldExtract(int(a), 16, 8) * bitfieldExtract(int(b), 16, 8) +
         bitfieldExtract(int(a), 24, 8) * bitfieldExtract(int(b), 24, 8);
}

// Unsigned bytes of a (weight codes 0..15) times signed bytes of b.
int dot4_unsigned(uint a, uint b) {
  return int(bitfieldExtract(a, 0, 8)) * bitfieldExtract(int(b), 0, 8) +
         int(bitfieldExtract(a, 8, 8)) * bitfieldExtract(int(b), 8, 8) +
         int(bitfieldExtract(a, 16, 8)) * bitfieldExtract(int(b), 16, 8) +
         int(bitfieldExtract(a, 24, 8)) * bitfieldExtract(int(b), 24, 8);
}

int byte_sum(uint b) {
  return bitfieldExtract(int(b), 0, 8) + bitfieldExtract(int(b), 8, 8) + bitfieldExtract(int(b), 16, 8) +
         bitfieldExtract(int(b), 24, 8);
}

// Partial sums of output row o for batch rows r0.. (nr of them) over this thread's share.
void dot_rows(uint o, uint r0, uint nr, uint lane, uint lanes, inout float acc[ROWS]) {
#if defined(W_F32)
  const uint wrow = o * p.n_in;
  for (uint i = lane; i < p.n_in; i += lanes) {
    const float wv = w[wrow + i];
    for (uint j = 0; j < nr; ++j) acc[j] += wv * x[p.x_off + (r0 + j) * p.n_in + i];
  }
#elif defined(W_F16)
  const uint half_in = p.n_in / 2;
  const uint wrow = o * half_in;
  for (uint i = lane; i < half_in; i += lanes) {
    const vec2 wv = unpackHalf2x16(w[wrow + i]);
    for (uint j = 0; j < nr; ++j) {
      const uint xi = p.x_off + (r0 + j) * p.n_in + 2 * i;
      acc[j] += wv.x * x[xi] + wv.y * x[xi + 1];
    }
  }
#else
  const uint nb = p.n_in / 32;
  for (uint b = lane; b < nb; b += lanes) {
    const uint wb = o * nb + b;
#if defined(W_Q6_K)
    const vec2 dw = vec2(wd[2 * wb], wd[2 * wb + 1]);
#else
    const float dw = wd[wb];
#endif
#if defined(W_Q8_0) || defined(W_Q6_K)
    uint wv[8];
    [[unroll]] for (uint k = 0; k < 8; ++k) wv[k] = wq[wb * 8 + k];
#else
    // Q4_0: byte k of the 16 holds element k (low nibble) and k + 16 (high) as code + 8;
    // sum((c - 8) x) = sum(c x) - 8 sum(x).
    uint wv[8];
    [[unroll]] for (uint k = 0; k < 4; ++k) {
      const uint packed = wq[wb * 4 + k];
      wv[k] = packed & 0x0F0F0F0Fu;
      wv[k + 4] = (packed >> 4) & 0x0F0F0F0Fu;
    }
#endif
    for (uint j = 0; j < nr; ++j) {
      const uint xb = p.x_off + (r0 + j) * nb + b;
      int s = 0;
#if defined(W_Q8_0)
      [[unroll]] for (uint k = 0; k < 8; ++k) s += dot4(wv[k], xq[xb * 8 + k]);
      acc[j] += float(s) * (dw * xd[xb]);
#elif defined(W_Q6_K)
      // Codes minus 32 as int8; the two halves of 16 have their own scales.
      int s1 = 0;
      [[unroll]] for (uint k = 0; k < 4; ++k) s += dot4(wv[k], xq[xb * 8 + k]);
      [[unroll]] for (uint k = 4; k < 8; ++k) s1 += dot4(wv[k], xq[xb * 8 + k]);
      acc[j] += (dw.x * float(s) + dw.y * float(s1)) * xd[xb];
#else
      int sx = 0;
      [[unroll]] for (uint k = 0; k < 8; ++k) {
        const uint xv = xq[xb * 8 + k];
        s += dot4_unsigned(wv[k], xv);
        sx += byte_sum(xv);
      }
#if defined(W_Q4_K)
      // value = scale * code - min
      acc[j] += (dw * float(s) - wm[wb] * float(sx)) * xd[xb];
#else
      acc[j] += float(s - 8 * sx) * (dw * xd[xb]);
#endif
#endif
    }
  }
#endif
}

void store(uint o, uint r, float sum) {
  const uint yi = p.y_off + r * p.n_out + o;
  const float v = p.alpha * sum;
  y[yi] = p.beta == 0.0 ? v : v + p.beta * y[yi];
}

void main() {
  const uint r0 = gl_WorkGroupID.y * ROWS;
  const uint nr = min(uint(ROWS), p.rows - r0);
  float acc[ROWS];
#if defined(SUBGROUP)
  const uint first = gl_WorkGroupID.x * p.rows_per_group;
  const uint last = min(first + p.rows_per_group, p.n_out);
  for (uint o = first + gl_SubgroupID; o < last; o += gl_NumSubgroups) {
    [[unroll]] for (uint j = 0; j < ROWS; ++j) acc[j] = 0.0;
    dot_rows(o, r0, nr, gl_SubgroupInvocationID, gl_SubgroupSize, acc);
    for (uint j = 0; j < nr; ++j) {
      const float sum = subgroupAdd(acc[j]);
      if (subgroupElect()) store(o, r0 + j, sum);
    }
  }
#else
  const uint o = gl_WorkGroupID.x;
  const uint tid = gl_LocalInvocationID.x;
  [[unroll]] for (uint j = 0; j < ROWS; ++j) acc[j] = 0.0;
  dot_rows(o, r0, nr, tid, WG, acc);
  [[unroll]] for (uint j = 0; j < ROWS; ++j) partial[j][tid] = acc[j];
  barrier();
  for (uint stride = WG / 2; stride > 0; stride /= 2) {
    if (tid < stride)
      [[unroll]] for (uint j = 0; j < ROWS; ++j) partial[j][tid] += partial[j][tid + stride];
    barrier();
  }
  if (tid < nr) store(o, r0 + tid, partial[tid][0]);
#endif
}
