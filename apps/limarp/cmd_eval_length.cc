// `limarp eval-length`: how well a model follows LimaRP's length levels — words and tokens per
// reply for each level, at the start of conversations or deep into them, as a Markdown table,
// an SVG box plot and JSON.

#include "base/atomic_file.h"
#include "base/thread_pool.h"
#include "chat/length_eval.h"
#include "chat/limarp_yaml.h"
#include "commands.h"
#include "infer/adapter_specs.h"
#include "model_options.h"
#include "progress_line.h"
#include "sampler_options.h"

namespace limarp::cli {
namespace {

struct EvalLengthOptions {
  ModelCliOptions model;
  std::string chats = LIMARP_SOURCE_DIR "/data/roleplay", svg, md;
  int replies = 8, every = 1;
  int64_t max_reply = 400, ctx = 0;
  bool deep = false, json = false;
  SamplerCliOptions sampler;
};

Status run_eval_length(const EvalLengthOptions& o) {
  LIMARP_ASSIGN_OR_RETURN(ModelBundle bundle, load_inference_model(o.model, o.ctx));
  LIMARP_ASSIGN_OR_RETURN(std::unique_ptr<Backend> device, open_device(o.model, bundle.model, o.ctx));
  LIMARP_ASSIGN_OR_RETURN(AdapterSet adapters, load_adapters(o.model.loras, bundle.model));
  LIMARP_ASSIGN_OR_RETURN(std::vector<ChatState> all, load_limarp_conversations(o.chats));
  std::vector<ChatState> chats;
  for (size_t i = 0; i < all.size(); i += static_cast<size_t>(std::max(1, o.every))) chats.push_back(all[i]);
  LengthEvalOptions e;
  e.replies_per_level = o.replies;
  e.depth = o.deep ? EvalDepth::kDeep : EvalDepth::kStart;
  e.max_reply_tokens = o.max_reply;
  e.context = o.ctx;
  e.kv_type = o.model.kv_type;
  e.backend = device.get();
  e.backend_layers = o.model.gpu_layers;
  LIMARP_ASSIGN_OR_RETURN(e.sampler, o.sampler.settings());
  if (!e.sampler.seed) e.sampler.seed = 1;  // reproducible unless asked otherwise
  ProgressLine progress("eval-length", "replies");
  e.progress = [&](int done, int total) { progress.update(done, total); };
  ThreadPool pool(o.model.threads);
  LIMARP_ASSIGN_OR_RETURN(LengthEvalReport report,
                          evaluate_length_control(bundle.model, *bundle.tokenizer, pool,
                                                  adapters.empty() ? nullptr : &adapters, chats, e));
  progress.finish();
  const std::string md = length_report_markdown(report);
  std::printf("%s", md.c_str());
  const std::string title = fmt::format("Reply length per level ({} of {} conversations, {} replies per level)",
                                        o.deep ? "deep into" : "start", chats.size(), o.replies);
  if (!o.md.empty()) LIMARP_TRY(write_file_atomic(o.md, md));
  if (!o.svg.empty()) LIMARP_TRY(write_file_atomic(o.svg, length_report_svg(report, title)));
  if (o.json) std::printf("%s\n", length_report_json(report).dump().c_str());
  return {};
}

}  // namespace

void register_eval_length(CLI::App& root, RunState& state) {
  auto o = std::make_shared<EvalLengthOptions>();
  CLI::App* cmd = root.add_subcommand("eval-length", "Measure response-length control: reply lengths per level");
  add_model_options(*cmd, o->model, WhenNoModel::kDemoModel);
  cmd->add_option("--chats", o->chats, "LimaRP YAML conversations: a folder or one file")->capture_default_str();
  cmd->add_option("--every", o->every, "Use every Nth conversation of the folder")->capture_default_str();
  cmd->add_option("--replies", o->replies, "Replies per length level")->capture_default_str();
  cmd->add_flag("--deep", o->deep, "Reply deep into the conversations instead of at their start");
  cmd->add_option("-n,--max-reply", o->max_reply, "Token limit per reply")->capture_default_str();
  cmd->add_option("-c,--ctx", o->ctx, "Context length (default: the model's)");
  cmd->add_option("--md", o->md, "Also write the Markdown table to this file");
  cmd->add_option("--svg", o->svg, "Write the box plot to this SVG file");
  cmd->add_flag("--json", o->json, "End with one JSON line: {\"levels\":[...],\"spearman\":...}");
  o->sampler.add_to(*cmd);
  cmd->callback([o, &state] { state.exit_code = report(run_eval_length(*o)); });
}

}  // namespace limarp::cli
