#include "model/random_init.h"

#include <cstring>
#include <functional>
#include <thread>

#include "base/log.h"
#include "base/rng.h"
#include "tensor/quantize.h"

namespace limarp {
namespace {

uint64_t name_hash(const std::string& s) {
  uint64_t h = 1469598103934665603ULL;  // FNV-1a
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ULL;
  return h;
}

OutTensor random_tensor(const std::string& name, Shape shape, DType type, uint64_t seed, float stddev, bool ones) {
  DType t = (shape.size() == 1) ? DType::kF32 : type;
  if (!row_bytes(t, shape.back())) {
    log::warn("{}: rows of {} do not divide into {} blocks; writing it as f16", name, shape.back(), dtype_name(t));
    t = DType::kF16;
  }
  OutTensor out{name, t, shape, nullptr};
  out.fill = [=](std::span<uint8_t> dst) -> Status {
    const int64_t cols = shape.back();
    const int64_t rows = shape_elements(shape) / cols;
    const uint64_t stride = *row_bytes(t, cols);
    // Rows are filled in parallel blocks, each with its own stream derived from the row
    // index, so the result is the same whatever the number of threads.
    const unsigned n_threads = std::max(1u, std::min(8u, std::thread::hardware_concurrency()));
    std::vector<std::thread> threads;
    for (unsigned w = 0; w < n_threads; ++w) {
      threads.emplace_back([&, w] {
        std::vector<float> row(static_cast<size_t>(cols));
        for (int64_t r = w; r < rows; r += n_threads) {
          Rng rng(seed ^ name_hash(name) ^ (static_cast<uint64_t>(r) * 0x9E3779B97F4A7C15ULL));
          for (auto& x : row) x = ones ? 1.0f : rng.fast_normal() * stddev;
          quantize_row(t, row.data(), dst.data() + r * stride, cols);
        }
      });
    }
    for (auto& th : threads) th.join();
    return {};
  };
  return out;
}

}  // namespace

std::vector<OutTensor> random_llama_tensors(const LlamaConfig& c, const QuantRecipe& recipe, uint64_t seed,
                                            float stddev) {
  std::vector<OutTensor> out;
  const int64_t dim = c.dim, kv = c.kv_dim(), hid = c.hidden_dim, V = c.vocab_size;
  auto add = [&](const std::string& name, Shape shape, bool ones = false) {
    out.push_back(random_tensor(name, std::move(shape), recipe.type_for(name, c.n_layers), seed, stddev, ones));
  };
  add("token_embd.weight", {V, dim});
  for (int64_t l = 0; l < c.n_layers; ++l) {
    auto n = [&](const char* s) { return fmt::format("blk.{}.{}", l, s); };
    add(n("attn_norm.weight"), {dim}, true);
    add(n("attn_q.weight"), {dim, dim});
    add(n("attn_k.weight"), {kv, dim});
    add(n("attn_v.weight"), {kv, dim});
    add(n("attn_output.weight"), {dim, dim});
    add(n("ffn_norm.weight"), {dim}, true);
    add(n("ffn_gate.weight"), {hid, dim});
    add(n("ffn_up.weight"), {hid, dim});
    add(n("ffn_down.weight"), {dim, hid});
  }
  add("output_norm.weight", {dim}, true);
  if (!c.tied_output) add("output.weight", {V, dim});
  return out;
}

}  // namespace limarp
