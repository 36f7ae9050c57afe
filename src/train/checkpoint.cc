#include "train/checkpoint.h"

#include <cstring>
#include <filesystem>

#include "base/atomic_file.h"
#include "base/json_util.h"
#include "formats/safetensors.h"

namespace fs = std::filesystem;

namespace limarp::train {
namespace {

constexpr const char* kFormat = "limarp-checkpoint-1";

Status restore(Tensor& dst, const TensorStore& store, const std::string& name, const std::string& file) {
  const TensorView* t = store.find(name);
  if (!t) return make_error("{}: missing tensor {}", file, name);
  if (t->type != DType::kF32 || t->shape != dst.shape())
    return make_error("{}: tensor {} is {} {}, expected f32 {} — a checkpoint of a different run?", file, name,
                      dtype_name(t->type), shape_string(t->shape), shape_string(dst.shape()));
  std::memcpy(dst.bytes(), t->data, dst.nbytes());
  return {};
}

}  // namespace

Status save_checkpoint(const std::string& dir, const ParameterSet& params, AdamW& optimizer, const TrainerState& state,
                       const std::function<Status(const std::string&)>& extra) {
  const std::string temp = dir + ".partial";
  std::error_code ec;
  fs::remove_all(temp, ec);
  fs::create_directories(temp, ec);
  if (ec) return make_error("cannot create checkpoint folder {}: {}", temp, ec.message());
  std::vector<OutTensor> values, moments;
  Json names = Json::array();
  for (size_t i = 0; i < params.size(); ++i) {
    const Parameter& p = params[i];
    values.push_back(OutTensor::copy_of(p.name, p.value.view()));
    moments.push_back(OutTensor::copy_of(p.name + ".exp_avg", optimizer.m(i).view()));
    moments.push_back(OutTensor::copy_of(p.name + ".exp_avg_sq", optimizer.v(i).view()));
    names.push_back({{"name", p.name}, {"shape", p.value.shape()}});
  }
  LIMARP_TRY(write_safetensors((fs::path(temp) / "params.safetensors").string(), values));
  LIMARP_TRY(write_safetensors((fs::path(temp) / "optimizer.safetensors").string(), moments));
  Json j;
  j["format"] = kFormat;
  j["step"] = state.step;
  j["micro_batch_cursor"] = state.micro_batch_cursor;
  j["adam_steps"] = optimizer.steps_taken();
  j["tokens_seen"] = state.tokens_seen;
  // As strings: JSON numbers are doubles for most readers and would lose bits of a u64.
  j["rng"] = Json::array();
  for (uint64_t s : state.rng) j["rng"].push_back(std::to_string(s));
  j["data_digest"] = state.data_digest;
  j["params"] = names;
  LIMARP_TRY(write_file_atomic((fs::path(temp) / "trainer_state.json").string(), j.dump(1) + "\n"));
  if (extra) LIMARP_TRY(extra(temp));
  fs::remove_all(dir, ec);
  fs::rename(temp, dir, ec);
  if (ec) return make_error("cannot move checkpoint {} into place: {}", dir, ec.message());
  return {};
}

Status load_checkpoint(const std::string& dir, ParameterSet& params, AdamW& optimizer, TrainerState& state) {
  const std::string state_path = (fs::path(dir) / "trainer_state.json").string();
  LIMARP_ASSIGN_OR_RETURN(Json j, read_json_file(state_path));
  if (!j.is_object() || j.value("format", "") != kFormat)
    return make_error("{}: not a limarp checkpoint (format {})", state_path, j.is_object() ? j.value("format", "?") : "?");
  try {
    state.step = j.at("step").get<int64_t>();
    state.micro_batch_cursor = j.at("micro_batch_cursor").get<int64_t>();
    state.tokens_seen = j.value("tokens_seen", int64_t{0});
    state.data_digest = j.at("data_digest").get<std::string>();
    const Json& rng = j.at("rng");
    if (!rng.is_array() || rng.size() != 4) return make_error("{}: rng must hold 4 values", state_path);
    for (size_t i = 0; i < 4; ++i) state.rng[i] = std::stoull(rng[i].get<std::string>());
    optimizer.set_steps_taken(j.at("adam_steps").get<int64_t>());
    const Json& names = j.at("params");
    if (names.size() != params.size())
      return make_error("{}: the checkpoint holds {} parameters, this run trains {} — a different adapter or model?",
                        state_path, names.size(), params.size());
  } catch (const std::exception& e) {
    return make_error("{}: malformed trainer state: {}", state_path, e.what());
  }
  const std::string values_path = (fs::path(dir) / "params.safetensors").string();
  const std::string moments_path = (fs::path(dir) / "optimizer.safetensors").string();
  LIMARP_ASSIGN_OR_RETURN(TensorStore values, read_safetensors(values_path));
  LIMARP_ASSIGN_OR_RETURN(TensorStore moments, read_safetensors(moments_path));
  for (size_t i = 0; i < params.size(); ++i) {
    Parameter& p = params[i];
    LIMARP_TRY(restore(p.value, values, p.name, values_path));
    LIMARP_TRY(restore(optimizer.m(i), moments, p.name + ".exp_avg", moments_path));
    LIMARP_TRY(restore(optimizer.v(i), moments, p.name + ".exp_avg_sq", moments_path));
  }
  return {};
}

}  // namespace limarp::train
