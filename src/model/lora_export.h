// Writing adapters: as a GGUF LoRA file (llama.cpp's layout: general.type "adapter",
// adapter.lora.alpha, <tensor>.lora_a / .lora_b, q/k rows interleaved) or as a PEFT folder
// (adapter_config.json + adapter_model.safetensors, Hugging Face names and q/k row order).
// Per-module scales that one GGUF alpha cannot express are folded into B.
#pragma once

#include <string>

#include "base/status.h"
#include "model/lora_adapter.h"

namespace limarp {

Status write_gguf_lora(const std::string& path, const LoraAdapter& adapter, const LlamaConfig& base);
Status write_peft_folder(const std::string& dir, const LoraAdapter& adapter, const LlamaConfig& base);

}  // namespace limarp
