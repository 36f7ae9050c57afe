#include "infer/model_writer.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>

#include "base/atomic_folder.h"
#include "formats/gguf.h"
#include "formats/hf_folder.h"
#include "formats/safetensors.h"
#include "model/tensor_names.h"
#include "tensor/quantize.h"
#include "tokenizer/sentencepiece_writer.h"

namespace fs = std::filesystem;

namespace limarp {

OutputKind output_kind(const std::string& path) {
  std::error_code ec;
  if (path.ends_with(".gguf")) return OutputKind::kGguf;
  if (path.ends_with(".safetensors")) return OutputKind::kSafetensorsFile;
  return OutputKind::kHfFolder;
}

namespace {

// Writing a large model (quantizing or merging 7B takes minutes) reports its progress on
// stderr: bytes written, tensors, and an ETA; on a terminal one line redrawn, else a line per
// tenth. Small models write silently.
void report_progress(std::vector<OutTensor>& tensors, const std::string& path) {
  struct State {
    uint64_t total = 0, done = 0;
    size_t count = 0, finished = 0;
    int last_tenth = 0;
    bool tty = ::isatty(2) != 0;
    std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  };
  auto st = std::make_shared<State>();
  for (const auto& t : tensors) st->total += t.nbytes();
  st->count = tensors.size();
  if (st->total < (uint64_t{256} << 20)) return;
  for (auto& t : tensors) {
    t.fill = [st, fill = std::move(t.fill), bytes = t.nbytes(), path](std::span<uint8_t> dst) -> Status {
      LIMARP_TRY(fill(dst));
      st->done += bytes;
      ++st->finished;
      const double frac = static_cast<double>(st->done) / static_cast<double>(st->total);
      const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - st->start).count();
      const int tenth = static_cast<int>(frac * 10);
      if (!st->tty && tenth == st->last_tenth && st->finished != st->count) return {};
      st->last_tenth = tenth;
      std::fprintf(stderr, "%swriting %s: %zu/%zu tensors, %.0f%%, %.0f s, ETA %.0f s%s", st->tty ? "\r" : "",
                   path.c_str(), st->finished, st->count, 100 * frac, secs, frac > 0 ? secs * (1 - frac) / frac : 0.0,
                   st->tty && st->finished != st->count ? "   " : "\n");
      std::fflush(stderr);
      return {};
    };
  }
}

bool safetensors_type(DType t) { return t == DType::kF32 || t == DType::kF16 || t == DType::kBF16; }

Status check_safetensors_types(const std::vector<OutTensor>& tensors, const std::string& path) {
  for (const auto& t : tensors)
    if (t.type != DType::kF32 && t.type != DType::kF16 && t.type != DType::kBF16)
      return make_error("{}: safetensors holds f32, f16 or bf16, not {} (tensor {}); pass --type f16", path,
                        dtype_name(t.type), t.name);
  return {};
}

// llama.cpp's number for a matrix type in its `general.file_type` (enum llama_ftype).
std::optional<uint32_t> llama_ftype_of(DType t, bool with_q6_k) {
  switch (t) {
    case DType::kF32: return 0;
    case DType::kF16: return 1;
    case DType::kQ4_0: return 2;
    case DType::kQ4_1: return 3;
    case DType::kQ8_0: return 7;
    case DType::kQ5_0: return 8;
    case DType::kQ5_1: return 9;
    case DType::kQ4_K: return with_q6_k ? 15 : 14;  // Q4_K_M : Q4_K_S
    case DType::kQ6_K: return 18;
    case DType::kBF16: return 32;
    default: return std::nullopt;
  }
}

// What llama.cpp shows as the file's type. Without the key it guesses from the type most
// tensors have and labels the file "guessed"; this is the same rule, written down. A Q4_K
// file with Q6_K matrices beside (our q4_k_m recipe, or one llama.cpp wrote) is Q4_K_M.
// NF4 has no llama.cpp number: such files get no key (llama.cpp cannot read them anyway).
std::optional<uint32_t> llama_file_type(const std::vector<OutTensor>& tensors) {
  std::map<DType, int> matrices;
  for (const auto& t : tensors)
    if (t.shape.size() == 2) ++matrices[t.type];
  if (matrices.empty()) return std::nullopt;
  if (matrices.contains(DType::kNF4)) return std::nullopt;
  auto most = std::max_element(matrices.begin(), matrices.end(),
                               [](const auto& a, const auto& b) { return a.second < b.second; });
  return llama_ftype_of(most->first, matrices.contains(DType::kQ6_K));
}

Metadata gguf_metadata(const LlamaConfig& config, const std::vector<OutTensor>& tensors, const WriteOptions& o) {
  Metadata m;
  m.set("general.architecture", MetaValue::str("llama"));
  m.set("general.name", MetaValue::str(o.name.empty() ? "limarp model" : o.name));
  // Both keys as llama.cpp's quantizer and converter write them (u32), so llama.cpp names the
  // type instead of guessing it.
  if (auto ftype = llama_file_type(tensors)) m.set("general.file_type", MetaValue::u32(*ftype));
  m.set("general.quantization_version", MetaValue::u32(kGgmlQuantizationVersion));
  config.to_metadata(m);
  if (o.vocab) o.vocab->to_gguf_metadata(m);
  return m;
}

Status write_hf(const LlamaConfig& config, const std::vector<OutTensor>& hf, const std::string& path,
                const WriteOptions& o) {
  LIMARP_TRY(check_safetensors_types(hf, path));
  Metadata m;
  config.to_metadata(m);
  m.set("limarp.tie_word_embeddings", MetaValue::boolean(config.tied_output));
  Json hf_config = metadata_to_hf_config(m);
  if (output_kind(path) == OutputKind::kSafetensorsFile)
    return write_safetensors(path, hf, {{"format", "pt"}, {"limarp.config", hf_config.dump()}});
  LIMARP_ASSIGN_OR_RETURN(AtomicFolder folder, AtomicFolder::create(path));
  LIMARP_TRY(write_hf_folder(folder.path(), hf_config, hf));
  if (o.vocab) LIMARP_TRY(write_sentencepiece_model((fs::path(folder.path()) / "tokenizer.model").string(), *o.vocab));
  return folder.commit();
}

}  // namespace

Status write_model(const LlamaModel& model, const std::string& path, const WriteOptions& o) {
  const QuantRecipe* recipe = o.recipe ? &*o.recipe : nullptr;
  if (output_kind(path) == OutputKind::kGguf) {
    std::vector<OutTensor> tensors = model.canonical_tensors(recipe, o.edit);
    report_progress(tensors, path);
    return write_gguf(path, gguf_metadata(model.config(), tensors, o), tensors);
  }
  std::vector<OutTensor> hf = model.hf_tensors(recipe, o.edit);
  // Stored quantized types cannot go into safetensors: widen them to f32.
  for (auto& t : hf)
    if (!safetensors_type(t.type)) t = t.transformed(DType::kF32, [](Tensor q) { return dequantize(q.view()); });
  report_progress(hf, path);
  return write_hf(model.config(), hf, path, o);
}

Status write_model_tensors(const LlamaConfig& config, const std::vector<OutTensor>& canonical, const std::string& path,
                           const WriteOptions& o) {
  if (output_kind(path) == OutputKind::kGguf) return write_gguf(path, gguf_metadata(config, canonical, o), canonical);
  std::vector<OutTensor> hf;
  for (const auto& t : canonical) {
    auto name = hf_tensor_name(t.name);
    if (!name) return make_error("{}: no Hugging Face name for tensor {}", path, t.name);
    const bool q = t.name.ends_with("attn_q.weight"), k = t.name.ends_with("attn_k.weight");
    OutTensor h = t;
    if (q || k) {
      const int64_t heads = q ? config.n_heads : config.n_kv_heads;
      h = t.transformed(t.type, [heads](Tensor w) -> Result<Tensor> {
        return permute_rope_rows(w.view(), heads, /*to_interleaved=*/false);
      });
    }
    h.name = *name;
    hf.push_back(std::move(h));
  }
  return write_hf(config, hf, path, o);
}

}  // namespace limarp
