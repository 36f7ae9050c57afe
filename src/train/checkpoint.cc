#include "train/checkpoint.h"

#include <cstring>
#include <filesystem>

#include "base/atomic_file.h"
#include "base/atomic_folder.h"
#include "base/json_util.h"
#include "formats/safetensors.h"

namespace fs = std::filesystem;

namespace limarp::train {
namespace {

constexpr const char* kFormat = "limarp-checkpoint-1";
// Steps, cursors and token counts beyond 2^53 are no real run's, and would overflow the
// cursor arithmetic that follows.
constexpr int64_t kMaxCount = int64_t{1} << 53;

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
  LIMARP_ASSIGN_OR_RETURN(AtomicFolder folder, AtomicFolder::create(dir));
  const std::string& temp = folder.path();
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
  return folder.commit().with_context("writing checkpoint");
}

Status load_checkpoint(const std::string& dir, ParameterSet& params, AdamW& optimizer, TrainerState& state) {
  const std::string state_path = (fs::path(dir) / "trainer_state.json").string();
  LIMARP_ASSIGN_OR_RETURN(Json j, read_json_file(state_path));
  // Every field through a typed accessor: a hand-edited or corrupted state names the field
  // instead of throwing.
  const std::string& src = state_path;
  if (!j.is_object()) return make_error("{}: not a limarp checkpoint (not a JSON object)", src);
  LIMARP_ASSIGN_OR_RETURN(std::string format, json_string(j, "format", src));
  if (format != kFormat) return make_error("{}: not a limarp checkpoint (format {:?}, expected {:?})", src, format, kFormat);
  LIMARP_ASSIGN_OR_RETURN(state.step, json_int_in(j, "step", src, 0, kMaxCount));
  LIMARP_ASSIGN_OR_RETURN(state.micro_batch_cursor, json_int_in(j, "micro_batch_cursor", src, 0, kMaxCount));
  state.tokens_seen = 0;
  if (j.contains("tokens_seen")) {
    LIMARP_ASSIGN_OR_RETURN(state.tokens_seen, json_int_in(j, "tokens_seen", src, 0, kMaxCount));
  }
  LIMARP_ASSIGN_OR_RETURN(state.data_digest, json_string(j, "data_digest", src));
  LIMARP_ASSIGN_OR_RETURN(const Json* rng, json_array(j, "rng", src));
  if (rng->size() != 4) return make_error("{}: rng must hold 4 values, got {}", src, rng->size());
  for (size_t i = 0; i < 4; ++i) {
    LIMARP_ASSIGN_OR_RETURN(state.rng[i], json_u64_string((*rng)[i], fmt::format("{}: rng[{}]", src, i)));
  }
  LIMARP_ASSIGN_OR_RETURN(int64_t adam_steps, json_int_in(j, "adam_steps", src, 0, kMaxCount));
  LIMARP_ASSIGN_OR_RETURN(const Json* names, json_array(j, "params", src));
  if (names->size() != params.size())
    return make_error("{}: the checkpoint holds {} parameters, this run trains {} — a different adapter or model?", src,
                      names->size(), params.size());
  optimizer.set_steps_taken(adam_steps);
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
