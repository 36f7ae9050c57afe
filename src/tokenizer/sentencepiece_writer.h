// Writes a vocabulary as a SentencePiece tokenizer.model (protobuf ModelProto), so Hugging
// Face folders written by limarp carry the tokenizer that libsentencepiece and transformers read.
#pragma once

#include <string>

#include "base/status.h"
#include "tokenizer/vocab.h"

namespace limarp {

std::string encode_sentencepiece_model(const Vocab& vocab);
Status write_sentencepiece_model(const std::string& path, const Vocab& vocab);

}  // namespace limarp
