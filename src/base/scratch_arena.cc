#include "base/scratch_arena.h"

#include <cstdlib>
#include <new>

namespace limarp {

void ScratchArena::FreeAligned::operator()(void* p) const { std::free(p); }

void* ScratchArena::bytes(ScratchSlot slot, size_t bytes) {
  Block& b = blocks_[static_cast<size_t>(slot)];
  if (b.size >= bytes && b.data) return b.data.get();
  // Round up so a slowly growing request (one more key per decoded token) reallocates rarely.
  size_t size = b.size == 0 ? 4096 : b.size;
  while (size < bytes) size += size / 2;
  size = (size + 63) / 64 * 64;
  void* p = std::aligned_alloc(64, size);
  if (!p) throw std::bad_alloc();
  b.data.reset(p);
  b.size = size;
  return p;
}

size_t ScratchArena::capacity() const {
  size_t n = 0;
  for (const Block& b : blocks_) n += b.size;
  return n;
}

}  // namespace limarp
