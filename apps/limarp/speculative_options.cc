#include "speculative_options.h"

#include "base/log.h"

namespace limarp::cli {

void add_speculative_options(CLI::App& cmd, SpeculativeCliOptions& o) {
  const std::string group = "Speculative decoding (docs/performance.md; same output, fewer passes)";
  cmd.add_option("--draft-model", o.draft_model,
                 "A smaller model with the same tokenizer that guesses the next tokens for the model to verify")
      ->group(group);
  cmd.add_option("--draft-n", o.draft_n, "Tokens the draft model guesses per round")
      ->check(CLI::Range(int64_t{1}, int64_t{64}))
      ->capture_default_str()
      ->group(group);
  cmd.add_option("--lookup", o.lookup,
                 "Prompt lookup: guess up to N tokens by finding the last words earlier in the context (no second "
                 "model; 0 = off)")
      ->check(CLI::Range(int64_t{0}, int64_t{64}))
      ->type_name("N")
      ->group(group);
}

Result<DraftSource> load_draft_source(const SpeculativeCliOptions& o, const ModelCliOptions& model,
                                      const Tokenizer& target, ThreadPool& pool) {
  if (!o.draft_model.empty() && o.lookup > 0)
    return make_error("--draft-model and --lookup are two ways to draft tokens; choose one");
  if (o.lookup > 0) {
    DraftSource s = DraftSource::lookup(o.lookup);
    log::info("speculative decoding: {}", s.describe());
    return s;
  }
  if (o.draft_model.empty()) return DraftSource();
  auto bundle = load_model_bundle(o.draft_model, {.tokenizer_path = "",
                                                  .require_tokenizer = true,
                                                  .interleave_for_decode = !model.no_repack,
                                                  .threads = model.threads});
  if (!bundle.ok()) return make_error("--draft-model {}: {}", o.draft_model, bundle.error().message());
  auto s = DraftSource::model(std::move(*bundle), target, pool, o.draft_n, model.kv_type);
  if (!s.ok()) return make_error("--draft-model {}: {}", o.draft_model, s.error().message());
  log::info("speculative decoding: {}", s->describe());
  return std::move(*s);
}

void log_speculative_stats(const SpeculativeStats& s) {
  const double kept = s.drafted > 0 ? 100.0 * static_cast<double>(s.accepted) / static_cast<double>(s.drafted) : 0;
  log::info("speculative: {} of {} guessed tokens kept ({:.0f} %) in {} verification passes", s.accepted, s.drafted,
            kept, s.rounds);
}

}  // namespace limarp::cli
