// QLoRA's double quantization of NF4 scales (bitsandbytes' "nested" quantization): the f32
// absmax of every block of 64 weights is itself quantized, to 8 bits in groups of 256 scales,
// after subtracting their mean (one f32 offset per tensor). That saves 0.373 bits per weight:
// 4 + 32/64 = 4.5 bits become 4 + 8/64 + 32/(64·256) ≈ 4.127.
//
// bitsandbytes quantizes the centred scales with its dynamic 8-bit code; limarp uses a
// symmetric linear 8-bit code per group (q = round(127 · s / max|s|)), which bounds the error
// of each scale by max|s| / 254 per group. The NF4 tensor keeps its f32 absmax field but holds
// exactly the double-quantized values, so computation sees what 4.127-bit storage would give;
// the memory plan counts the compact size.
#pragma once

#include <cstdint>

#include "tensor/quant_blocks.h"

namespace limarp {

constexpr int64_t kNF4ScaleGroup = 256;

// Replaces each block's absmax by its double-quantized value. Returns the offset (the mean).
float nf4_double_quantize(BlockNF4* blocks, int64_t n_blocks);

// Bytes of an NF4 tensor of n elements as stored with (true) or without double quantization.
uint64_t nf4_storage_bytes(int64_t n, bool double_quant);

}  // namespace limarp
