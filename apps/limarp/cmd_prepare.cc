// `limarp prepare CONFIG.yml`: validates a training config and previews its data without
// training — sample and token counts per dataset, the (length = LEVEL) histogram of LimaRP
// data, a few rendered samples with the trained parts marked «like this», the number of
// optimizer steps and the memory plan.
#include <cstdio>

#include "base/json_util.h"
#include "base/log.h"
#include "commands.h"
#include "infer/model_bundle.h"
#include "train/batch_plan.h"
#include "train/dataset.h"
#include "train/memory_plan.h"

namespace limarp::cli {
namespace {

struct PrepareOptions {
  std::string config;
  int show = 2;
  bool json = false;
};

Status run_prepare(const PrepareOptions& o) {
  LIMARP_ASSIGN_OR_RETURN(train::TrainConfig c, train::load_train_config(o.config));
  LIMARP_ASSIGN_OR_RETURN(ModelBundle bundle,
                          load_model_bundle(c.base_model, {.tokenizer_path = c.tokenizer, .require_tokenizer = true}));
  const Tokenizer& tok = *bundle.tokenizer;
  std::vector<train::DatasetReport> reports;
  LIMARP_ASSIGN_OR_RETURN(std::vector<train::Sample> samples, train::load_datasets(c, tok, reports));
  std::vector<train::Sample> preview(samples.begin(), samples.begin() + std::min<size_t>(samples.size(), static_cast<size_t>(o.show)));
  auto [train_samples, val_samples] = train::split_validation(std::move(samples), c.val_set_size, c.seed);
  if (train_samples.empty()) return make_error("{}: the datasets yield no training samples", c.source);
  const train::BatchPlan plan(train_samples, {c.micro_batch_size, c.sequence_len, c.sample_packing, c.seed});
  const int64_t per_epoch = plan.micro_batches_per_epoch();
  const int64_t steps_per_epoch = (per_epoch + c.gradient_accumulation_steps - 1) / c.gradient_accumulation_steps;
  const int64_t steps = c.max_steps > 0 ? c.max_steps
                                        : std::max<int64_t>(1, static_cast<int64_t>(std::ceil(c.num_epochs * static_cast<double>(steps_per_epoch))));

  Json j;
  j["datasets"] = Json::array();
  std::array<int64_t, kLengthLevelCount> histogram{};
  for (size_t i = 0; i < reports.size(); ++i) {
    const train::DatasetReport& r = reports[i];
    Json hist;
    for (LengthLevel l : kAllLengthLevels) {
      hist[length_level_name(l)] = r.length_histogram[length_level_index(l)];
      histogram[length_level_index(l)] += r.length_histogram[length_level_index(l)];
    }
    j["datasets"].push_back({{"path", c.datasets[i].path}, {"type", train::dataset_type_name(c.datasets[i].type)},
                             {"files", r.files}, {"records", r.records}, {"samples", r.samples}, {"derived_samples", r.derived},
                             {"dropped_too_long", r.dropped_too_long}, {"dropped_empty", r.dropped_empty},
                             {"tokens", r.tokens}, {"trained_tokens", r.trained_tokens},
                             {"stop_decisions", r.stop_decisions}, {"length_histogram", hist}});
  }
  j["train_samples"] = train_samples.size();
  j["val_samples"] = val_samples.size();
  j["micro_batches_per_epoch"] = per_epoch;
  j["steps"] = steps;
  if (o.json) {
    j["previews"] = Json::array();
    for (const auto& s : preview) j["previews"].push_back({{"origin", s.origin}, {"text", train::render_with_mask(s, tok)}});
    std::printf("%s\n", j.dump().c_str());
    return {};
  }
  std::printf("config %s: valid\n", c.source.c_str());
  for (size_t i = 0; i < reports.size(); ++i) {
    const train::DatasetReport& r = reports[i];
    std::printf("dataset %s (%s): %lld files, %lld records -> %lld samples, %lld tokens, %lld trained", c.datasets[i].path.c_str(),
                train::dataset_type_name(c.datasets[i].type), static_cast<long long>(r.files),
                static_cast<long long>(r.records), static_cast<long long>(r.samples), static_cast<long long>(r.tokens),
                static_cast<long long>(r.trained_tokens));
    if (r.derived) std::printf(" (%lld samples are length variants)", static_cast<long long>(r.derived));
    if (r.stop_decisions)
      std::printf("; %lld stop-or-go-on decisions", static_cast<long long>(r.stop_decisions));
    if (r.dropped_too_long) std::printf("; %lld dropped (longer than sequence_len %lld)", static_cast<long long>(r.dropped_too_long), static_cast<long long>(c.sequence_len));
    std::printf("\n");
  }
  int64_t labelled = 0;
  for (int64_t n : histogram) labelled += n;
  if (labelled > 0) {
    std::printf("length labels of %lld replies:\n", static_cast<long long>(labelled));
    for (LengthLevel l : kAllLengthLevels) {
      const int64_t n = histogram[length_level_index(l)];
      std::printf("  %-10s %6lld  %s\n", length_level_name(l), static_cast<long long>(n),
                  std::string(static_cast<size_t>(40 * n / std::max<int64_t>(1, labelled)), '#').c_str());
    }
  }
  std::printf("%zu training samples, %zu validation; %lld micro-batches per epoch; %lld optimizer steps\n",
              train_samples.size(), val_samples.size(), static_cast<long long>(per_epoch), static_cast<long long>(steps));
  for (const auto& s : preview)
    std::printf("\n--- %s (trained parts between « and »)\n%s\n", s.origin.c_str(), train::render_with_mask(s, tok).c_str());
  return {};
}

}  // namespace

void register_prepare(CLI::App& root, RunState& state) {
  auto o = std::make_shared<PrepareOptions>();
  CLI::App* cmd = root.add_subcommand("prepare", "Validate a training config and preview its samples, counts and length labels");
  cmd->add_option("config", o->config, "Axolotl-style YAML config")->required();
  cmd->add_option("--show", o->show, "Rendered samples to show")->capture_default_str();
  cmd->add_flag("--json", o->json, "Print the counts (and previews) as one JSON object");
  cmd->callback([o, &state] { state.exit_code = report(run_prepare(*o)); });
}

}  // namespace limarp::cli
