#include "kernels/cpu/registry.h"

#include <cstdlib>
#include <cstring>
#include <vector>

namespace limarp::kernels {
namespace {

struct Registry {
  std::vector<KernelLevel> levels;  // lowest first; slots filled from the level below
  size_t active = 0;
};

// Each slot a level leaves empty is the one of the level below it.
void inherit(KernelLevel& level, const KernelLevel& below) {
  auto fill = [](auto& slot, auto from) {
    if (!slot) slot = from;
  };
  fill(level.gemm, below.gemm);
  fill(level.exp_shifted_inplace, below.exp_shifted_inplace);
  fill(level.max_f32, below.max_f32);
  fill(level.sum_f32, below.sum_f32);
  fill(level.sum_u64, below.sum_u64);
  fill(level.weighted_row_sum, below.weighted_row_sum);
  fill(level.store_kv_row, below.store_kv_row);
  fill(level.load_kv_row, below.load_kv_row);
  fill(level.dropout_prefix, below.dropout_prefix);
}

Registry build() {
  Registry r;
  r.levels.push_back(generic_level());
  for (KernelLevel& level : family_levels(cpu_features())) {
    inherit(level, r.levels.back());
    r.levels.push_back(level);
  }
  r.active = r.levels.size() - 1;
  // A cap naming a level this machine runs selects it; any other value (a level of another
  // family, or one this CPU lacks) leaves the best, as a cap above the best would.
  if (const char* cap = std::getenv("LIMARP_ISA"))
    for (size_t i = 0; i < r.active; ++i)
      if (std::strcmp(cap, isa_name(r.levels[i].isa)) == 0) r.active = i;
  return r;
}

const Registry& registry() {
  // The one piece of kernel state: a function-local static built on first use (C++ makes that
  // initialisation thread-safe) and never modified afterwards, so every thread reads the same
  // immutable table without locks, and results cannot depend on when a thread first asked.
  static const Registry r = build();
  return r;
}

}  // namespace

std::span<const KernelLevel> runnable_levels() { return registry().levels; }

const KernelLevel& active_level() {
  const Registry& r = registry();
  return r.levels[r.active];
}

const KernelLevel* find_level(Isa isa) {
  for (const KernelLevel& level : registry().levels)
    if (level.isa == isa) return &level;
  return nullptr;
}

std::string describe_kernels() {
  return std::string("kernels: ") + isa_name(registry().levels.back().isa) + " (" + cpu_features().describe() + ")";
}

}  // namespace limarp::kernels
