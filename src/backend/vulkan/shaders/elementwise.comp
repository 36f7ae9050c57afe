#version 450
// op 0: out = silu(a) * b;  op 1: out = a + b;  op 2: out += alpha * a.
#include "common.glsl"

layout(push_constant) uniform Params {
  uint n, op, out_off, a_off, b_off;
  float alpha;
} p;

layout(std430, binding = 0) buffer Out { float out_[]; };
layout(std430, binding = 1) readonly buffer A { float a[]; };
layout(std430, binding = 2) readonly buffer B { float b[]; };

void main() {
  const uint i = flat_id();
  if (i >= p.n) return;
  const float av = a[p.a_off + i];
  if (p.op == 0) out_[p.out_off + i] = av / (1.0 + exp(-av)) * b[p.b_off + i];
  else if (p.op == 1) out_[p.out_off + i] = av + b[p.b_off + i];
  else out_[p.out_off + i] += p.alpha * av;
}
