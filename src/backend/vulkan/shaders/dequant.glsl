// Weight elements as f32 from the device layouts of vulkan_weights.h (bindings 2 to 4), for the
// shaders that dequantize: prompt tiles (matmul_tiled.comp) and embedding rows (embed.comp).
// The including shader defines one of W_F32, W_F16, W_Q8_0, W_Q4_0, W_Q4_K, W_Q6_K.
#if defined(W_F32)
layout(std430, binding = 2) readonly buffer W { float w[]; };
#else
layout(std430, binding = 2) readonly buffer W { uint w[]; };
#endif
layout(std430, binding = 3) readonly buffer WD { float wd[]; };
layout(std430, binding = 4) readonly buffer WM { float wm[]; };

float code_byte(uint word, uint j) { return float(bitfieldExtract(int(word), int(8 * j), 8)); }

// Element k (0..31) of block b (32 elements) of weight row o of a matrix with rows of n_in, as f32.
float weight_at(uint o, uint b, uint k, uint n_in) {
  const uint nb = n_in / 32;
  const uint wb = o * nb + b;
#if defined(W_F32)
  return w[o * n_in + b * 32 + k];
#elif defined(W_F16)
  const uint e = o * n_in + b * 32 + k;
  return unpackHalf2x16(w[e / 2])[e % 2];
#elif defined(W_Q8_0)
  return wd[wb] * code_byte(w[wb * 8 + k / 4], k % 4);
#elif defined(W_Q6_K)
  return wd[2 * wb + k / 16] * code_byte(w[wb * 8 + k / 4], k % 4);
#else
  // Nibble codes: element k < 16 in the low nibble of byte k, k >= 16 in the high one of k - 16.
  const uint byte_index = k % 16;
  const uint word = w[wb * 4 + byte_index / 4];
  const float code = float((word >> (8 * (byte_index % 4) + (k < 16 ? 0 : 4))) & 0xFu);
#if defined(W_Q4_K)
  return wd[wb] * code - wm[wb];
#else
  return wd[wb] * (code - 8.0);
#endif
#endif
}

