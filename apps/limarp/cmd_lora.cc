// `limarp merge` and `limarp export-lora`: adapters into base weights, and adapters between
// the PEFT and GGUF LoRA formats.
#include <filesystem>

#include "base/log.h"
#include "base/thread_pool.h"
#include "commands.h"
#include "hub/hub_pull.h"
#include "infer/adapter_specs.h"
#include "infer/model_bundle.h"
#include "infer/model_writer.h"
#include "model/lora_export.h"
#include "model/lora_merge.h"
#include "model/lora_random.h"
#include "model_options.h"

namespace limarp::cli {
namespace {

struct MergeOptions {
  std::string model, out, type, tokenizer;
  std::vector<std::string> loras;
  int threads = 1;
};

Status run_merge(const MergeOptions& o) {
  LIMARP_ASSIGN_OR_RETURN(ModelBundle bundle,
                          load_model_bundle(o.model, {.tokenizer_path = o.tokenizer, .require_tokenizer = false}));
  LIMARP_ASSIGN_OR_RETURN(AdapterSet adapters, load_adapters(o.loras, bundle.model));
  ThreadPool pool(o.threads);
  const LlamaModel::TensorEdit edit = merge_edit(adapters, pool);
  WriteOptions w;
  w.edit = &edit;
  w.vocab = bundle.tokenizer ? &bundle.tokenizer->vocab() : nullptr;
  w.name = bundle.model.metadata().get_string("general.name").value_or("merged");
  if (!o.type.empty()) {
    LIMARP_ASSIGN_OR_RETURN(w.recipe, QuantRecipe::parse(o.type));
  } else {
    const std::string stored = bundle.model.weight_type_name();
    if (stored != "f32" && stored != "f16" && stored != "bf16")
      log::warn("the base is stored as {}; the merge is computed in f32 and re-quantized to it. For the best "
                "quality merge into an f16/bf16 base, then quantize (--type).",
                stored);
  }
  LIMARP_TRY(write_model(bundle.model, o.out, w));
  std::fprintf(stderr, "wrote %s\n", o.out.c_str());
  return {};
}

struct ExportOptions {
  std::string in, out, model;
};

Status run_export(const ExportOptions& o) {
  if (o.model.empty())
    return make_error("export-lora needs --model BASE: the base's head counts decide the q/k row order");
  LIMARP_ASSIGN_OR_RETURN(const std::string base_path, hub::resolve_model_path(o.model));
  LIMARP_ASSIGN_OR_RETURN(const std::string adapter_path, hub::resolve_model_path(o.in));
  LIMARP_ASSIGN_OR_RETURN(LlamaModel base, LlamaModel::load(base_path));
  LIMARP_ASSIGN_OR_RETURN(LoraAdapter adapter, LoraAdapter::load(adapter_path, base));
  if (o.out.ends_with(".gguf")) {
    LIMARP_TRY(write_gguf_lora(o.out, adapter, base.config()));
  } else {
    LIMARP_TRY(write_peft_folder(o.out, adapter, base.config()));
  }
  std::fprintf(stderr, "wrote %s (%lld LoRA pairs, rank %lld)\n", o.out.c_str(),
               static_cast<long long>(adapter.pair_count()), static_cast<long long>(adapter.max_rank()));
  return {};
}

}  // namespace

void register_merge(CLI::App& root, RunState& state) {
  auto o = std::make_shared<MergeOptions>();
  CLI::App* cmd = root.add_subcommand("merge", "Merge LoRA adapters into a base model (in f32), then store or quantize");
  cmd->add_option("-m,--model", o->model, "Base model file or folder")->required();
  cmd->add_option("--lora", o->loras, "Adapter PATH[:SCALE] (PEFT folder or GGUF LoRA); repeatable")->required();
  cmd->add_option("-o,--output", o->out, "Output: NAME.gguf, NAME.safetensors or a folder")->required();
  cmd->add_option("--type", o->type, "Output type: " + QuantRecipe::known_names() + " (default: the base's)");
  cmd->add_option("--tokenizer", o->tokenizer, "Tokenizer to embed, when not inside or beside the model");
  add_threads_option(*cmd, o->threads);
  cmd->callback([o, &state] { state.exit_code = report(run_merge(*o)); });
}

void register_export_lora(CLI::App& root, RunState& state) {
  auto o = std::make_shared<ExportOptions>();
  CLI::App* cmd = root.add_subcommand("export-lora", "Convert an adapter: PEFT folder to GGUF LoRA, or GGUF LoRA to a PEFT folder");
  cmd->add_option("input", o->in, "PEFT folder or GGUF LoRA file")->required();
  cmd->add_option("output", o->out, "NAME.gguf (GGUF LoRA) or a folder (PEFT, safetensors)")->required();
  cmd->add_option("-m,--model", o->model, "The base model the adapter belongs to")->required();
  cmd->callback([o, &state] { state.exit_code = report(run_export(*o)); });
}

}  // namespace limarp::cli

namespace limarp::cli {
namespace {

struct InitLoraOptions {
  std::string model, out, type = "f16";
  int64_t rank = 256;
  double alpha = 16;
  uint64_t seed = 1;
};

Status run_init_lora(const InitLoraOptions& o) {
  LIMARP_ASSIGN_OR_RETURN(const std::string base_path, hub::resolve_model_path(o.model));
  LIMARP_ASSIGN_OR_RETURN(LlamaModel base, LlamaModel::load(base_path));
  RandomLoraOptions r;
  r.rank = o.rank;
  r.alpha = o.alpha;
  r.seed = o.seed;
  auto type = dtype_from_name(o.type);
  if (!type || (*type != DType::kF32 && *type != DType::kF16 && *type != DType::kBF16))
    return make_error("--type must be f32, f16 or bf16");
  r.type = *type;
  LIMARP_ASSIGN_OR_RETURN(LoraAdapter adapter, random_lora(base, r));
  if (o.out.ends_with(".gguf")) {
    LIMARP_TRY(write_gguf_lora(o.out, adapter, base.config()));
  } else {
    LIMARP_TRY(write_peft_folder(o.out, adapter, base.config()));
  }
  std::fprintf(stderr, "wrote %s: rank %lld on %lld projections, %.1f MiB\n", o.out.c_str(),
               static_cast<long long>(o.rank), static_cast<long long>(adapter.pair_count()),
               static_cast<double>(adapter.bytes()) / (1 << 20));
  return {};
}

}  // namespace

void register_init_lora(CLI::App& root, RunState& state) {
  auto o = std::make_shared<InitLoraOptions>();
  CLI::App* cmd = root.add_subcommand("init-lora", "Write a random LoRA adapter for a base model (benchmarks, tests)");
  cmd->add_option("-m,--model", o->model, "Base model")->required();
  cmd->add_option("output", o->out, "NAME.gguf (GGUF LoRA) or a folder (PEFT)")->required();
  cmd->add_option("--rank", o->rank, "LoRA rank")->capture_default_str();
  cmd->add_option("--alpha", o->alpha, "LoRA alpha")->capture_default_str();
  cmd->add_option("--type", o->type, "f32, f16 or bf16")->capture_default_str();
  cmd->add_option("--seed", o->seed, "Random seed")->capture_default_str();
  cmd->callback([o, &state] { state.exit_code = report(run_init_lora(*o)); });
}

}  // namespace limarp::cli
