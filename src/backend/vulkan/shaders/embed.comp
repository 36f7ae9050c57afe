#version 450
// x[r] = row tokens[r] of the embedding table in its device layout (dequant.glsl), one thread
// per element: a tied output matrix already on the device serves as the table too.
#include "common.glsl"

layout(push_constant) uniform Params {
  uint rows, dim, x_off;
} p;

layout(std430, binding = 0) writeonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer Tokens { uint tokens[]; };
#include "dequant.glsl"

void main() {
  const uint id = flat_id();
  if (id >= p.rows * p.dim) return;
  const uint r = id / p.dim, e = id % p.dim;
  x[p.x_off + id] = weight_at(tokens[r], e / 32, e % 32, p.dim);
}
