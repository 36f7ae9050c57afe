#version 450
// Rotates each head's pairs in place by the row's cos/sin table (kernels/rope.h): pairs are
// (2i, 2i+1) in the interleaved layout, (i, i + head_dim/2) in the NeoX one.
#include "common.glsl"

layout(push_constant) uniform Params {
  uint rows, n_heads, head_dim, x_off, cs_off, neox;
} p;

layout(std430, binding = 0) buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer CS { float cs[]; };

void main() {
  const uint half_dim = p.head_dim / 2;
  const uint id = flat_id();
  if (id >= p.rows * p.n_heads * half_dim) return;
  const uint i = id % half_dim, h = (id / half_dim) % p.n_heads, r = id / (half_dim * p.n_heads);
  const float c = cs[p.cs_off + r * p.head_dim + 2 * i], s = cs[p.cs_off + r * p.head_dim + 2 * i + 1];
  const uint base = p.x_off + r * p.n_heads * p.head_dim + h * p.head_dim;
  const uint a = base + (p.neox != 0 ? i : 2 * i), b = base + (p.neox != 0 ? i + half_dim : 2 * i + 1);
  const float x0 = x[a], x1 = x[b];
  x[a] = x0 * c - x1 * s;
  x[b] = x0 * s + x1 * c;
}
