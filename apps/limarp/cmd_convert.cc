// `limarp convert IN OUT [--type T]`: any supported model to GGUF (hyper-parameters and
// tokenizer included) or to a Hugging Face safetensors folder. Written to a temporary file
// and renamed into place.
#include <filesystem>

#include "base/log.h"
#include "commands.h"
#include "formats/gguf.h"
#include "formats/hf_folder.h"
#include "infer/model_bundle.h"
#include "infer/model_writer.h"

namespace limarp::cli {
namespace {

struct ConvertOptions {
  std::string in, out, type, tokenizer;
};

Status run_convert(const ConvertOptions& o) {
  LIMARP_ASSIGN_OR_RETURN(ModelBundle bundle,
                          load_model_bundle(o.in, {.tokenizer_path = o.tokenizer, .require_tokenizer = false}));
  const std::string stored = bundle.model.weight_type_name();
  if (!o.type.empty() && stored != "f32" && stored != "f16" && stored != "bf16")
    log::warn("{} is stored as {}: quantizing already-quantized weights compounds the error; start from f32, "
              "f16 or bf16 weights when you can",
              o.in, stored);
  WriteOptions w;
  if (!o.type.empty()) {
    LIMARP_ASSIGN_OR_RETURN(w.recipe, QuantRecipe::parse(o.type));
  }
  w.vocab = bundle.tokenizer ? &bundle.tokenizer->vocab() : nullptr;
  w.name = bundle.model.metadata().get_string("general.name").value_or("");
  LIMARP_TRY(write_model(bundle.model, o.out, w));
  std::fprintf(stderr, "wrote %s\n", o.out.c_str());
  return {};
}

}  // namespace

void register_convert(CLI::App& root, RunState& state) {
  auto opts = std::make_shared<ConvertOptions>();
  CLI::App* cmd = root.add_subcommand(
      "convert", "Convert a model (GGUF, safetensors, Hugging Face folder, llama2.c) to GGUF or safetensors");
  cmd->add_option("input", opts->in, "Model file or folder")->required();
  cmd->add_option("output", opts->out,
                  "Output: NAME.gguf, NAME.safetensors, or a folder (Hugging Face layout)")->required();
  cmd->add_option("--type", opts->type, "Weight type: " + QuantRecipe::known_names() + " (default: keep)");
  cmd->add_option("--tokenizer", opts->tokenizer, "Tokenizer to embed, when not inside or beside the model");
  cmd->callback([opts, &state] { state.exit_code = report(run_convert(*opts)); });
}

void register_quantize(CLI::App& root, RunState& state) {
  auto opts = std::make_shared<ConvertOptions>();
  CLI::App* cmd = root.add_subcommand("quantize", "Quantize a model (from f32, f16 or bf16 weights) to GGUF");
  cmd->add_option("input", opts->in, "Model file or folder")->required();
  cmd->add_option("output", opts->out, "Output NAME.gguf")->required();
  cmd->add_option("--type", opts->type, "Type or recipe: " + QuantRecipe::known_names())->required();
  cmd->add_option("--tokenizer", opts->tokenizer, "Tokenizer to embed, when not inside or beside the model");
  cmd->callback([opts, &state] { state.exit_code = report(run_convert(*opts)); });
}

}  // namespace limarp::cli
