// Random LoRA adapters for benchmarks and tests: every targeted projection of a base model gets
// A and B of the given rank with normal values (B non-zero, unlike a fresh PEFT adapter, so the
// delta is real work and real numbers).
#pragma once

#include <cstdint>

#include "base/status.h"
#include "model/lora_adapter.h"

namespace limarp {

struct RandomLoraOptions {
  int64_t rank = 256;
  double alpha = 16;
  DType type = DType::kF16;
  uint64_t seed = 1;
  float stddev = 0.02f;
};

Result<LoraAdapter> random_lora(const LlamaModel& base, const RandomLoraOptions& options);

}  // namespace limarp
