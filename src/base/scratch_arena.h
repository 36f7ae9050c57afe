// Grow-only scratch memory for kernels, so a decoded token allocates nothing: each slot keeps
// the largest block ever asked of it (64-byte aligned, uninitialised) and hands the same block
// out again. One arena belongs to one thread at a time (ThreadPool keeps one per worker), so
// no locks; a kernel that needs two blocks at once asks two different slots.
//
//   float* scores = pool.arena(thread).floats(ScratchSlot::kAttentionScores, n);
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace limarp {

// Every user of an arena has its own slots: a kernel calling another kernel never gets the
// block its caller is still using.
enum class ScratchSlot : uint8_t {
  kMatmulActivations,
  kMatmulPanel,
  kMatmulConverted,
  kAttentionQuery,
  kAttentionScores,
  kAttentionKeys,
  kAttentionValues,
  kMatrixEngineInput,
  kMatrixEngineRows,
  kMatrixEnginePanel,
  kMatrixEngineRow,
  kLoraFactors,
  kLoraFactorGrad,
  kLoraTransposed,
  kLoraTile,
  kCount,
};

class ScratchArena {
 public:
  // At least `bytes` bytes, valid until this slot is asked for more.
  void* bytes(ScratchSlot slot, size_t bytes);
  float* floats(ScratchSlot slot, size_t n) { return static_cast<float*>(bytes(slot, n * sizeof(float))); }
  // Bytes held by all slots now.
  size_t capacity() const;

 private:
  struct FreeAligned {
    void operator()(void* p) const;
  };
  struct Block {
    std::unique_ptr<void, FreeAligned> data;
    size_t size = 0;
  };
  std::array<Block, static_cast<size_t>(ScratchSlot::kCount)> blocks_;
};

}  // namespace limarp
