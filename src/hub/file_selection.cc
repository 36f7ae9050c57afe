#include "hub/file_selection.h"

#include <fnmatch.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <regex>
#include <set>

namespace limarp::hub {
namespace {

const std::regex& shard_suffix() {
  static const std::regex re(R"(-(\d{5})-of-(\d{5})\.gguf$)", std::regex::icase);
  return re;
}

bool ends_with_ci(const std::string& s, std::string_view suffix) {
  if (s.size() < suffix.size()) return false;
  return std::equal(suffix.begin(), suffix.end(), s.end() - static_cast<std::ptrdiff_t>(suffix.size()),
                    [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b)); });
}

bool top_level(const std::string& path) { return path.find('/') == std::string::npos; }

// The model a GGUF file belongs to: its path without the shard suffix and ".gguf".
std::string gguf_model_of(const std::string& path) {
  std::string stem = std::regex_replace(path, shard_suffix(), "");
  if (ends_with_ci(stem, ".gguf")) stem.resize(stem.size() - 5);
  return stem;
}

bool is_model_gguf(const std::string& path) {
  if (!ends_with_ci(path, ".gguf")) return false;
  std::string base = path.substr(path.rfind('/') == std::string::npos ? 0 : path.rfind('/') + 1);
  std::transform(base.begin(), base.end(), base.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return !base.starts_with("mmproj");  // vision projectors ride along in some repositories
}

std::string joined(const std::vector<std::string>& items, size_t limit = 40) {
  std::string out;
  for (size_t i = 0; i < items.size() && i < limit; ++i) out += (i ? ", " : "") + items[i];
  if (items.size() > limit) out += fmt::format(", … ({} more)", items.size() - limit);
  return out.empty() ? "(none)" : out;
}

bool contains(const std::vector<std::string>& files, const std::string& f) {
  return std::find(files.begin(), files.end(), f) != files.end();
}

Result<Selection> select_gguf(const std::vector<std::string>& available, const HubName& name) {
  // Model stem → its files (one, or every shard).
  std::map<std::string, std::vector<std::string>> models;
  for (const auto& f : available)
    if (is_model_gguf(f)) models[gguf_model_of(f)].push_back(f);
  std::vector<std::string> chosen_stems;
  if (!name.quant.empty()) {
    for (const auto& [stem, files] : models)
      if (quant_tag_of(files.front()) == name.quant) chosen_stems.push_back(stem);
  } else if (models.size() == 1) {
    chosen_stems.push_back(models.begin()->first);
  } else {
    for (const auto& [stem, files] : models)
      if (quant_tag_of(files.front()) == "Q4_K_M") chosen_stems.push_back(stem);
  }
  if (chosen_stems.empty()) {
    std::set<std::string> tags;
    std::vector<std::string> untagged;
    for (const auto& [stem, files] : models) {
      const std::string tag = quant_tag_of(files.front());
      if (tag.empty()) untagged.push_back(files.front());
      else tags.insert(tag);
    }
    std::string have = joined(std::vector<std::string>(tags.begin(), tags.end()));
    if (!untagged.empty()) have += "; files without a tag (name one with :FILE): " + joined(untagged);
    if (name.quant.empty())
      return make_error("{} has several GGUF models; choose one with :TAG (quantizations: {})", name.repo, have);
    return make_error("{} has no GGUF file with quantization {} (quantizations: {})", name.repo, name.quant, have);
  }
  Selection s;
  s.files = models[chosen_stems.front()];
  std::sort(s.files.begin(), s.files.end());
  s.primary = s.files.front();  // shard 00001 carries the metadata and names the others
  return s;
}

Selection select_transformers(const std::vector<std::string>& available) {
  static const std::set<std::string> kSmall = {
      "config.json",           "generation_config.json",  "tokenizer.model",    "tokenizer.json",
      "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json",
      "model.safetensors.index.json"};
  Selection s;
  std::vector<std::string> safetensors, bins;
  for (const auto& f : available) {
    if (!top_level(f)) continue;  // "original/" and other subfolders hold other formats
    if (kSmall.count(f)) s.files.push_back(f);
    else if (ends_with_ci(f, ".safetensors")) safetensors.push_back(f);
    else if (f.starts_with("pytorch_model") && (ends_with_ci(f, ".bin") || f == "pytorch_model.bin.index.json"))
      bins.push_back(f);
  }
  // Prefer the model's own shards over stray extras (consolidated copies, other exports).
  std::vector<std::string> model_shards;
  for (const auto& f : safetensors)
    if (f.starts_with("model")) model_shards.push_back(f);
  const auto& weights = !model_shards.empty() ? model_shards : !safetensors.empty() ? safetensors : bins;
  s.files.insert(s.files.end(), weights.begin(), weights.end());
  if (safetensors.empty()) std::erase(s.files, "model.safetensors.index.json");
  std::sort(s.files.begin(), s.files.end());
  return s;
}

}  // namespace

std::string quant_tag_of(const std::string& gguf_path) {
  static const std::regex tag(R"((^|[^A-Za-z0-9])(I?Q[0-9][A-Za-z0-9_]*|BF16|F16|F32)$)", std::regex::icase);
  std::string stem = gguf_model_of(gguf_path);
  std::smatch m;
  if (!std::regex_search(stem, m, tag)) return {};
  std::string t = m[2].str();
  std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return t;
}

Result<Selection> select_files(const std::vector<std::string>& available, const HubName& name,
                               const std::vector<std::string>& includes) {
  Selection s;
  if (!includes.empty()) {
    for (const auto& f : available)
      for (const auto& glob : includes)
        if (fnmatch(glob.c_str(), f.c_str(), 0) == 0) {
          s.files.push_back(f);
          break;
        }
    if (s.files.empty())
      return make_error("no file of {} matches --include {} (files: {})", name.repo, joined(includes), joined(available));
    if (!name.file.empty()) s.primary = name.file;
    return s;
  }
  if (!name.file.empty()) {
    if (!contains(available, name.file))
      return make_error("{} has no file {} (files: {})", name.display(), name.file, joined(available));
    if (std::regex_search(name.file, shard_suffix())) {
      const std::string model = gguf_model_of(name.file);
      for (const auto& f : available)
        if (is_model_gguf(f) && gguf_model_of(f) == model) s.files.push_back(f);
      std::sort(s.files.begin(), s.files.end());
    } else {
      s.files.push_back(name.file);
    }
    s.primary = name.file;
    return s;
  }
  const bool has_gguf = std::any_of(available.begin(), available.end(), is_model_gguf);
  if (!name.quant.empty() || (has_gguf && !contains(available, "config.json") && !contains(available, "adapter_config.json"))) {
    if (!has_gguf) return make_error("{}: quantization tag {} given, but the repository has no GGUF files (files: {})",
                                     name.display(), name.quant, joined(available));
    return select_gguf(available, name);
  }
  if (contains(available, "adapter_config.json")) {
    s.files.push_back("adapter_config.json");
    if (contains(available, "adapter_model.safetensors")) s.files.push_back("adapter_model.safetensors");
    else if (contains(available, "adapter_model.bin")) s.files.push_back("adapter_model.bin");
    else return make_error("{}: adapter_config.json without adapter_model.safetensors or adapter_model.bin", name.display());
    return s;
  }
  if (contains(available, "config.json")) {
    s = select_transformers(available);
    if (s.files.size() <= 1 || std::none_of(s.files.begin(), s.files.end(), [](const std::string& f) {
          return ends_with_ci(f, ".safetensors") || ends_with_ci(f, ".bin");
        }))
      return make_error("{}: config.json but no weights (model*.safetensors or pytorch_model*.bin) at the top level "
                        "(files: {})",
                        name.display(), joined(available));
    return s;
  }
  return make_error("{} holds no GGUF file, config.json or adapter_config.json; name a file with :FILE or use "
                    "`limarp pull --include GLOB` (files: {})",
                    name.display(), joined(available));
}

}  // namespace limarp::hub
