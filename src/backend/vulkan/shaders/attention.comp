#version 450
// Causal attention of `rows` new queries (positions pos0..) over one layer's KV cache, grouped
// query heads. One workgroup per (query row, head) streams the positions in tiles of WG: each
// thread scores one position, the tile's softmax is folded into a running maximum and sum
// (online softmax, as flash attention does), and each thread accumulates up to 4 output
// dimensions (head_dim <= 256).
#include "common.glsl"

layout(push_constant) uniform Params {
  uint n_heads, n_kv_heads, head_dim, capacity, pos0, q_off, out_off;
  float scale;
} p;

layout(std430, binding = 0) writeonly buffer Out { float out_[]; };
layout(std430, binding = 1) readonly buffer Q { float q[]; };
#if defined(KV_F16)
layout(std430, binding = 2) readonly buffer C { uint cache[]; };
float kv_at(uint e) { return unpackHalf2x16(cache[e / 2])[e % 2]; }
#else
layout(std430, binding = 2) readonly buffer C { float cache[]; };
float kv_at(uint e) { return cache[e]; }
#endif

shared float qs[256];
shared float prob[WG];
shared float red[WG];

float reduce_max(float v) {
  const uint tid = gl_LocalInvocationID.x;
  red[tid] = v;
  barrier();
  for (uint s = WG / 2; s > 0; s /= 2) {
    if (tid < s) red[tid] = max(red[tid], red[tid + s]);
    barrier();
  }
  const float r = red[0];
  barrier();
  return r;
}

float reduce_sum(float v) {
  const uint tid = gl_LocalInvocationID.x;
  red[tid] = v;
  barrier();
  for (uint s = WG / 2; s > 0; s /= 2) {
    if (tid < s) red[tid] += red[tid + s];
    barrier();
  }
  const float r = red[0];
  barrier();
  return r;
}

void main() {
  const uint h = gl_WorkGroupID.x, r = gl_WorkGroupID.y, tid = gl_LocalInvocationID.x;
  const uint hd = p.head_dim;
  const uint kvh = h / (p.n_heads / p.n_kv_heads);
  const uint n_pos = p.pos0 + r + 1;
  const uint qrow = p.q_off + (r * p.n_heads + h) * hd;
  for (uint d = tid; d < hd; d += WG) qs[d] = q[qrow + d];
  barrier();
  const uint keys = kvh * p.capacity * hd;
  const uint values = (p.n_kv_heads + kvh) * p.capacity * hd;

  float m = -1.0 / 0.0, l = 0.0;
  float acc[4] = float[4](0.0, 0.0, 0.0, 0.0);
  for (uint t0 = 0; t0 < n_pos; t0 += WG) {
    const uint j = t0 + tid;
    float s = -1.0 / 0.0;
    if (j < n_pos) {
      float dotv = 0.0;
      const uint kr = keys + j * hd;
      for (uint d = 0; d < hd; ++d) dotv += qs[d] * kv_at(kr + d);
      s = dotv * p.scale;
    }
    const float m_new = max(m, reduce_max(s));
    const float pj = j < n_pos ? exp(s - m_new) : 0.0;
    prob[tid] = pj;
    const float correction = exp(m - m_new);
    l = l * correction + reduce_sum(pj);  // reduce_sum's barriers also publish prob[]
    m = m_new;
    const uint tile = min(uint(WG), n_pos - t0);
    [[unroll]] for (uint k = 0; k < 4; ++k) {
      const uint d = tid + k * WG;
      if (d >= hd) break;
      float a = acc[k] * correction;
      for (uint jj = 0; jj < tile; ++jj) a += prob[jj] * kv_at(values + (t0 + jj) * hd + d);
      acc[k] = a;
    }
    barrier();
  }
  const uint orow = p.out_off + (r * p.n_heads + h) * hd;
  [[unroll]] for (uint k = 0; k < 4; ++k) {
    const uint d = tid + k * WG;
    if (d < hd) out_[orow + d] = acc[k] / l;
  }
}
