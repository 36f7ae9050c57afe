#version 450
// out[r] = x[r] / sqrt(mean(x[r]^2) + eps) * weight. One workgroup per row.
#include "common.glsl"

layout(push_constant) uniform Params {
  uint dim, x_off, out_off;
  float eps;
} p;

layout(std430, binding = 0) writeonly buffer Out { float out_[]; };
layout(std430, binding = 1) readonly buffer X { float x[]; };
layout(std430, binding = 2) readonly buffer Wt { float w[]; };

shared float partial[WG];

void main() {
  const uint r = gl_WorkGroupID.x, tid = gl_LocalInvocationID.x;
  const uint xr = p.x_off + r * p.dim, orow = p.out_off + r * p.dim;
  float ss = 0.0;
  for (uint i = tid; i < p.dim; i += WG) ss += x[xr + i] * x[xr + i];
  partial[tid] = ss;
  barrier();
  for (uint stride = WG / 2; stride > 0; stride /= 2) {
    if (tid < stride) partial[tid] += partial[tid + stride];
    barrier();
  }
  const float scale = 1.0 / sqrt(partial[0] / float(p.dim) + p.eps);
  for (uint i = tid; i < p.dim; i += WG) out_[orow + i] = x[xr + i] * scale * w[i];
}
