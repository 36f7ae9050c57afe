#version 450
// Writes n rows of keys (z = 0) or values (z = 1), [n, n_kv_heads * head_dim] in the workspace,
// into one layer's cache buffer: [keys, values][kv head][capacity][head_dim], f32 or f16.
#include "common.glsl"

layout(push_constant) uniform Params {
  uint n, n_kv_heads, head_dim, capacity, pos, k_off, v_off;
} p;

layout(std430, binding = 0) readonly buffer K { float k[]; };
layout(std430, binding = 1) readonly buffer V { float v[]; };
#if defined(KV_F16)
layout(std430, binding = 2) writeonly buffer C { uint cache[]; };
#define STEP 2
#else
layout(std430, binding = 2) writeonly buffer C { float cache[]; };
#define STEP 1
#endif

void main() {
  const uint kv_dim = p.n_kv_heads * p.head_dim;
  const uint e = flat_id() * STEP;  // element within the n rows
  if (e >= p.n * kv_dim) return;
  const uint which = gl_WorkGroupID.z;
  const uint t = e / kv_dim, c = e % kv_dim, h = c / p.head_dim, d = c % p.head_dim;
  const uint src = (which == 0 ? p.k_off : p.v_off) + e;
  const uint dst = ((which * p.n_kv_heads + h) * p.capacity + p.pos + t) * p.head_dim + d;
#if defined(KV_F16)
  const vec2 pair = which == 0 ? vec2(k[src], k[src + 1]) : vec2(v[src], v[src + 1]);
  cache[dst / 2] = packHalf2x16(pair);
#else
  cache[dst] = which == 0 ? k[src] : v[src];
#endif
}
