// `limarp info FILE`: what a model file holds — format, hyper-parameters, tensors, tokenizer.
#include <fmt/format.h>

#include "commands.h"
#include "hub/hub_pull.h"
#include "infer/model_bundle.h"
#include "tokenizer/vocab.h"

namespace limarp::cli {
namespace {

struct InfoOptions {
  std::string path;
  std::string tokenizer;
  bool all_tensors = false;
};

Status run_info(const InfoOptions& o) {
  LIMARP_ASSIGN_OR_RETURN(const std::string path, hub::resolve_model_path(o.path));
  LIMARP_ASSIGN_OR_RETURN(TensorStore store, open_tensor_file(path));
  fmt::print("file: {}\nformat: {}\n", o.path, file_format_name(store.format));
  fmt::print("metadata ({} keys):\n", store.metadata.size());
  for (const auto& [k, v] : store.metadata.entries()) fmt::print("  {} = {}\n", k, v.to_display(6));

  fmt::print("tensors ({}):\n", store.size());
  uint64_t total = 0;
  size_t shown = 0;
  for (const auto& name : store.names()) {
    const TensorView* t = store.find(name);
    total += t->nbytes;
    if (!o.all_tensors && shown >= 24) continue;
    fmt::print("  {:<40} {:<5} {:<16} {:>12} bytes\n", name, dtype_name(t->type), shape_string(t->shape), t->nbytes);
    ++shown;
  }
  if (shown < store.size()) fmt::print("  ... {} more (--all-tensors lists them)\n", store.size() - shown);
  fmt::print("tensor data: {:.2f} MiB\n", static_cast<double>(total) / (1 << 20));

  auto model = LlamaModel::from_store(std::move(store));
  if (!model.ok()) {
    fmt::print("model: not a loadable Llama ({})\n", model.error().message());
    return {};
  }
  fmt::print("model: {}\nweights: {}, {:.2f} MiB\n", model->config().describe(), model->weight_type_name(),
             static_cast<double>(model->weight_bytes()) / (1 << 20));
  auto tok = find_tokenizer(path, *model, o.tokenizer);
  if (!tok.ok()) {
    fmt::print("tokenizer: none ({})\n", tok.error().message());
  } else {
    const Vocab& v = tok->vocab();
    fmt::print("tokenizer: SentencePiece BPE, {} pieces, bos {} eos {} unk {}, add_bos {}, from {}\n", v.size(),
               v.bos_id, v.eos_id, v.unk_id, v.add_bos, tok->source());
  }
  return {};
}

}  // namespace

void register_info(CLI::App& root, RunState& state) {
  auto opts = std::make_shared<InfoOptions>();
  CLI::App* cmd = root.add_subcommand("info", "Show a model file's format, hyper-parameters, tensors and tokenizer");
  cmd->add_option("file", opts->path, "Model file or Hugging Face folder")->required();
  cmd->add_option("--tokenizer", opts->tokenizer, "Tokenizer file, when not inside or beside the model");
  cmd->add_flag("--all-tensors", opts->all_tensors, "List every tensor");
  cmd->callback([opts, &state] { state.exit_code = report(run_info(*opts)); });
}

}  // namespace limarp::cli
