// `limarp pull REPO[@REVISION][:QUANT|:FILE]`: fetches what limarp needs from a Hugging Face
// Hub repository into the Hub's shared cache (or --local-dir) and prints the path to load.
#include <fmt/format.h>

#include "commands.h"
#include "hub/hub_pull.h"

namespace limarp::cli {
namespace {

struct PullCommandOptions {
  std::string name;
  std::vector<std::string> includes;
  std::string local_dir;
};

Status run_pull(const PullCommandOptions& o) {
  LIMARP_ASSIGN_OR_RETURN(hub::HubName name, hub::parse_hub_name(o.name));
  LIMARP_ASSIGN_OR_RETURN(hub::PullResult r,
                          hub::pull(name, {o.includes, o.local_dir}, hub::HubSettings::from_environment()));
  // stdout holds only the path, so scripts can write `-m "$(limarp pull ...)"`.
  fmt::print("{}\n", r.path);
  return {};
}

}  // namespace

void register_pull(CLI::App& root, RunState& state) {
  auto o = std::make_shared<PullCommandOptions>();
  CLI::App* cmd = root.add_subcommand("pull", "Download a model or adapter from the Hugging Face Hub into its cache");
  cmd->add_option("repo", o->name,
                  "ORG/NAME[@REVISION][:QUANT|:FILE] (a leading hf: is accepted): a GGUF repo with a quantization "
                  "tag like Q4_K_M, a Transformers model, or a PEFT adapter")
      ->required();
  cmd->add_option("--include", o->includes, "Fetch the files matching GLOB instead of the automatic choice; repeatable");
  cmd->add_option("--local-dir", o->local_dir, "Put the files in DIR instead of the Hub cache");
  cmd->footer(R"(The path to load is printed on stdout; progress goes to stderr.
What is fetched: for a GGUF repo the file(s) of one quantization (every shard of a split
model; with no tag, the only model or Q4_K_M); for a PEFT adapter adapter_config.json and its
weights; for a Transformers model the config, tokenizer files and safetensors shards (or .bin).
The same names work wherever a model or adapter path does, with an hf: prefix:
  limarp chat -m hf:TheBloke/Llama-2-7B-GGUF:Q4_K_M --lora hf:ORG/limarp-adapter ...
Cache: $HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub (shared with Python
tools). Environment: HF_ENDPOINT, HF_TOKEN (or the file `huggingface-cli login` writes),
HF_HUB_OFFLINE=1 (cache only). An interrupted download resumes; LFS files are checked against
their sha256. See docs/hub.md.
Examples:
  limarp pull TheBloke/Llama-2-7B-GGUF:Q4_K_M
  limarp pull meta-llama/Llama-2-7b-hf@main --local-dir models/Llama-2-7b-hf
  limarp pull ORG/NAME --include "*.json" --include "*.safetensors")");
  cmd->callback([o, &state] { state.exit_code = report(run_pull(*o)); });
}

}  // namespace limarp::cli
