// A small built-in byte-level vocabulary for models made by `limarp init` when no tokenizer
// is given: <unk>, <s>, </s>, the 256 byte pieces, printable ASCII characters (space as "▁"),
// then unused filler pieces up to the requested size. Any text encodes (bytes fall back).
#pragma once

#include <cstdint>

#include "tokenizer/vocab.h"

namespace limarp {

Vocab default_byte_vocab(int64_t size);

}  // namespace limarp
