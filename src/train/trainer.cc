#include "train/trainer.h"

#include <chrono>
#include <cstdio>
#include <filesystem>

#include "base/atomic_folder.h"
#include "base/log.h"
#include "base/memory_size.h"
#include "base/rng.h"
#include "base/thread_pool.h"
#include "hub/hub_name.h"
#include "hub/hub_pull.h"
#include "infer/model_bundle.h"
#include "infer/model_writer.h"
#include "model/lora_export.h"
#include "model/training_pass.h"
#include "train/batch_plan.h"
#include "train/checkpoint.h"
#include "train/dataset.h"
#include "train/optimizer.h"
#include "train/progress.h"

namespace fs = std::filesystem;

namespace limarp::train {
namespace {

// PEFT records the base as a Hub repository id, so an adapter trained on "hf:ORG/NAME:TAG"
// names "ORG/NAME" the way Python tools expect; a local path stays a path.
std::string peft_base_name(const std::string& base_model) {
  if (!hub::is_hub_name(base_model)) return base_model;
  auto name = hub::parse_hub_name(base_model);
  return name.ok() ? name->repo : base_model;
}

}  // namespace

struct Trainer::Impl {
  TrainConfig config;
  TrainerOptions options;
  ThreadPool pool;
  ModelBundle bundle;
  std::unique_ptr<TrainableModel> model;
  std::unique_ptr<TrainingPass> pass;
  std::unique_ptr<AdamW> optimizer;
  std::vector<Sample> train_samples, val_samples;
  std::unique_ptr<BatchPlan> plan;
  LrSchedule schedule;
  int64_t total_steps = 0;
  MemoryPlan memory;
  Rng rng;
  TrainerState state;
  std::FILE* log_file = nullptr;

  Impl(TrainConfig c, TrainerOptions o, ModelBundle b)
      : config(std::move(c)), options(std::move(o)), pool(options.threads), bundle(std::move(b)), rng(config.seed) {}
  ~Impl() {
    if (log_file) std::fclose(log_file);
  }

  Status setup();
  double evaluate();
  Status save(const std::string& dir);
  Status write_outputs(TrainSummary& summary);
  void log_line(const std::string& json) {
    if (!log_file) return;
    std::fprintf(log_file, "%s\n", json.c_str());
    std::fflush(log_file);
  }
};

namespace {

// What this run will hold, from the config and the base alone: judged before the datasets,
// the trainable parameters or the pass buffers are allocated.
MemoryPlanInput plan_input(const TrainConfig& config, const LlamaModel& base, BaseQuantization quant,
                           const LoraAdapter* continued) {
  MemoryPlanInput in;
  in.title = fmt::format("memory plan for this run ({}, {} tokens per micro-batch):",
                         !config.is_lora() ? "full-parameter" : (quant == BaseQuantization::kAsStored ? "LoRA" : "QLoRA"),
                         config.micro_batch_size * config.sequence_len);
  in.model = base.config();
  in.full = !config.is_lora();
  in.quant = quant;
  in.matrix_type = base.layer(0).wq.type;
  in.embedding_type = base.weights().token_embd.type;
  in.lora_rank = continued ? continued->max_rank() : config.lora_r;
  if (continued) {
    for (Projection p : kAllProjections)
      for (int64_t l = 0; l < base.config().n_layers; ++l)
        if (continued->pair(l, p)) {
          in.lora_targets.push_back(p);
          break;
        }
  } else {
    in.lora_targets = config.lora_targets();
  }
  in.lora_dropout = config.lora_dropout > 0;
  in.micro_batch_tokens = config.micro_batch_size * config.sequence_len;
  in.checkpointing = config.gradient_checkpointing ? Checkpointing::kPerLayer : Checkpointing::kOff;
  return in;
}

}  // namespace

Status Trainer::Impl::setup() {
  const LlamaModel& base = bundle.model;
  const BaseQuantization quant = config.adapter == AdapterKind::kQlora
                                     ? (config.double_quant ? BaseQuantization::kNF4DoubleQuant : BaseQuantization::kNF4)
                                     : BaseQuantization::kAsStored;
  std::optional<LoraAdapter> continued;
  if (config.is_lora() && !config.lora_model_dir.empty()) {
    LIMARP_ASSIGN_OR_RETURN(const std::string adapter_dir, hub::resolve_model_path(config.lora_model_dir));
    LIMARP_ASSIGN_OR_RETURN(LoraAdapter adapter, LoraAdapter::load(adapter_dir, base));
    continued = std::move(adapter);
  }
  memory = plan_memory(plan_input(config, base, quant, continued ? &*continued : nullptr));
  log::info("{}", memory.describe());
  log::info("{}", plan_memory(card_run()).describe());
  LIMARP_TRY(check_memory_plan(memory, options.max_memory).with_context(config.source));

  const Tokenizer& tok = *bundle.tokenizer;
  std::vector<DatasetReport> reports;
  LIMARP_ASSIGN_OR_RETURN(std::vector<Sample> samples, load_datasets(config, tok, reports));
  for (size_t i = 0; i < reports.size(); ++i) {
    const DatasetReport& r = reports[i];
    log::info("dataset {} ({}): {} samples{}, {} tokens ({} trained){}{}", config.datasets[i].path,
              dataset_type_name(config.datasets[i].type), r.samples,
              r.derived ? fmt::format(" ({} of them length variants)", r.derived) : "", r.tokens, r.trained_tokens,
              r.stop_decisions ? fmt::format(", {} stop-or-go-on decisions", r.stop_decisions) : "",
              r.dropped_too_long ? fmt::format(", {} longer than sequence_len {} dropped", r.dropped_too_long,
                                               config.sequence_len)
                                 : "");
  }
  std::tie(train_samples, val_samples) = split_validation(std::move(samples), config.val_set_size, config.seed);
  if (train_samples.empty()) return make_error("{}: the datasets yield no training samples", config.source);

  if (!config.is_lora()) {
    LIMARP_ASSIGN_OR_RETURN(TrainableModel tm, TrainableModel::full(base));
    model = std::make_unique<TrainableModel>(std::move(tm));
  } else if (continued) {
    const LoraAdapter& adapter = *continued;
    if (adapter.max_rank() != config.lora_r || adapter.config().lora_alpha != config.lora_alpha)
      log::warn("{}: continuing {} with its own rank {} and alpha {} (the config says r {}, alpha {})", config.source,
                config.lora_model_dir, adapter.max_rank(), adapter.config().lora_alpha, config.lora_r,
                config.lora_alpha);
    LIMARP_ASSIGN_OR_RETURN(TrainableModel tm, TrainableModel::lora_from_adapter(
                                                   base, adapter, static_cast<float>(config.lora_dropout), quant));
    model = std::make_unique<TrainableModel>(std::move(tm));
  } else {
    LoraTrainSpec spec;
    spec.rank = config.lora_r;
    spec.alpha = config.lora_alpha;
    spec.dropout = static_cast<float>(config.lora_dropout);
    spec.targets = config.lora_targets();
    LIMARP_ASSIGN_OR_RETURN(TrainableModel tm, TrainableModel::lora(base, spec, quant, config.seed));
    model = std::make_unique<TrainableModel>(std::move(tm));
  }
  if (model->is_full() == false) model->lora_config().base_model_name_or_path = peft_base_name(config.base_model);

  TrainingPassOptions pass_options;
  pass_options.checkpointing = config.gradient_checkpointing ? Checkpointing::kPerLayer : Checkpointing::kOff;
  pass_options.precision = config.bf16 && config.is_lora() ? TrainPrecision::kBF16 : TrainPrecision::kF32;
  pass = std::make_unique<TrainingPass>(*model, pool, pass_options);
  optimizer = std::make_unique<AdamW>(
      model->params(), AdamWOptions{config.adam_beta1, config.adam_beta2, config.adam_epsilon, config.weight_decay});
  plan = std::make_unique<BatchPlan>(train_samples, BatchPlanOptions{config.micro_batch_size, config.sequence_len,
                                                                     config.sample_packing, config.seed});
  const int64_t per_epoch = plan->micro_batches_per_epoch();
  const int64_t steps_per_epoch = (per_epoch + config.gradient_accumulation_steps - 1) / config.gradient_accumulation_steps;
  total_steps = config.max_steps > 0
                    ? config.max_steps
                    : std::max<int64_t>(1, static_cast<int64_t>(std::ceil(config.num_epochs * static_cast<double>(steps_per_epoch))));
  schedule.kind = config.lr_scheduler;
  schedule.base_lr = config.learning_rate;
  schedule.total_steps = total_steps;
  schedule.warmup_steps = config.warmup_steps > 0 ? config.warmup_steps
                                                  : static_cast<int64_t>(std::ceil(config.warmup_ratio * static_cast<double>(total_steps)));

  log::info("training {} samples ({} micro-batches per epoch, {} for validation): {} steps of {} x {}; {}", train_samples.size(),
            per_epoch, val_samples.size(), total_steps, config.micro_batch_size, config.gradient_accumulation_steps,
            model->is_full() ? fmt::format("{} parameters", model->params().elements())
                             : fmt::format("LoRA r {} on {} matrices ({} parameters)", model->max_lora_rank(),
                                           model->params().size() / 2, model->params().elements()));
  return {};
}

double Trainer::Impl::evaluate() {
  double total = 0;
  int64_t count = 0;
  TrainBatch batch;
  for (size_t i = 0; i < val_samples.size(); i += static_cast<size_t>(config.micro_batch_size)) {
    batch.clear();
    for (size_t j = i; j < std::min(val_samples.size(), i + static_cast<size_t>(config.micro_batch_size)); ++j)
      append_sample(batch, val_samples[j]);
    total += pass->forward(batch, PassMode::kEval, 0.0f, 0);
    count += batch.loss_tokens();
  }
  return count > 0 ? total / static_cast<double>(count) : NAN;
}

Status Trainer::Impl::save(const std::string& dir) {
  const uint64_t* s = rng.state();
  for (int i = 0; i < 4; ++i) state.rng[i] = s[i];
  std::function<Status(const std::string&)> extra;
  if (!model->is_full())
    extra = [&](const std::string& temp) -> Status {
      LIMARP_ASSIGN_OR_RETURN(LoraAdapter adapter, model->to_adapter(bundle.model));
      return write_peft_files(temp, adapter, bundle.model.config());
    };
  return save_checkpoint(dir, model->params(), *optimizer, state, extra);
}

Status Trainer::Impl::write_outputs(TrainSummary& summary) {
  if (!model->is_full()) {
    LIMARP_ASSIGN_OR_RETURN(LoraAdapter adapter, model->to_adapter(bundle.model));
    LIMARP_TRY(write_peft_files(config.output_dir, adapter, bundle.model.config()));
    summary.output = config.output_dir;
    return {};
  }
  WriteOptions w;
  w.vocab = &bundle.tokenizer->vocab();
  w.name = "limarp-trained";
  summary.output = (fs::path(config.output_dir) / "model.gguf").string();
  return write_model_tensors(model->config(), model->dense_tensors(), summary.output, w);
}

Result<std::unique_ptr<Trainer>> Trainer::create(TrainConfig config, TrainerOptions options) {
  LIMARP_ASSIGN_OR_RETURN(ModelBundle bundle,
                          load_model_bundle(config.base_model, {.tokenizer_path = config.tokenizer, .require_tokenizer = true}));
  options.rope.automatic = false;
  LIMARP_ASSIGN_OR_RETURN(std::string rope, bundle.model.apply_rope_overrides(options.rope, config.sequence_len));
  log::info("{}", rope);
  const LlamaConfig& c = bundle.model.config();
  if (!c.rope_scaling.active() && config.sequence_len > c.context_length)
    log::warn("sequence_len {} exceeds the trained context {} and no RoPE scaling is set: positions past it are "
              "extrapolated (inference at that context scales NTK-aware by default; pass the same --rope-* here)",
              config.sequence_len, c.context_length);
  auto impl = std::make_unique<Impl>(std::move(config), std::move(options), std::move(bundle));
  LIMARP_TRY(impl->setup());
  return std::unique_ptr<Trainer>(new Trainer(std::move(impl)));
}

Trainer::Trainer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Trainer::~Trainer() = default;
int64_t Trainer::total_steps() const { return impl_->total_steps; }
const MemoryPlan& Trainer::memory_plan() const { return impl_->memory; }

Result<TrainSummary> Trainer::run() {
  Impl& m = *impl_;
  const TrainConfig& c = m.config;
  TrainSummary summary;
  m.state.data_digest = c.data_digest();
  if (!m.options.resume_from.empty()) {
    TrainerState loaded;
    LIMARP_TRY(load_checkpoint(m.options.resume_from, m.model->params(), *m.optimizer, loaded)
                   .with_context(fmt::format("resuming from {}", m.options.resume_from)));
    if (loaded.data_digest != m.state.data_digest)
      return make_error("{}: the checkpoint was made with other data settings (datasets, sequence_len, "
                        "micro_batch_size, gradient_accumulation_steps, sample_packing, seed or val_set_size); resuming "
                        "would not continue the same run",
                        m.options.resume_from);
    m.state = loaded;
    m.rng.set_state(loaded.rng);
    log::info("resumed from {} at step {}", m.options.resume_from, m.state.step);
  }
  const bool bench = m.options.benchmark_steps > 0;
  std::error_code ec;
  if (!bench) {
    fs::create_directories(c.output_dir, ec);
    if (ec) return make_error("cannot create output_dir {}: {}", c.output_dir, ec.message());
    clean_stale_temporaries(c.output_dir);  // checkpoints of a killed run
    const std::string log_path = (fs::path(c.output_dir) / "train_log.jsonl").string();
    m.log_file = std::fopen(log_path.c_str(), m.state.step > 0 ? "a" : "w");
    if (!m.log_file) return make_error("cannot write {}", log_path);
  }
  if (!bench && !m.val_samples.empty() && m.state.step == 0) {
    summary.first_eval_loss = m.evaluate();
    m.log_line(fmt::format(R"({{"step":0,"eval_loss":{:.6f}}})", summary.first_eval_loss));
    log::info("validation loss before training: {:.4f}", summary.first_eval_loss);
  }
  const int64_t ga = c.gradient_accumulation_steps;
  const int64_t end_step = bench ? std::min(m.total_steps, m.state.step + m.options.benchmark_steps + 1) : m.total_steps;
  ProgressBar progress(m.options.progress && !bench);
  std::vector<TrainBatch> batches(static_cast<size_t>(ga));
  int64_t timed_tokens = 0;
  double timed_seconds = 0;
  const int64_t first_step = m.state.step;
  int64_t last_saved = -1, last_eval = m.state.step == 0 ? 0 : -1;
  using Clock = std::chrono::steady_clock;
  const auto run_start = Clock::now();
  while (m.state.step < end_step) {
    const auto t0 = Clock::now();
    int64_t count = 0, rows = 0;
    for (int64_t i = 0; i < ga; ++i) {
      m.plan->fill(batches[static_cast<size_t>(i)], m.state.micro_batch_cursor + i);
      count += batches[static_cast<size_t>(i)].loss_tokens();
    }
    m.model->params().zero_grads();
    double loss_sum = 0;
    const float scale = count > 0 ? 1.0f / static_cast<float>(count) : 0.0f;
    for (auto& b : batches) {
      loss_sum += m.pass->forward(b, PassMode::kTrain, scale, m.rng.next_u64());
      m.pass->backward(b);
      rows += b.rows();
    }
    const double loss = count > 0 ? loss_sum / static_cast<double>(count) : NAN;
    const double grad_norm = clip_grad_norm(m.model->params(), c.max_grad_norm);
    const double lr = m.schedule.at(m.state.step);
    if (count > 0) m.optimizer->step(lr, m.pool);
    ++m.state.step;
    m.state.micro_batch_cursor += ga;
    m.state.tokens_seen += rows;
    const double dt = std::chrono::duration<double>(Clock::now() - t0).count();
    if (m.state.step == first_step + 1)
      log::info("after the first step: activations {} (planned {} for full micro-batches), kernel scratch {} (outside "
                "the plan: it depends on this CPU's kernels and the thread count), peak resident memory {} (plan "
                "total {})",
                human_bytes(m.pass->buffer_bytes()), human_bytes(m.memory.activations),
                human_bytes(m.pass->scratch_bytes()), human_bytes(peak_resident_bytes()),
                human_bytes(m.memory.total()));
    if (!bench || m.state.step > first_step + 1) {  // a benchmark skips its warm-up step
      timed_tokens += rows;
      timed_seconds += dt;
    }
    summary.last_train_loss = loss;
    if (m.state.step % c.logging_steps == 0 || m.state.step == end_step)
      m.log_line(fmt::format(
          R"({{"step":{},"epoch":{:.4f},"loss":{},"lr":{:.6e},"grad_norm":{:.6f},"tokens":{},"tokens_per_s":{:.1f},"elapsed_s":{:.3f}}})",
          m.state.step, m.plan->epoch_of(m.state.micro_batch_cursor), std::isnan(loss) ? "null" : fmt::format("{:.6f}", loss),
          lr, grad_norm, rows, static_cast<double>(rows) / dt,
          std::chrono::duration<double>(Clock::now() - run_start).count()));
    progress.update({m.state.step, end_step, loss, lr, static_cast<double>(rows) / dt});
    if (!bench && c.eval_steps > 0 && m.state.step % c.eval_steps == 0 && !m.val_samples.empty()) {
      const double e = m.evaluate();
      m.log_line(fmt::format(R"({{"step":{},"eval_loss":{:.6f}}})", m.state.step, e));
      last_eval = m.state.step;
      summary.last_eval_loss = e;
    }
    if (!bench && c.save_steps > 0 && m.state.step % c.save_steps == 0 && m.state.step < end_step) {
      summary.checkpoint = (fs::path(c.output_dir) / fmt::format("checkpoint-{}", m.state.step)).string();
      LIMARP_TRY(m.save(summary.checkpoint));
      last_saved = m.state.step;
    }
    if (m.options.stop_requested && m.options.stop_requested()) {
      summary.interrupted = m.state.step < end_step;
      break;
    }
  }
  progress.finish();
  summary.steps = m.state.step;
  summary.tokens_per_s = timed_seconds > 0 ? static_cast<double>(timed_tokens) / timed_seconds : 0;
  if (bench) return summary;
  if (!m.val_samples.empty() && last_eval != m.state.step) {
    summary.last_eval_loss = m.evaluate();
    m.log_line(fmt::format(R"({{"step":{},"eval_loss":{:.6f}}})", m.state.step, summary.last_eval_loss));
  }
  if (!m.val_samples.empty()) log::info("validation loss after step {}: {:.4f}", m.state.step, summary.last_eval_loss);
  if (last_saved != m.state.step) {
    summary.checkpoint = (fs::path(c.output_dir) / fmt::format("checkpoint-{}", m.state.step)).string();
    LIMARP_TRY(m.save(summary.checkpoint));
  }
  if (summary.interrupted) {
    log::info("stopped at step {}: checkpoint {} (continue with --resume {})", m.state.step, summary.checkpoint,
              summary.checkpoint);
    return summary;
  }
  LIMARP_TRY(m.write_outputs(summary));
  return summary;
}

}  // namespace limarp::train
