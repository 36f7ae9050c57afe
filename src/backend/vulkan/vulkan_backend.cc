#include "backend/vulkan/vulkan_backend.h"

#include <sys/mman.h>

#include <cmath>

#include "backend/vulkan/vulkan_kv_storage.h"
#include "base/log.h"
#include "kernels/embedding.h"
#include "tensor/quant_blocks.h"

namespace limarp {

namespace {

constexpr uint64_t kWindowBytes = 4ull << 30;  // address range per workspace slot
constexpr uint32_t kMatmulRows = 8;           // batch rows per matmul workgroup (shaders/matmul.comp)
// From this many batch rows on, products run as tiles of 64 outputs x 32 rows
// (shaders/matmul_tiled.comp), whose weight reads are shared by 32 rows.
constexpr int64_t kTiledMinRows = 16;
constexpr uint32_t kTileOut = 64, kTileRows = 32;

// A failure inside a pass (device memory exhausted while growing a buffer, a lost device)
// leaves no way to finish the pass: name it and stop.
template <typename T>
T must(Result<T> r, const char* what) {
  if (!r.ok()) {
    log::error("vulkan: {}: {}", what, r.error().message());
    std::abort();
  }
  return std::move(r.value());
}

[[noreturn]] void training_only(const char* op) {
  log::error("vulkan: {} is a training operation; training runs on the CPU backend", op);
  std::abort();
}

vk::Shader tiled_shader(DType t) {
  switch (t) {
    case DType::kF32: return vk::Shader::kMatmulTiledF32;
    case DType::kF16: return vk::Shader::kMatmulTiledF16;
    case DType::kQ8_0: return vk::Shader::kMatmulTiledQ8_0;
    case DType::kQ4_K: return vk::Shader::kMatmulTiledQ4_K;
    case DType::kQ6_K: return vk::Shader::kMatmulTiledQ6_K;
    default: return vk::Shader::kMatmulTiledQ4_0;
  }
}

vk::Shader embed_shader(DType t) {
  switch (t) {
    case DType::kF32: return vk::Shader::kEmbedF32;
    case DType::kF16: return vk::Shader::kEmbedF16;
    case DType::kQ8_0: return vk::Shader::kEmbedQ8_0;
    case DType::kQ4_K: return vk::Shader::kEmbedQ4_K;
    case DType::kQ6_K: return vk::Shader::kEmbedQ6_K;
    default: return vk::Shader::kEmbedQ4_0;
  }
}

vk::Shader matmul_shader(DType t, bool subgroups) {
  switch (t) {
    case DType::kF32: return subgroups ? vk::Shader::kMatmulSubgroupF32 : vk::Shader::kMatmulF32;
    case DType::kF16: return subgroups ? vk::Shader::kMatmulSubgroupF16 : vk::Shader::kMatmulF16;
    case DType::kQ8_0: return subgroups ? vk::Shader::kMatmulSubgroupQ8_0 : vk::Shader::kMatmulQ8_0;
    case DType::kQ4_K: return subgroups ? vk::Shader::kMatmulSubgroupQ4_K : vk::Shader::kMatmulQ4_K;
    case DType::kQ6_K: return subgroups ? vk::Shader::kMatmulSubgroupQ6_K : vk::Shader::kMatmulQ6_K;
    default: return subgroups ? vk::Shader::kMatmulSubgroupQ4_0 : vk::Shader::kMatmulQ4_0;
  }
}

}  // namespace

Result<std::unique_ptr<VulkanBackend>> VulkanBackend::open(int index) {
  LIMARP_ASSIGN_OR_RETURN(auto device, vk::Device::open(index));
  std::unique_ptr<VulkanBackend> be(new VulkanBackend(std::move(device)));
  void* base = mmap(nullptr, kWindowBytes * kSlotsEnd, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (base == MAP_FAILED) return make_error("vulkan: cannot reserve an address range for the workspace");
  be->window_base_ = static_cast<uint8_t*>(base);
  return be;
}

VulkanBackend::VulkanBackend(std::unique_ptr<vk::Device> device)
    : device_(std::move(device)), slots_(kSlotsEnd), slot_floats_(kSlotsEnd, 0) {}

VulkanBackend::~VulkanBackend() {
  device_->flush();
  if (window_base_) munmap(window_base_, kWindowBytes * kSlotsEnd);
}

std::string VulkanBackend::name() const {
  const vk::DeviceInfo& i = device_->info();
  return fmt::format("vulkan:{} ({}, {})", i.index, i.name, i.driver);
}

DeviceMemory VulkanBackend::device_memory() const {
  DeviceMemory d{0, device_->max_buffer_bytes()};
  for (const auto& [p, m] : *matrices_) d.weight_bytes += m.bytes();
  for (const auto& [p, m] : vectors_) d.weight_bytes += m.bytes();
  return d;
}

float* VulkanBackend::workspace(uint32_t slot, int64_t floats) {
  LIMARP_CHECK(slot < kSlotsEnd);
  const int64_t bytes = std::max<int64_t>(floats, 1) * static_cast<int64_t>(sizeof(float));
  LIMARP_CHECK(static_cast<uint64_t>(bytes) <= kWindowBytes);
  if (!slots_[slot] || slot_floats_[slot] < floats) {
    // A grown slot's old contents need not survive (the contract of Backend::workspace).
    slots_[slot] = must(device_->create_buffer(static_cast<uint64_t>(bytes), vk::Memory::kDevice,
                                               fmt::format("workspace slot {}", slot)),
                        "growing the workspace");
    slot_floats_[slot] = std::max<int64_t>(floats, 1);
  }
  return reinterpret_cast<float*>(window_base_ + slot * kWindowBytes);
}

VulkanBackend::Loc VulkanBackend::at(const float* p) const {
  const auto* b = reinterpret_cast<const uint8_t*>(p);
  LIMARP_CHECK(b >= window_base_ && b < window_base_ + kWindowBytes * kSlotsEnd);
  const uint64_t rel = static_cast<uint64_t>(b - window_base_);
  const uint64_t slot = rel / kWindowBytes, offset = (rel % kWindowBytes) / sizeof(float);
  LIMARP_CHECK(slots_[slot] && static_cast<int64_t>(offset) <= slot_floats_[slot]);
  return {slots_[slot].get(), static_cast<uint32_t>(offset)};
}

void VulkanBackend::zero(float* x, int64_t n) {
  const Loc l = at(x);
  device_->fill_zero(*l.buffer, uint64_t{l.offset} * 4, static_cast<uint64_t>(n) * 4);
}

void VulkanBackend::read_rows(float* host, const float* rows, int64_t floats) {
  const Loc l = at(rows);
  vk::must_ok(device_->download(*l.buffer, uint64_t{l.offset} * 4, host, static_cast<uint64_t>(floats) * 4),
          "reading results back");
}

namespace {

// Kept by the model whose matrices prepare_weights uploaded: when the model goes, so do their
// device copies, so a model loaded later at the same addresses never meets stale ones.
struct MatrixRelease {
  std::weak_ptr<VulkanBackend::MatrixMap> map;
  std::vector<const void*> keys;
  MatrixRelease(std::weak_ptr<VulkanBackend::MatrixMap> m, std::vector<const void*> k)
      : map(std::move(m)), keys(std::move(k)) {}
  MatrixRelease(const MatrixRelease&) = delete;
  MatrixRelease& operator=(const MatrixRelease&) = delete;
  ~MatrixRelease() {
    if (auto m = map.lock())
      for (const void* k : keys) m->erase(k);
  }
};

}  // namespace

PreparedWeights VulkanBackend::prepare_weights(std::span<TensorView* const> matrices, const WeightOrigin& origin) {
  std::vector<const void*> uploaded;
  for (const TensorView* t : matrices) {
    auto it = matrices_->find(t->data);
    // Another live model's matrix (one tensor prepared twice) stays; a copy uploaded on first
    // use is replaced by one owned by this model.
    if (it != matrices_->end() && it->second.fingerprint == 0) continue;
    if (it != matrices_->end()) matrices_->erase(it);
    auto m = upload_matrix(*device_, *t, fmt::format("{}: matrix {}", origin.source, uploaded.size()));
    if (!m.ok()) {
      // Left for first use, which reports the same failure where it matters.
      log::warn("{}", m.error().message());
      continue;
    }
    m->fingerprint = 0;  // owned by the model, released with it: never re-checked
    matrices_->emplace(t->data, std::move(m.value()));
    uploaded.push_back(t->data);
  }
  const auto n = static_cast<int64_t>(uploaded.size());
  log::debug("vulkan: {} matrices of {} on {} ({:.0f} MiB of device memory)", n, origin.source, device_->info().name,
             static_cast<double>(device_memory().weight_bytes) / (1 << 20));
  // The views keep pointing at the host copy (embedding rows and fingerprints read it); what
  // the model keeps is the release of the device copies.
  return {std::make_shared<MatrixRelease>(matrices_, std::move(uploaded)), n};
}

const vk::DeviceMatrix& VulkanBackend::matrix(const TensorView& w) {
  auto it = matrices_->find(w.data);
  if (it != matrices_->end() && (it->second.fingerprint == 0 || it->second.fingerprint == vk::fingerprint(w)))
    return it->second;
  if (it != matrices_->end()) matrices_->erase(it);
  auto m = must(upload_matrix(*device_, w, fmt::format("a {} matrix {}", dtype_name(w.type), shape_string(w.shape))),
                "uploading a weight");
  return matrices_->insert_or_assign(w.data, std::move(m)).first->second;
}

const vk::Buffer& VulkanBackend::host_vector(const float* v, int64_t n) {
  const TensorView view{DType::kF32, {n}, v, static_cast<uint64_t>(n) * sizeof(float)};
  auto it = vectors_.find(v);
  if (it == vectors_.end() || it->second.fingerprint != vk::fingerprint(view)) {
    auto m = must(upload_matrix(*device_, view, "a norm vector"), "uploading a vector");
    it = vectors_.insert_or_assign(v, std::move(m)).first;
  }
  return *it->second.data;
}

std::unique_ptr<KvStorage> VulkanBackend::make_kv_storage(const KvShape& shape) {
  return must(VulkanKvStorage::create(
                  *device_, shape, [this](const float* p) { return at(p).offset; },
                  [this](const float* p) { return at(p).buffer; }),
              "creating the KV cache");
}

void VulkanBackend::embed(float* x, const TensorView& table, const int32_t* tokens, int64_t rows) {
  const int64_t dim = table.cols();
  const Loc l = at(x);
  if (dim % 32 == 0 && table.layout == RowLayout::kStored) {
    // Rows gathered on the device from the table's device copy (the output matrix's, when tied).
    const vk::DeviceMatrix& m = matrix(table);
    const uint64_t bytes = static_cast<uint64_t>(rows) * sizeof(int32_t);
    if (!token_ids_ || token_ids_->size() < bytes)
      token_ids_ = must(device_->create_buffer(std::max<uint64_t>(bytes, 4096), vk::Memory::kDevice, "token ids"),
                        "growing the token buffer");
    device_->update(*token_ids_, 0, tokens, bytes);
    struct {
      uint32_t rows, dim, x_off;
    } p{static_cast<uint32_t>(rows), static_cast<uint32_t>(dim), l.offset};
    const vk::Buffer* scales = m.scales ? m.scales.get() : m.data.get();
    device_->dispatch_flat(embed_shader(m.type),
                           {{l.buffer, true}, {token_ids_.get(), false}, {m.data.get(), false}, {scales, false},
                            {m.mins ? m.mins.get() : scales, false}},
                           &p, sizeof(p), (static_cast<uint64_t>(rows * dim) + 63) / 64);
    return;
  }
  // Rows of other widths are gathered on the host and copied into the command stream.
  host_rows_.resize(static_cast<size_t>(rows * dim));
  kernels::embedding_forward(host_rows_.data(), table, tokens, rows);
  device_->update(*l.buffer, uint64_t{l.offset} * 4, host_rows_.data(), host_rows_.size() * sizeof(float));
}

void VulkanBackend::rope_table(float* cos_sin, const RotaryTable& table, int64_t pos0, int64_t rows) {
  host_rows_.resize(static_cast<size_t>(rows * table.head_dim));
  for (int64_t r = 0; r < rows; ++r)
    kernels::rope_cos_sin(host_rows_.data() + r * table.head_dim, pos0 + r, table.inv_freq, table.head_dim,
                          table.mscale);
  const Loc l = at(cos_sin);
  device_->update(*l.buffer, uint64_t{l.offset} * 4, host_rows_.data(), host_rows_.size() * sizeof(float));
}

void VulkanBackend::rmsnorm(float* out, const float* x, const float* weight, int64_t rows, int64_t dim, float eps) {
  const Loc o = at(out), i = at(x);
  const vk::Buffer& w = host_vector(weight, dim);
  struct {
    uint32_t dim, x_off, out_off;
    float eps;
  } p{static_cast<uint32_t>(dim), i.offset, o.offset, eps};
  device_->dispatch(vk::Shader::kRmsnorm, {{o.buffer, true}, {i.buffer, false}, {&w, false}}, &p, sizeof(p),
                    static_cast<uint32_t>(rows));
}

void VulkanBackend::ensure_activation_blocks(int64_t blocks) {
  if (blocks <= act_blocks_) return;
  act_quants_ = must(device_->create_buffer(static_cast<uint64_t>(blocks) * kQK, vk::Memory::kDevice, "activation blocks"),
                     "growing the activation blocks");
  act_scales_ = must(device_->create_buffer(static_cast<uint64_t>(blocks) * 4, vk::Memory::kDevice, "activation scales"),
                     "growing the activation blocks");
  act_blocks_ = blocks;
}

void VulkanBackend::matmul(float* y, const float* x, const TensorView& w, int64_t rows) {
  const vk::DeviceMatrix& m = matrix(w);
  const Loc yo = at(y), xi = at(x);
  if (rows >= kTiledMinRows && m.cols % 32 == 0) {
    struct {
      uint32_t n_in, n_out, rows, x_off, y_off;
      float alpha, beta;
    } t{static_cast<uint32_t>(m.cols), static_cast<uint32_t>(m.rows), static_cast<uint32_t>(rows), xi.offset,
        yo.offset, 1.0f, 0.0f};
    const vk::Buffer* scales = m.scales ? m.scales.get() : m.data.get();
    device_->dispatch(tiled_shader(m.type),
                      {{yo.buffer, true}, {xi.buffer, false}, {m.data.get(), false}, {scales, false},
                       {m.mins ? m.mins.get() : scales, false}},
                      &t, sizeof(t), static_cast<uint32_t>((m.rows + kTileOut - 1) / kTileOut),
                      static_cast<uint32_t>((rows + kTileRows - 1) / kTileRows));
    return;
  }
  // With subgroups, a workgroup of 64 threads takes one output row per subgroup.
  const uint32_t subgroup = device_->subgroup_size();
  const uint32_t rows_per_group = subgroup ? std::max<uint32_t>(1, 64 / subgroup) : 1;
  struct {
    uint32_t n_in, n_out, rows, x_off, y_off;
    float alpha, beta;
    uint32_t rows_per_group;
  } p{static_cast<uint32_t>(m.cols), static_cast<uint32_t>(m.rows), static_cast<uint32_t>(rows), xi.offset,
      yo.offset, 1.0f, 0.0f, rows_per_group};
  const uint32_t groups_x = static_cast<uint32_t>((m.rows + rows_per_group - 1) / rows_per_group);
  const uint32_t groups_y = static_cast<uint32_t>((rows + kMatmulRows - 1) / kMatmulRows);
  LIMARP_CHECK(groups_x <= device_->max_groups_x());
  const vk::Shader shader = matmul_shader(m.type, subgroup != 0);
  if (m.type == DType::kF32 || m.type == DType::kF16) {
    device_->dispatch(shader, {{yo.buffer, true}, {xi.buffer, false}, {m.data.get(), false}}, &p, sizeof(p), groups_x,
                      groups_y);
    return;
  }
  const int64_t blocks = rows * m.cols / kQK;
  ensure_activation_blocks(blocks);
  struct {
    uint32_t blocks, x_off;
  } q{static_cast<uint32_t>(blocks), xi.offset};
  device_->dispatch_flat(vk::Shader::kQuantizeQ8, {{xi.buffer, false}, {act_quants_.get(), true}, {act_scales_.get(), true}},
                         &q, sizeof(q), (static_cast<uint64_t>(blocks) + 63) / 64);
  p.x_off = 0;
  device_->dispatch(shader,
                    {{yo.buffer, true}, {act_quants_.get(), false}, {m.data.get(), false}, {m.scales.get(), false},
                     {act_scales_.get(), false}, {m.mins ? m.mins.get() : m.scales.get(), false}},
                    &p, sizeof(p), groups_x, groups_y);
}

void VulkanBackend::lora(float*, float*, const float*, const kernels::LoraFactors&, const kernels::Dropout&, int64_t,
                         const kernels::LoraScratch&) {
  // Inference applies adapters as two matmuls and an axpy (model/adapter_set.h).
  training_only("lora");
}

void VulkanBackend::rope(float* x, const float* cos_sin, int64_t rows, int64_t n_heads, int64_t head_dim,
                         RopeLayout layout) {
  const Loc xl = at(x), cl = at(cos_sin);
  struct {
    uint32_t rows, n_heads, head_dim, x_off, cs_off, neox;
  } p{static_cast<uint32_t>(rows), static_cast<uint32_t>(n_heads), static_cast<uint32_t>(head_dim), xl.offset,
      cl.offset, layout == RopeLayout::kInterleaved ? 0u : 1u};
  const uint64_t threads = static_cast<uint64_t>(rows * n_heads * head_dim / 2);
  device_->dispatch_flat(vk::Shader::kRope, {{xl.buffer, true}, {cl.buffer, false}}, &p, sizeof(p), (threads + 63) / 64);
}

void VulkanBackend::attention_cached(float* out, const float* q, const KvStorage& kv, int64_t layer, int64_t rows,
                                     int64_t pos0, kernels::AttentionShape shape) {
  const auto* storage = dynamic_cast<const VulkanKvStorage*>(&kv);
  LIMARP_CHECK(storage != nullptr);
  const Loc o = at(out), ql = at(q);
  struct {
    uint32_t n_heads, n_kv_heads, head_dim, capacity, pos0, q_off, out_off;
    float scale;
  } p{static_cast<uint32_t>(shape.n_heads), static_cast<uint32_t>(shape.n_kv_heads),
      static_cast<uint32_t>(shape.head_dim), static_cast<uint32_t>(kv.shape().capacity), static_cast<uint32_t>(pos0),
      ql.offset, o.offset, 1.0f / std::sqrt(static_cast<float>(shape.head_dim))};
  const vk::Shader s = kv.shape().type == DType::kF16 ? vk::Shader::kAttentionF16 : vk::Shader::kAttentionF32;
  device_->dispatch(s, {{o.buffer, true}, {ql.buffer, false}, {&storage->layer(layer), false}}, &p, sizeof(p),
                    static_cast<uint32_t>(shape.n_heads), static_cast<uint32_t>(rows));
}

void VulkanBackend::elementwise(int op, float* out, const float* a, const float* b, int64_t n, float alpha) {
  const Loc o = at(out), al = at(a), bl = b ? at(b) : al;
  struct {
    uint32_t n, op, out_off, a_off, b_off;
    float alpha;
  } p{static_cast<uint32_t>(n), static_cast<uint32_t>(op), o.offset, al.offset, bl.offset, alpha};
  device_->dispatch_flat(vk::Shader::kElementwise, {{o.buffer, true}, {al.buffer, false}, {bl.buffer, false}}, &p,
                         sizeof(p), (static_cast<uint64_t>(n) + 63) / 64);
}

void VulkanBackend::swiglu(float* out, const float* gate, const float* up, int64_t n) { elementwise(0, out, gate, up, n, 0); }
void VulkanBackend::add(float* out, const float* a, const float* b, int64_t n) { elementwise(1, out, a, b, n, 0); }
void VulkanBackend::axpy(float* y, float alpha, const float* x, int64_t n) { elementwise(2, y, x, nullptr, n, alpha); }

void VulkanBackend::attention_causal(float*, float*, const float*, const float*, const float*,
                                     std::span<const SequenceSpan>, kernels::AttentionShape) {
  training_only("attention_causal");
}
void VulkanBackend::rmsnorm_backward(float*, float*, const float*, const float*, const float*, int64_t, int64_t, float) {
  training_only("rmsnorm_backward");
}
void VulkanBackend::matmul_backward_input(float*, const float*, const TensorView&, int64_t) {
  training_only("matmul_backward_input");
}
void VulkanBackend::matmul_backward_weight(float*, const float*, const float*, int64_t, int64_t, int64_t) {
  training_only("matmul_backward_weight");
}
void VulkanBackend::lora_backward(float*, float*, float*, const float*, const float*, const float*,
                                  const kernels::LoraFactors&, const kernels::Dropout&, int64_t,
                                  const kernels::LoraScratch&) {
  training_only("lora_backward");
}
void VulkanBackend::rope_backward(float*, const float*, int64_t, int64_t, int64_t, RopeLayout) {
  training_only("rope_backward");
}
void VulkanBackend::attention_causal_backward(float*, float*, float*, const float*, const float*, const float*,
                                              const float*, const float*, const float*, std::span<const SequenceSpan>,
                                              kernels::AttentionShape) {
  training_only("attention_causal_backward");
}
void VulkanBackend::swiglu_backward(float*, float*, const float*, const float*, const float*, int64_t) {
  training_only("swiglu_backward");
}
void VulkanBackend::embed_backward(float*, const float*, const int32_t*, int64_t, int64_t) {
  training_only("embed_backward");
}

}  // namespace limarp
