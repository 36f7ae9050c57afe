// PyTorch zip checkpoints (torch.save: adapter_model.bin, pytorch_model.bin), loaded without
// running any pickle code: a safe unpickler that knows only the opcodes and globals such files
// use (see pickle_reader.h), over a bounds-checked zip reader (zip_archive.h).
//
// The file is a zip of `<prefix>/data.pkl` (a pickle of a dict of tensors), `<prefix>/data/<key>`
// (one raw little-endian storage per key), `<prefix>/version` and, in newer files,
// `<prefix>/byteorder`. Each tensor in the pickle is a call of torch._utils._rebuild_tensor_v2
// (storage, storage_offset, size, stride, ...) whose storage is a persistent id
// ("storage", torch.<Type>Storage, key, location, numel).
//
// Contiguous tensors become views into the mapped file at their storage offset: no copy, even
// for a 1.3 GB adapter. Non-contiguous tensors (a saved transpose) and storages that are not
// aligned to their element size are copied into owned, contiguous tensors; the total copied is
// bounded by the file size, so an "expanded" tensor with zero strides cannot blow up memory.
// Nested dicts ({"model": {...}}) are flattened with "." between names; plain Python values
// beside the tensors (an "epoch" number) are skipped. Everything else is an error.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "base/status.h"
#include "formats/tensor_store.h"

namespace limarp {

Result<TensorStore> read_pytorch_checkpoint(const std::string& path);
// The same over bytes already in memory, which must outlive the store; `source` names them in
// messages. (For tests that truncate and mutate files, and for callers holding their own map.)
Result<TensorStore> parse_pytorch_checkpoint(std::span<const uint8_t> bytes, const std::string& source);

}  // namespace limarp
