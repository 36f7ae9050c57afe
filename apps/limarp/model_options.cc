#include "model_options.h"

#include <fmt/format.h>

#include <chrono>
#include <iterator>

#include "base/log.h"
#include "base/thread_pool.h"
#include "default_model.h"
#include "backend/compute_device.h"
#include "backend/cpu_backend.h"
#include "kernels/kv_rows.h"
#include "model/kv_cache.h"

namespace limarp::cli {
namespace {

void add_repack_option(CLI::App& app, bool& no_repack) {
  app.add_flag("--no-repack", no_repack,
               "Compute q4_0, q8_0, q4_k and q6_k weights in the file's layout instead of regrouping them at load "
               "(faster load, slower decode; other rounding)");
}

void add_kv_type_option(CLI::App& app, DType& type) {
  type = DType::kF16;
  app.add_option_function<std::string>(
         "--kv-type", [&type](const std::string& name) { type = dtype_from_name(name).value_or(DType::kF16); },
         "KV cache element type: f16 (default: half the memory of f32), f32 (exact), q8_0 (about half of f16's "
         "memory and reads), q4_0 (about a quarter; less exact); docs/context.md states each one's error")
      ->check(CLI::IsMember({"f16", "f32", "q8_0", "q4_0"}))
      ->type_name("f16|f32|q8_0|q4_0");
}

}  // namespace

void add_model_options(CLI::App& cmd, ModelCliOptions& o, WhenNoModel when_no_model, TokenizerFlag tokenizer) {
  if (when_no_model == WhenNoModel::kError)
    cmd.add_option("-m,--model", o.model, "Model file or folder")->required();
  else
    cmd.add_option("-m,--model", o.model, "Model file or folder (default: the bundled demo model)");
  if (tokenizer == TokenizerFlag::kYes)
    cmd.add_option("--tokenizer", o.tokenizer, "Tokenizer, when not inside or beside the model");
  cmd.add_option("--lora", o.loras, "LoRA adapter PATH[:SCALE] (PEFT folder or GGUF LoRA); repeatable");
  add_threads_option(cmd, o.threads);
  add_repack_option(cmd, o.no_repack);
  add_kv_type_option(cmd, o.kv_type);
  cmd.add_option("--device", o.device,
                 "Where the model runs: cpu (default), vulkan or vulkan:N (a GPU, or Mesa's lavapipe; limarp "
                 "devices lists them; docs/gpu.md)")
      ->type_name("cpu|vulkan[:N]");
  cmd.add_option("--gpu-layers", o.gpu_layers,
                 "With --device vulkan: the first N layers run on the device, the rest and the output matrix on "
                 "the CPU (llama.cpp's -ngl; default -1: all on the device)")
      ->check(CLI::Range(-1, 100000))
      ->type_name("N");
  add_rope_options(cmd, o.rope);
}

Result<std::unique_ptr<Backend>> open_device(const ModelCliOptions& o, LlamaModel& model, int64_t ctx, int slots) {
  LIMARP_ASSIGN_OR_RETURN(const DeviceSpec spec, parse_device(o.device));
  if (spec.is_cpu()) {
    if (o.gpu_layers >= 0) log::warn("--gpu-layers has no effect with --device cpu");
    return std::unique_ptr<Backend>();
  }
  if (o.kv_type != DType::kF16 && o.kv_type != DType::kF32)
    return make_error("--kv-type {} is not on the Vulkan backend yet; use f16 or f32 with --device {}",
                      dtype_name(o.kv_type), o.device);
  LIMARP_ASSIGN_OR_RETURN(std::unique_ptr<Backend> backend, open_device_backend(spec));
  const auto start = std::chrono::steady_clock::now();
  const LlamaConfig& c = model.config();
  const int64_t on_device = o.gpu_layers < 0 ? c.n_layers : std::min<int64_t>(o.gpu_layers, c.n_layers);
  const int64_t context = ctx > 0 ? ctx : c.usable_context();
  // Each layer's KV cache is one device buffer: refuse a context the device cannot bind before
  // uploading anything.
  const uint64_t layer_kv = KvCache::bytes_for(1, c.kv_dim(), context, o.kv_type);
  const uint64_t max_buffer = backend->device_memory().max_buffer_bytes;
  if (on_device > 0 && max_buffer > 0 && layer_kv > max_buffer)
    return make_error("{}: a context of {} positions needs {:.0f} MiB of KV cache per layer, more than the {:.0f} MiB "
                      "this device binds in one buffer; lower --ctx, or use --device cpu",
                      backend->name(), context, static_cast<double>(layer_kv) / (1 << 20),
                      static_cast<double>(max_buffer) / (1 << 20));
  const int64_t expected = on_device * static_cast<int64_t>(std::size(kAllProjections)) +
                           (on_device == c.n_layers && !c.tied_output ? 1 : 0);
  const int64_t uploaded = model.prepare_weights(*backend, 0, on_device, on_device == c.n_layers);
  if (uploaded < expected)
    return make_error("{}: only {} of the {} weight matrices of {} layers could be uploaded (the log says why); "
                      "put fewer layers on the device with --gpu-layers",
                      backend->name(), uploaded, expected, on_device);
  if (on_device < c.n_layers && !o.no_repack) {
    // The CPU's layers in its own layout, regrouped with the run's threads.
    ThreadPool pool(o.threads);
    CpuBackend cpu(pool);
    model.prepare_weights(cpu, on_device, c.n_layers, true);
  }
  const double kv_mib =
      static_cast<double>(KvCache::bytes_for(on_device, c.kv_dim(), context, o.kv_type)) * slots / (1 << 20);
  log::info("{}: {} of {} layers on the device{}, weights uploaded in {:.1f} s; device memory plan: weights {:.0f} "
            "MiB, KV cache {:.0f} MiB ({} slot(s) x {} positions), workspace grows with the batch",
            backend->name(), on_device, c.n_layers, on_device < c.n_layers ? " (the rest and the output on the CPU)" : "",
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(),
            static_cast<double>(backend->device_memory().weight_bytes) / (1 << 20), kv_mib, slots, context);
  return backend;
}

Result<ModelBundle> load_inference_model(const ModelCliOptions& o, int64_t ctx) {
  // Commands without the demo model require -m, so an empty name means the demo model here.
  LIMARP_ASSIGN_OR_RETURN(const std::string path, model_or_default(o.model));
  LIMARP_ASSIGN_OR_RETURN(ModelBundle bundle,
                          load_model_bundle(path, {.tokenizer_path = o.tokenizer,
                                                   .require_tokenizer = true,
                                                   // A device backend reads the stored layout.
                                                   .interleave_for_decode = !o.no_repack && o.device == "cpu",
                                                   .threads = o.threads}));
  LIMARP_TRY(configure_rope(bundle.model, o.rope, ctx));
  LIMARP_TRY(check_kv_type(o.kv_type, bundle.model.config()));
  return bundle;
}

Status check_kv_type(DType kv_type, const LlamaConfig& config) {
  if (!kernels::kv_type_fits(kv_type, config.head_dim()))
    return make_error("--kv-type {} stores blocks of 32 elements per head, but this model's heads have {}; use f16 "
                      "or f32", dtype_name(kv_type), config.head_dim());
  return {};
}

void add_threads_option(CLI::App& app, int& threads) {
  threads = ThreadPool::default_threads();
  app.add_option("-t,--threads", threads, "Worker threads (default: all cores)")->check(CLI::Range(1, 1024));
}

// llama.cpp's names and KoboldCpp's --ropeconfig.
void add_rope_options(CLI::App& app, RopeOverrides& o) {
  const std::string group = "RoPE scaling (docs/context.md)";
  auto real = [&](const char* name, std::optional<float>& slot, const char* help) {
    app.add_option_function<float>(name, [&slot](const float& v) { slot = v; }, help)->group(group)->type_name("X");
  };
  app.add_option_function<std::string>(
         "--rope-scaling", [&o](const std::string& name) { o.type = parse_rope_scaling_type(name); },
         "RoPE scaling type: none, linear (position interpolation), ntk (NTK-aware base), yarn "
         "(default: the model file's; with none given and --ctx above the trained context, ntk)")
      ->check(CLI::IsMember({"none", "linear", "ntk", "yarn"}))
      ->type_name("TYPE")
      ->group(group);
  real("--rope-scale", o.scale, "Context extension factor s (e.g. 2 runs a 4k model at 8k); linear if no type is given");
  real("--rope-freq-base", o.freq_base, "RoPE base frequency theta (default: the model's, 10000 for Llama-2)");
  real("--rope-freq-scale", o.freq_scale, "RoPE frequency scale, 1/s (llama.cpp's form of --rope-scale)");
  app.add_option_function<int64_t>(
         "--yarn-orig-ctx", [&o](const int64_t& v) { o.yarn_orig_ctx = v; },
         "Context the model was trained at, for YaRN and dynamic scaling (default: the model's)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 22))
      ->type_name("N")
      ->group(group);
  real("--yarn-ext-factor", o.yarn_ext_factor, "YaRN extrapolation mix inside the ramp (default 1; 0 = linear)");
  real("--yarn-attn-factor", o.yarn_attn_factor, "YaRN attention magnitude multiplier (default 1)");
  real("--yarn-beta-fast", o.yarn_beta_fast, "YaRN: pairs turning more often than this keep their frequency (default 32)");
  real("--yarn-beta-slow", o.yarn_beta_slow, "YaRN: pairs turning less often than this are interpolated (default 1)");
  app.add_option_function<std::vector<float>>(
         "--ropeconfig",
         [&o](const std::vector<float>& v) {
           o.freq_scale = v[0];
           o.freq_base = v[1];
         },
         "KoboldCpp's form: frequency scale (1/s) and base, e.g. --ropeconfig 0.5 10000")
      ->expected(2)
      ->type_name("SCALE BASE")
      ->group(group);
}

Status configure_rope(LlamaModel& model, const RopeOverrides& o, int64_t ctx) {
  auto line = model.apply_rope_overrides(o, ctx);
  if (!line.ok()) return line.error();
  log::info("{}", *line);
  return {};
}

}  // namespace limarp::cli
