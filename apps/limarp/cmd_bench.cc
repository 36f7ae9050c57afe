// `limarp bench`: prompt-processing and generation speed of a model, as mean ± sd over
// repetitions (like llama-bench), next to the machine's measured read bandwidth and the
// decode ceiling it implies for this file (bandwidth / weight bytes read per token).

#include <chrono>
#include <cmath>
#include <numeric>
#include <optional>

#include "base/json_util.h"
#include "base/mapped_file.h"
#include "base/memory_size.h"
#include "base/rng.h"
#include "base/thread_pool.h"
#include "commands.h"
#include "hub/hub_pull.h"
#include "kernels/bandwidth.h"
#include "kernels/cpu/registry.h"
#include "infer/adapter_specs.h"
#include "model/forward.h"
#include "bench_speculative.h"
#include "model_options.h"
#include "speculative_options.h"
#include "progress_line.h"

namespace limarp::cli {
namespace {

struct BenchOptions {
  ModelCliOptions model;
  int64_t prompt = 512, gen = 128, depth = 0;
  int reps = 3;
  bool json = false, skip_bandwidth = false;
  std::vector<int64_t> verify;  // tokens per verification pass to time
  SpeculativeCliOptions speculative;
  std::string spec_prompt_file;
};

struct Stats {
  double mean = 0, sd = 0;
};

Stats stats(const std::vector<double>& v) {
  Stats s;
  if (v.empty()) return s;
  s.mean = std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
  for (double x : v) s.sd += (x - s.mean) * (x - s.mean);
  s.sd = v.size() > 1 ? std::sqrt(s.sd / static_cast<double>(v.size() - 1)) : 0;
  return s;
}

// Weight bytes one decoded token reads: every matrix once, but one row of the embedding.
uint64_t bytes_per_token(const LlamaModel& m) {
  const auto& e = m.weights().token_embd;
  uint64_t b = m.weight_bytes() - e.nbytes + e.row_stride();
  if (m.config().tied_output) b += e.nbytes;
  return b;
}

// The cache a run needs: the depth plus the longest test and one token.
int64_t bench_context(const BenchOptions& o) {
  const int64_t verify = o.verify.empty() ? 0 : *std::max_element(o.verify.begin(), o.verify.end());
  return o.depth + std::max({o.prompt, o.gen, verify}) + 1;
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

Status run_bench(const BenchOptions& o) {
  LIMARP_ASSIGN_OR_RETURN(const std::string model_path, hub::resolve_model_path(o.model.model));
  LIMARP_ASSIGN_OR_RETURN(LlamaModel model, LlamaModel::load(model_path));
  LIMARP_TRY(configure_rope(model, o.model.rope, bench_context(o)));
  LIMARP_TRY(check_kv_type(o.model.kv_type, model.config()));
  ThreadPool pool(o.model.threads);
  CpuBackend cpu(pool);
  LIMARP_ASSIGN_OR_RETURN(std::unique_ptr<Backend> device, open_device(o.model, model, bench_context(o)));
  const int64_t repacked = o.model.no_repack || device ? 0 : model.prepare_weights(cpu);
  const LlamaConfig& c = model.config();
  LIMARP_ASSIGN_OR_RETURN(AdapterSet adapters, load_adapters(o.model.loras, model));
  const LinearAdapter* adapter = adapters.empty() ? nullptr : &adapters;
  Forward fwd = device ? Forward(model, pool, device.get(), o.model.gpu_layers) : Forward(model, cpu);
  Rng rng(1);
  auto random_tokens = [&](int64_t n) {
    std::vector<int32_t> t(static_cast<size_t>(n));
    for (auto& x : t) x = static_cast<int32_t>(rng.next_u64() % static_cast<uint64_t>(c.vocab_size));
    return t;
  };
  const int64_t warmup_tokens = std::min<int64_t>(o.prompt > 0 ? o.prompt : 8, 32);
  const int64_t ctx = std::max(bench_context(o), warmup_tokens);
  KvCache cache = fwd.make_kv_cache(ctx, o.model.kv_type);
  std::vector<float> logits;
  std::fprintf(stderr, "bench: %s\n  %s, %s, %.2f GiB\n  %s, %d threads\n", o.model.model.c_str(), c.describe().c_str(),
               model.weight_type_name().c_str(), static_cast<double>(model.weight_bytes()) / (1 << 30),
               device ? device->name().c_str() : kernels::describe_kernels().c_str(), o.model.threads);
  if (repacked > 0)
    std::fprintf(stderr, "  %lld q4_0/q8_0/q4_k/q6_k matrices regrouped 16 rows at a time (--no-repack: as stored)\n",
                 static_cast<long long>(repacked));
  // Warm-up: page the weights in and let the clocks settle.
  {
    auto t = random_tokens(warmup_tokens);
    LIMARP_TRY(fwd.eval(t, cache, logits, LogitsWanted::kLast, adapter));
    cache.clear();
  }
  // Both tests run after `depth` tokens of context: they are evaluated once (untimed), and each
  // repetition cuts the cache back to them.
  if (o.depth > 0 && (o.prompt > 0 || o.gen > 0)) {
    std::fprintf(stderr, "  filling %lld tokens of context\n", static_cast<long long>(o.depth));
    // In batches of 512, as chat and the server evaluate long prompts (bounded activations).
    const auto tokens = random_tokens(o.depth);
    ProgressLine progress("  context", "tokens");
    for (size_t i = 0; i < tokens.size(); i += 512) {
      LIMARP_TRY(fwd.eval(std::span(tokens).subspan(i, std::min<size_t>(512, tokens.size() - i)), cache, logits,
                          LogitsWanted::kLast, adapter));
      progress.update(cache.size(), o.depth);
    }
    progress.finish();
  }
  std::vector<double> pp, tg;
  for (int r = 0; r < o.reps && o.prompt > 0; ++r) {
    cache.truncate(o.depth);
    auto tokens = random_tokens(o.prompt);
    const auto t0 = std::chrono::steady_clock::now();
    LIMARP_TRY(fwd.eval(tokens, cache, logits, LogitsWanted::kLast, adapter));
    pp.push_back(static_cast<double>(o.prompt) / seconds_since(t0));
    std::fprintf(stderr, "  pp%lld rep %d: %.2f tok/s\n", static_cast<long long>(o.prompt), r + 1, pp.back());
  }
  for (int r = 0; r < o.reps && o.gen > 0; ++r) {
    cache.truncate(o.depth);
    int32_t tok = 1;
    const auto t0 = std::chrono::steady_clock::now();
    for (int64_t i = 0; i < o.gen; ++i) {
      LIMARP_TRY(fwd.eval(std::span<const int32_t>(&tok, 1), cache, logits, LogitsWanted::kLast, adapter));
      tok = static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
    }
    tg.push_back(static_cast<double>(o.gen) / seconds_since(t0));
    std::fprintf(stderr, "  tg%lld rep %d: %.2f tok/s\n", static_cast<long long>(o.gen), r + 1, tg.back());
  }
  std::vector<VerifyCost> verify;
  if (!o.verify.empty()) {
    std::fprintf(stderr, "  timing verification passes\n");
    LIMARP_ASSIGN_OR_RETURN(verify, bench_verify(fwd, cache, o.depth, o.verify, o.reps, adapter));
  }
  std::optional<SpeculativeBench> spec;
  std::string spec_source;
  if (!o.speculative.draft_model.empty() || o.speculative.lookup > 0) {
    LIMARP_ASSIGN_OR_RETURN(Tokenizer tok, find_tokenizer(model_path, model, ""));
    LIMARP_ASSIGN_OR_RETURN(DraftSource drafts, load_draft_source(o.speculative, o.model, tok, pool));
    std::string text = default_speculative_prompt();
    if (!o.spec_prompt_file.empty()) {
      LIMARP_ASSIGN_OR_RETURN(text, read_text_file(o.spec_prompt_file));
    }
    spec_source = drafts.describe();
    std::fprintf(stderr, "  speculative decoding (%s), alternated with plain decoding\n", spec_source.c_str());
    LIMARP_ASSIGN_OR_RETURN(spec, bench_speculative(fwd, tok, drafts, tok.encode(text), std::max<int64_t>(o.gen, 16),
                                                    o.reps, o.model.kv_type));
  }
  if (fwd.profile().calls > 0) std::fprintf(stderr, "%s\n", fwd.profile().describe().c_str());
  // The model's peak, read before the bandwidth probe allocates its own 1 GiB buffer.
  const double peak_mib = static_cast<double>(peak_resident_bytes()) / (1024.0 * 1024.0);
  double bw = 0;
  if (!o.skip_bandwidth) bw = kernels::measure_read_bandwidth(pool).gb_per_s;
  uint64_t bpt = bytes_per_token(model);
  for (size_t i = 0; i < adapters.size(); ++i) bpt += adapters.adapter(i).bytes();
  // Attention reads the keys and values of every cached position, on average depth + gen / 2.
  const uint64_t kv_read = KvCache::bytes_for(c.n_layers, c.kv_dim(), o.depth + o.gen / 2, o.model.kv_type);
  bpt += kv_read;
  const double limit = bw > 0 ? bw * 1e9 / static_cast<double>(bpt) : 0;

  const Stats p = stats(pp), g = stats(tg);
  const std::string at_depth = o.depth > 0 ? fmt::format(" @ d{}", o.depth) : "";
  std::printf("| model | type | size GiB | threads | test | t/s |\n|---|---|---|---|---|---|\n");
  if (!pp.empty())
    std::printf("| %s | %s | %.2f | %d | pp%lld%s | %.2f ± %.2f |\n", adapters.empty() ? "" : "+lora",
                model.weight_type_name().c_str(), static_cast<double>(model.weight_bytes()) / (1 << 30), o.model.threads,
                static_cast<long long>(o.prompt), at_depth.c_str(), p.mean, p.sd);
  if (!tg.empty())
    std::printf("| %s | %s | %.2f | %d | tg%lld%s | %.2f ± %.2f |\n", adapters.empty() ? "" : "+lora",
                model.weight_type_name().c_str(), static_cast<double>(model.weight_bytes()) / (1 << 30), o.model.threads,
                static_cast<long long>(o.gen), at_depth.c_str(), g.mean, g.sd);
  if (bw > 0)
    std::printf("read bandwidth %.1f GB/s (%d threads); %.2f GB read per token (%.2f GB of it KV cache); "
                "decode limit %.1f tok/s; generation at %.0f %% of it\n",
                bw, o.model.threads, static_cast<double>(bpt) / 1e9, static_cast<double>(kv_read) / 1e9, limit,
                limit > 0 ? 100.0 * g.mean / limit : 0.0);
  if (!verify.empty()) {
    std::printf("\n| tokens per pass | ms per pass%s | x one token |\n|---|---|---|\n", at_depth.c_str());
    for (const VerifyCost& v : verify) std::printf("| %lld | %.2f | %.2f |\n", static_cast<long long>(v.tokens), v.ms, v.ratio);
  }
  if (spec) {
    const Stats ps = stats(spec->plain_tok_s), ss = stats(spec->spec_tok_s);
    const SpeculativeStats& st = spec->stats;
    std::printf("\nspeculative decoding, %s: plain %.2f ± %.2f tok/s, speculative %.2f ± %.2f tok/s; "
                "median ratio %.2f over %zu alternated pairs; %lld of %lld guesses kept (%.0f %%), %.2f tokens per "
                "verification pass; same tokens: %s\n",
                spec_source.c_str(), ps.mean, ps.sd, ss.mean, ss.sd, median(spec->ratios), spec->ratios.size(),
                static_cast<long long>(st.accepted), static_cast<long long>(st.drafted),
                st.drafted ? 100.0 * static_cast<double>(st.accepted) / static_cast<double>(st.drafted) : 0.0,
                st.rounds ? static_cast<double>(st.accepted + st.rounds) / static_cast<double>(st.rounds) : 0.0,
                spec->same_text ? "yes" : "NO");
  }
  std::printf("peak memory %.0f MiB (weights %.0f MiB, KV cache %.0f MiB)\n", peak_mib,
              static_cast<double>(model.weight_bytes()) / (1 << 20), static_cast<double>(cache.bytes()) / (1 << 20));
  if (o.json) {
    Json j = {{"model", o.model.model},        {"type", model.weight_type_name()}, {"threads", o.model.threads},
              {"pp", o.prompt},          {"tg", o.gen},                      {"reps", o.reps},
              {"depth", o.depth},        {"kv_type", dtype_name(o.model.kv_type)},
              {"pp_tok_s", p.mean},      {"pp_sd", p.sd},                    {"tg_tok_s", g.mean},
              {"tg_sd", g.sd},           {"bandwidth_gb_s", bw},             {"bytes_per_token", bpt},
              {"decode_limit_tok_s", limit}, {"peak_rss_mib", peak_mib},     {"kv_cache_mib", static_cast<double>(cache.bytes()) / (1 << 20)},
              {"kernels", kernels::isa_name(kernels::active_isa())}, {"repacked_matrices", repacked}};
    if (!verify.empty()) {
      j["verify"] = Json::array();
      for (const VerifyCost& v : verify) j["verify"].push_back({{"tokens", v.tokens}, {"ms", v.ms}, {"ratio", v.ratio}});
    }
    if (spec)
      j["speculative"] = {{"source", spec_source},
                          {"plain_tok_s", spec->plain_tok_s},
                          {"speculative_tok_s", spec->spec_tok_s},
                          {"median_ratio", median(spec->ratios)},
                          {"rounds", spec->stats.rounds},
                          {"drafted", spec->stats.drafted},
                          {"accepted", spec->stats.accepted},
                          {"same_tokens", spec->same_text}};
    std::printf("%s\n", j.dump().c_str());
  }
  return {};
}

}  // namespace

void register_bench(CLI::App& root, RunState& state) {
  auto o = std::make_shared<BenchOptions>();
  CLI::App* cmd = root.add_subcommand("bench", "Measure prompt processing and generation speed (like llama-bench)");
  add_model_options(*cmd, o->model, WhenNoModel::kError, TokenizerFlag::kNo);
  cmd->add_option("-p,--n-prompt", o->prompt, "Prompt tokens per prompt-processing test (0 = skip)")->capture_default_str();
  cmd->add_option("-n,--n-gen", o->gen, "Tokens per generation test (0 = skip)")->capture_default_str();
  cmd->add_option("-d,--depth", o->depth, "Tokens already in the context when each test starts (llama-bench's -d)")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 20));
  cmd->add_option("-r,--repetitions", o->reps, "Repetitions of each test")->capture_default_str()->check(CLI::Range(1, 1000));
  cmd->add_flag("--no-bandwidth", o->skip_bandwidth, "Skip the memory bandwidth measurement");
  cmd->add_flag("--json", o->json, "End with one JSON line of the results");
  cmd->add_option("--verify", o->verify,
                  "Time one pass over K new tokens with all their logits (what verifying K-1 guesses costs) next to "
                  "one token, for each K of a list, e.g. 2,4,8")
      ->delimiter(',')
      ->check(CLI::Range(int64_t{1}, int64_t{512}))
      ->group("Speculative decoding (docs/performance.md; same output, fewer passes)");
  add_speculative_options(*cmd, o->speculative);
  cmd->add_option("--spec-prompt", o->spec_prompt_file,
                  "Text file to continue when measuring --draft-model or --lookup (default: a LimaRP roleplay prompt); "
                  "-n tokens greedy, plain and speculative alternated -r times")
      ->group("Speculative decoding (docs/performance.md; same output, fewer passes)");
  cmd->callback([o, &state] { state.exit_code = report(run_bench(*o)); });
}

}  // namespace limarp::cli
