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
// The PEFT folder `dir`, atomically: it appears only when complete (base/atomic_folder.h).
Status write_peft_folder(const std::string& dir, const LoraAdapter& adapter, const LlamaConfig& base);
// The same two files into an existing folder that holds other things (a training run's
// output_dir, a checkpoint being written). adapter_config.json is written last, so a PEFT
// loader never finds a config without its tensors.
Status write_peft_files(const std::string& dir, const LoraAdapter& adapter, const LlamaConfig& base);

}  // namespace limarp
