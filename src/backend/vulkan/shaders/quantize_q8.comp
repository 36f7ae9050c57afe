#version 450
// Activations to 8-bit blocks of 32 exactly as kernels/activation_quant.h does on the CPU:
// d = max|x| / 127, q = round-half-even(x * 127 / max|x|). One thread per block.
#include "common.glsl"

layout(push_constant) uniform Params {
  uint blocks;  // rows * n_in / 32
  uint x_off;   // element offset of the first row
} p;

layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) writeonly buffer XQ { uint xq[]; };
layout(std430, binding = 2) writeonly buffer XD { float xd[]; };

void main() {
  const uint b = flat_id();
  if (b >= p.blocks) return;
  const uint base = p.x_off + b * 32;
  float amax = 0.0;
  for (uint i = 0; i < 32; ++i) {
    const float a = abs(x[base + i]);
    amax = a > amax ? a : amax;
  }
  const float d = amax / 127.0;
  const float id = d > 0.0 ? 127.0 / amax : 0.0;
  for (uint k = 0; k < 8; ++k) {
    uint word = 0;
    for (uint j = 0; j < 4; ++j) {
      const int v = int(roundEven(x[base + 4 * k + j] * id));
      word |= uint(v & 0xFF) << (8 * j);
    }
    xq[b * 8 + k] = word;
  }
  xd[b] = d;
}
