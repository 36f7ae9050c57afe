// PyTorch zip checkpoints (torch.save: adapter_model.bin, pytorch_model.bin), loaded without
// running any pickle code: a safe unpickler that knows only the opcodes and globals such files
// use (see pickle_reader.h).
#pragma once

#include <string>

#include "base/status.h"
#include "formats/tensor_store.h"

namespace limarp {

Result<TensorStore> read_pytorch_checkpoint(const std::string& path);

}  // namespace limarp
