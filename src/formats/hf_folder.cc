#include "formats/hf_folder.h"

#include <filesystem>
#include <map>
#include <set>

#include "formats/hf_rope_scaling.h"
#include "formats/pytorch_zip.h"
#include "formats/safetensors.h"

namespace fs = std::filesystem;

namespace limarp {

Status hf_config_to_metadata(const Json& config, const std::string& source, Metadata& m) {
  if (!config.is_object()) return make_error("{}: not a JSON object", source);
  if (auto it = config.find("model_type"); it != config.end() && it->is_string() && *it != "llama")
    return make_error("{}: model_type {} is not supported (only llama)", source, it->dump());
  LIMARP_ASSIGN_OR_RETURN(int64_t dim, json_int(config, "hidden_size", source));
  LIMARP_ASSIGN_OR_RETURN(int64_t hidden, json_int(config, "intermediate_size", source));
  LIMARP_ASSIGN_OR_RETURN(int64_t layers, json_int(config, "num_hidden_layers", source));
  LIMARP_ASSIGN_OR_RETURN(int64_t heads, json_int(config, "num_attention_heads", source));
  int64_t kv_heads = heads;
  if (config.contains("num_key_value_heads") && !config["num_key_value_heads"].is_null()) {
    LIMARP_ASSIGN_OR_RETURN(kv_heads, json_int(config, "num_key_value_heads", source));
  }
  double eps = 1e-6, theta = 10000.0;
  int64_t ctx = 2048, vocab = 32000;
  if (config.contains("rms_norm_eps")) { LIMARP_ASSIGN_OR_RETURN(eps, json_number(config, "rms_norm_eps", source)); }
  if (config.contains("rope_theta")) { LIMARP_ASSIGN_OR_RETURN(theta, json_number(config, "rope_theta", source)); }
  if (config.contains("max_position_embeddings")) {
    LIMARP_ASSIGN_OR_RETURN(ctx, json_int(config, "max_position_embeddings", source));
  }
  if (config.contains("vocab_size")) { LIMARP_ASSIGN_OR_RETURN(vocab, json_int(config, "vocab_size", source)); }
  bool tied = false;
  if (auto it = config.find("tie_word_embeddings"); it != config.end()) {
    if (!it->is_boolean()) return make_error("{}: tie_word_embeddings must be true or false", source);
    tied = it->get<bool>();
  }
  int64_t head_dim = heads > 0 ? dim / heads : 0;
  if (config.contains("head_dim") && !config["head_dim"].is_null()) {
    LIMARP_ASSIGN_OR_RETURN(head_dim, json_int(config, "head_dim", source));
  }
  auto positive = [&](const char* key, int64_t v) -> Status {
    if (v <= 0 || v > (int64_t{1} << 31)) return make_error("{}: {} = {} is out of range", source, key, v);
    return {};
  };
  LIMARP_TRY(positive("hidden_size", dim));
  LIMARP_TRY(positive("intermediate_size", hidden));
  LIMARP_TRY(positive("num_hidden_layers", layers));
  LIMARP_TRY(positive("num_attention_heads", heads));
  LIMARP_TRY(positive("num_key_value_heads", kv_heads));
  LIMARP_TRY(positive("max_position_embeddings", ctx));
  LIMARP_TRY(positive("vocab_size", vocab));
  if (head_dim * heads != dim) return make_error("{}: head_dim {} x {} heads != hidden_size {}", source, head_dim, heads, dim);
  auto u32 = [](int64_t v) { return MetaValue::u32(static_cast<uint32_t>(v)); };
  m.set("general.architecture", MetaValue::str("llama"));
  m.set("llama.context_length", u32(ctx));
  m.set("llama.embedding_length", u32(dim));
  m.set("llama.block_count", u32(layers));
  m.set("llama.feed_forward_length", u32(hidden));
  m.set("llama.rope.dimension_count", u32(head_dim));
  m.set("llama.attention.head_count", u32(heads));
  m.set("llama.attention.head_count_kv", u32(kv_heads));
  m.set("llama.attention.layer_norm_rms_epsilon", MetaValue::f32(static_cast<float>(eps)));
  m.set("llama.rope.freq_base", MetaValue::f32(static_cast<float>(theta)));
  m.set("llama.vocab_size", u32(vocab));
  m.set("limarp.tie_word_embeddings", MetaValue::boolean(tied));
  m.set("limarp.layout", MetaValue::str("hf"));
  return hf_rope_scaling_to_metadata(config, source, m);
}

Json metadata_to_hf_config(const Metadata& m) {
  auto i = [&](const char* k, int64_t def) { return m.get_int(k).value_or(def); };
  Json c;
  c["architectures"] = {"LlamaForCausalLM"};
  c["model_type"] = "llama";
  c["hidden_size"] = i("llama.embedding_length", 0);
  c["intermediate_size"] = i("llama.feed_forward_length", 0);
  c["num_hidden_layers"] = i("llama.block_count", 0);
  c["num_attention_heads"] = i("llama.attention.head_count", 0);
  c["num_key_value_heads"] = i("llama.attention.head_count_kv", i("llama.attention.head_count", 0));
  c["max_position_embeddings"] = i("llama.context_length", 2048);
  c["vocab_size"] = i("llama.vocab_size", 32000);
  c["rms_norm_eps"] = m.get_double("llama.attention.layer_norm_rms_epsilon").value_or(1e-5);
  c["rope_theta"] = m.get_double("llama.rope.freq_base").value_or(10000.0);
  c["tie_word_embeddings"] = i("limarp.tie_word_embeddings", 0) != 0;
  c["hidden_act"] = "silu";
  c["torch_dtype"] = "float32";
  c["bos_token_id"] = 1;
  c["eos_token_id"] = 2;
  hf_rope_scaling_from_metadata(m, c);
  return c;
}

Result<TensorStore> read_hf_folder(const std::string& dir) {
  const fs::path root(dir);
  TensorStore store;
  store.format = FileFormat::kHfFolder;
  store.source = dir;
  const fs::path config_path = root / "config.json";
  if (!fs::exists(config_path)) return make_error("{}: no config.json (is this a Hugging Face model folder?)", dir);
  LIMARP_ASSIGN_OR_RETURN(Json config, read_json_file(config_path.string(), {size_t{1} << 20, 16}));
  LIMARP_TRY(hf_config_to_metadata(config, config_path.string(), store.metadata));

  std::vector<fs::path> shards;
  bool pytorch = false;
  for (const char* index_name : {"model.safetensors.index.json", "pytorch_model.bin.index.json"}) {
    const fs::path index_path = root / index_name;
    if (!fs::exists(index_path)) continue;
    LIMARP_ASSIGN_OR_RETURN(Json index, read_json_file(index_path.string(), {size_t{64} << 20, 16}));
    auto wm = index.find("weight_map");
    if (wm == index.end() || !wm->is_object()) return make_error("{}: missing weight_map", index_path.string());
    std::set<std::string> files;
    for (const auto& [name, file] : wm->items()) {
      if (!file.is_string()) return make_error("{}: weight_map[{}] is not a file name", index_path.string(), name);
      const std::string f = file.get<std::string>();
      if (f.empty() || f.find('/') != std::string::npos || f.find("..") != std::string::npos)
        return make_error("{}: shard name {} must be a plain file name in the folder", index_path.string(), f);
      files.insert(f);
    }
    for (const auto& f : files) shards.push_back(root / f);
    pytorch = std::string(index_name).starts_with("pytorch");
    // Every name in the map must appear in its shard: checked after loading.
    break;
  }
  if (shards.empty()) {
    if (fs::exists(root / "model.safetensors")) shards.push_back(root / "model.safetensors");
    else if (fs::exists(root / "pytorch_model.bin")) {
      shards.push_back(root / "pytorch_model.bin");
      pytorch = true;
    } else {
      return make_error("{}: no model.safetensors, model.safetensors.index.json or pytorch_model.bin", dir);
    }
  }
  for (const auto& shard : shards) {
    Result<TensorStore> part = pytorch ? read_pytorch_checkpoint(shard.string()) : read_safetensors(shard.string());
    if (!part.ok()) return part.error();
    LIMARP_TRY(store.merge_from(std::move(part.value())));
  }
  store.metadata.set("limarp.layout", MetaValue::str("hf"));
  return store;
}

}  // namespace limarp

#include "base/atomic_file.h"

namespace limarp {

Status write_hf_folder(const std::string& dir, const Json& config, const std::vector<OutTensor>& tensors,
                       uint64_t shard_bytes) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return make_error("cannot create folder {}: {}", dir, ec.message());
  std::vector<std::vector<OutTensor>> shards(1);
  uint64_t in_shard = 0;
  for (const auto& t : tensors) {
    if (in_shard > 0 && in_shard + t.nbytes() > shard_bytes) {
      shards.emplace_back();
      in_shard = 0;
    }
    shards.back().push_back(t);
    in_shard += t.nbytes();
  }
  const std::map<std::string, std::string> st_meta = {{"format", "pt"}};
  if (shards.size() == 1) {
    LIMARP_TRY(write_safetensors((fs::path(dir) / "model.safetensors").string(), shards[0], st_meta));
    fs::remove(fs::path(dir) / "model.safetensors.index.json", ec);
  } else {
    Json index;
    uint64_t total = 0;
    for (size_t i = 0; i < shards.size(); ++i) {
      const std::string name = fmt::format("model-{:05d}-of-{:05d}.safetensors", i + 1, shards.size());
      LIMARP_TRY(write_safetensors((fs::path(dir) / name).string(), shards[i], st_meta));
      for (const auto& t : shards[i]) {
        index["weight_map"][t.name] = name;
        total += t.nbytes();
      }
    }
    index["metadata"]["total_size"] = total;
    LIMARP_TRY(write_file_atomic((fs::path(dir) / "model.safetensors.index.json").string(), index.dump(2) + "\n"));
  }
  return write_file_atomic((fs::path(dir) / "config.json").string(), config.dump(2) + "\n");
}

}  // namespace limarp

namespace limarp {

Result<TensorStore> read_safetensors_model(const std::string& path) {
  LIMARP_ASSIGN_OR_RETURN(TensorStore store, read_safetensors(path));
  const fs::path beside = fs::path(path).parent_path() / "config.json";
  std::error_code ec;
  if (auto embedded = store.metadata.get_string("limarp.config")) {
    LIMARP_ASSIGN_OR_RETURN(Json config, parse_json(*embedded, path + " limarp.config", {size_t{1} << 20, 16}));
    LIMARP_TRY(hf_config_to_metadata(config, path + " limarp.config", store.metadata));
  } else if (fs::exists(beside, ec)) {
    LIMARP_ASSIGN_OR_RETURN(Json config, read_json_file(beside.string(), {size_t{1} << 20, 16}));
    LIMARP_TRY(hf_config_to_metadata(config, beside.string(), store.metadata));
  }
  return store;
}

}  // namespace limarp
