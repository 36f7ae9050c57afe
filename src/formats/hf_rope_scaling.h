// config.json's rope_scaling <-> the GGUF-style metadata keys the model layer reads
// (model/rope_scaling.h). Hugging Face's types linear, dynamic, yarn and llama3 are taken;
// "default" and null mean none; others (longrope, DeepSeek's mscale variants) are refused with
// the type named. The type lands in limarp.rope.scaling.type, which the model layer writes back
// in llama.cpp's vocabulary when it writes a GGUF.
#pragma once

#include <string>

#include "base/json_util.h"
#include "base/status.h"
#include "formats/metadata.h"

namespace limarp {

Status hf_rope_scaling_to_metadata(const Json& config, const std::string& source, Metadata& m);
// Sets config["rope_scaling"] (null when none) and, for limarp's static NTK type, which
// Hugging Face lacks, folds the scaling into config["rope_theta"].
void hf_rope_scaling_from_metadata(const Metadata& m, Json& config);

}  // namespace limarp
