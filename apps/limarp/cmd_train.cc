// `limarp train CONFIG.yml [--resume DIR]`: a LoRA, QLoRA or full-parameter training run
// from an Axolotl-style YAML config. Ctrl-C finishes the current step, writes a checkpoint
// and exits cleanly (a second Ctrl-C exits at once). --benchmark N times N steps and prints
// {"tokens_per_s": ...} without writing anything.
#include <cmath>
#include <csignal>
#include <cstdio>
#include <unistd.h>

#include "base/json_util.h"
#include "base/log.h"
#include "base/memory_size.h"
#include "commands.h"
#include "model_options.h"
#include "train/trainer.h"

namespace limarp::cli {
namespace {

// A signal handler can only talk through a variable of static storage: this is the one piece
// of process state the train command owns, and only the handler below writes it.
volatile std::sig_atomic_t g_stop_requested = 0;

extern "C" void on_interrupt(int) {
  if (g_stop_requested) {
    std::signal(SIGINT, SIG_DFL);
    std::raise(SIGINT);
    return;
  }
  g_stop_requested = 1;
  static const char kMessage[] = "\nlimarp: stopping after this step and writing a checkpoint (Ctrl-C again to abort)\n";
  [[maybe_unused]] const ssize_t n = ::write(2, kMessage, sizeof(kMessage) - 1);
}

struct TrainCliOptions {
  std::string config, resume, max_memory;
  int threads = 1;
  int64_t benchmark = 0;
  bool no_progress = false;
  RopeOverrides rope;
};

Status run_train(const TrainCliOptions& o) {
  LIMARP_ASSIGN_OR_RETURN(train::TrainConfig config, train::load_train_config(o.config));
  train::TrainerOptions options;
  options.threads = o.threads;
  options.resume_from = o.resume;
  options.benchmark_steps = o.benchmark;
  if (!o.max_memory.empty()) {
    LIMARP_ASSIGN_OR_RETURN(options.max_memory, parse_memory_size(o.max_memory).with_context("--max-memory"));
  }
  options.progress = !o.no_progress;
  options.rope = o.rope;
  options.stop_requested = [] { return g_stop_requested != 0; };
  LIMARP_ASSIGN_OR_RETURN(auto trainer, train::Trainer::create(std::move(config), options));
  g_stop_requested = 0;
  std::signal(SIGINT, on_interrupt);
  auto summary = trainer->run();
  std::signal(SIGINT, SIG_DFL);
  if (!summary.ok()) return summary.error();
  const train::TrainSummary& s = *summary;
  if (o.benchmark > 0) {
    Json j{{"tokens_per_s", s.tokens_per_s}, {"steps", o.benchmark}, {"threads", o.threads}};
    std::printf("%s\n", j.dump().c_str());
    return {};
  }
  Json j{{"steps", s.steps}, {"interrupted", s.interrupted}, {"checkpoint", s.checkpoint}, {"output", s.output},
         {"tokens_per_s", s.tokens_per_s}};
  j["last_train_loss"] = std::isnan(s.last_train_loss) ? Json(nullptr) : Json(s.last_train_loss);
  j["first_eval_loss"] = std::isnan(s.first_eval_loss) ? Json(nullptr) : Json(s.first_eval_loss);
  j["last_eval_loss"] = std::isnan(s.last_eval_loss) ? Json(nullptr) : Json(s.last_eval_loss);
  std::printf("%s\n", j.dump().c_str());
  if (!s.interrupted) log::info("wrote {}", s.output);
  return {};
}

}  // namespace

void register_train(CLI::App& root, RunState& state) {
  auto o = std::make_shared<TrainCliOptions>();
  CLI::App* cmd = root.add_subcommand("train", "Train a LoRA / QLoRA adapter or a whole small model from a YAML config");
  cmd->add_option("config", o->config, "Axolotl-style YAML config (see docs/training.md)")->required();
  cmd->add_option("--resume", o->resume, "Continue from a checkpoint folder (output_dir/checkpoint-N)");
  cmd->add_option("--benchmark", o->benchmark, "Time N steps (after one warm-up step); write nothing")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 30));
  cmd->add_option("--max-memory", o->max_memory,
                  "Refuse a run whose memory plan exceeds SIZE (8G, 512M; default: the machine's available memory)")
      ->type_name("SIZE");
  cmd->add_flag("--no-progress", o->no_progress, "No progress bar on stderr");
  add_threads_option(*cmd, o->threads);
  add_rope_options(*cmd, o->rope);
  cmd->callback([o, &state] { state.exit_code = report(run_train(*o)); });
}

}  // namespace limarp::cli
