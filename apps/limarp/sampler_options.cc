#include "sampler_options.h"

namespace limarp::cli {

void SamplerCliOptions::add_to(CLI::App& cmd) {
  cmd.add_option("--temperature,--temp", s.temperature, "Temperature; 0 = greedy")->capture_default_str()->group("Sampling");
  cmd.add_option("--top-k", s.top_k, "Top-k; 0 = off")->capture_default_str()->group("Sampling");
  cmd.add_option("--top-p", s.top_p, "Top-p; 1 = off")->capture_default_str()->group("Sampling");
  cmd.add_option("--min-p", s.min_p, "Min-p; 0 = off")->capture_default_str()->group("Sampling");
  cmd.add_option("--typical-p", s.typical_p, "Typical-p; 1 = off")->capture_default_str()->group("Sampling");
  cmd.add_option("--tfs", s.tfs, "Tail-free sampling; 1 = off")->capture_default_str()->group("Sampling");
  cmd.add_option("--top-a", s.top_a, "Top-a; 0 = off")->capture_default_str()->group("Sampling");
  cmd.add_option("--rep-pen", s.rep_pen, "Repetition penalty; 1 = off")->capture_default_str()->group("Sampling");
  cmd.add_option("--rep-pen-range", s.rep_pen_range, "Tokens the repetition penalty looks back")->capture_default_str()->group("Sampling");
  cmd.add_option("--rep-pen-slope", s.rep_pen_slope, "Repetition penalty slope")->capture_default_str()->group("Sampling");
  cmd.add_option("--presence-penalty", s.presence_penalty, "Presence penalty")->capture_default_str()->group("Sampling");
  cmd.add_option("--frequency-penalty", s.frequency_penalty, "Frequency penalty")->capture_default_str()->group("Sampling");
  cmd.add_option("--dry-multiplier", s.dry_multiplier, "DRY multiplier; 0 = off")->capture_default_str()->group("Sampling");
  cmd.add_option("--xtc-probability", s.xtc_probability, "XTC probability; 0 = off")->capture_default_str()->group("Sampling");
  cmd.add_option("--xtc-threshold", s.xtc_threshold, "XTC threshold")->capture_default_str()->group("Sampling");
  cmd.add_option("--mirostat", s.mirostat, "Mirostat version: 0 off, 1, 2")->capture_default_str()->group("Sampling");
  cmd.add_option("--mirostat-tau", s.mirostat_tau, "Mirostat target surprise")->capture_default_str()->group("Sampling");
  cmd.add_option("--mirostat-eta", s.mirostat_eta, "Mirostat learning rate")->capture_default_str()->group("Sampling");
  cmd.add_option("--banned-string", s.banned_strings, "A phrase the model must not write; repeatable")->group("Sampling");
  cmd.add_option("--sampler-order", order, "Order, e.g. 6,0,1,3,4,2,5 or rep_pen,top_k,...")->group("Sampling");
  cmd.add_option("--seed", seed, "Random seed (default: random)")->group("Sampling")->each([this](const std::string&) {
    seed_given = true;
  });
}

Result<SamplerSettings> SamplerCliOptions::settings() const {
  SamplerSettings out = s;
  if (!order.empty()) {
    LIMARP_ASSIGN_OR_RETURN(out.order, parse_sampler_order(order));
  }
  if (seed_given) out.seed = seed;
  LIMARP_TRY(validate(out));
  return out;
}

}  // namespace limarp::cli
