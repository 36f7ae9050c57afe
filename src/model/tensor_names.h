// The names a Llama tensor goes by in each layout. limarp's canonical names are GGUF's
// (blk.N.attn_q.weight); Hugging Face and Meta names map onto them.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace limarp {

enum class Projection { kQ, kK, kV, kO, kGate, kUp, kDown };
inline constexpr Projection kAllProjections[] = {Projection::kQ,    Projection::kK,  Projection::kV,   Projection::kO,
                                                 Projection::kGate, Projection::kUp, Projection::kDown};

// "attn_q", "ffn_gate", ... (GGUF) and "self_attn.q_proj", "mlp.gate_proj", ... (Hugging Face).
const char* gguf_projection_name(Projection p);
const char* hf_projection_name(Projection p);
std::optional<Projection> projection_from_hf(std::string_view name);  // "q_proj" -> kQ

std::string gguf_layer_tensor(int layer, std::string_view suffix);  // blk.3.attn_q.weight

// Maps a Hugging Face or Meta tensor name to the canonical GGUF name; nullopt if unknown.
// Tensors that carry nothing (rotary inv_freq buffers) map to "".
std::optional<std::string> canonical_tensor_name(std::string_view name);
// The Hugging Face name for a canonical one (for writing HF folders).
std::optional<std::string> hf_tensor_name(std::string_view canonical);

}  // namespace limarp
