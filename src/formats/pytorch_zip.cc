// Interpreting a torch.save pickle: which globals it may name, how a tensor call maps onto a
// zip entry, and the checks that keep every view inside its storage.
#include "formats/pytorch_zip.h"

#include <cstring>
#include <memory>
#include <unordered_map>
#include <unordered_set>

#include "base/mapped_file.h"
#include "formats/pickle_reader.h"
#include "formats/zip_archive.h"

namespace limarp {
namespace {

constexpr std::string_view kRebuildTensorV2 = "torch._utils._rebuild_tensor_v2";
constexpr std::string_view kRebuildTensor = "torch._utils._rebuild_tensor";
constexpr std::string_view kRebuildParameter = "torch._utils._rebuild_parameter";
constexpr std::string_view kRebuildParameterWithState = "torch._utils._rebuild_parameter_with_state";
constexpr std::string_view kRebuildFromType = "torch._tensor._rebuild_from_type_v2";

// Everything a state-dict pickle names. Storage classes torch can write but limarp has no
// element type for (bool, uint8, complex) are allowed as references so the error can name the
// tensor and its type instead of calling them hostile.
constexpr AllowedGlobal kTorchGlobals[] = {
    {"collections", "OrderedDict", GlobalUse::kDictFactory},
    {"torch._utils", "_rebuild_tensor_v2", GlobalUse::kCallable},
    {"torch._utils", "_rebuild_tensor", GlobalUse::kCallable},
    {"torch._utils", "_rebuild_parameter", GlobalUse::kCallable},
    {"torch._utils", "_rebuild_parameter_with_state", GlobalUse::kCallable},
    {"torch._tensor", "_rebuild_from_type_v2", GlobalUse::kCallable},
    {"torch", "Tensor", GlobalUse::kReference},
    {"torch.nn.parameter", "Parameter", GlobalUse::kReference},
    {"torch", "FloatStorage", GlobalUse::kReference},
    {"torch", "HalfStorage", GlobalUse::kReference},
    {"torch", "BFloat16Storage", GlobalUse::kReference},
    {"torch", "DoubleStorage", GlobalUse::kReference},
    {"torch", "LongStorage", GlobalUse::kReference},
    {"torch", "IntStorage", GlobalUse::kReference},
    {"torch", "ShortStorage", GlobalUse::kReference},
    {"torch", "CharStorage", GlobalUse::kReference},
    {"torch", "ByteStorage", GlobalUse::kReference},
    {"torch", "BoolStorage", GlobalUse::kReference},
    {"torch", "ComplexFloatStorage", GlobalUse::kReference},
    {"torch", "ComplexDoubleStorage", GlobalUse::kReference},
};

struct StorageType {
  std::string_view global;
  DType type;
};
constexpr StorageType kStorageTypes[] = {
    {"torch.FloatStorage", DType::kF32},  {"torch.HalfStorage", DType::kF16}, {"torch.BFloat16Storage", DType::kBF16},
    {"torch.DoubleStorage", DType::kF64}, {"torch.LongStorage", DType::kI64}, {"torch.IntStorage", DType::kI32},
    {"torch.ShortStorage", DType::kI16},  {"torch.CharStorage", DType::kI8},
};

constexpr size_t kMaxTorchDims = 8;
constexpr int kMaxDictNesting = 8;
constexpr int64_t kMaxDimension = int64_t{1} << 40;

struct Storage {
  std::string global;  // torch.FloatStorage, ...
  DType type = DType::kF32;
  uint64_t numel = 0;
  std::span<const uint8_t> bytes;  // the zip entry, at least numel * element size long
};

// Walks the unpickled value tree and fills the store. One instance per file.
class CheckpointBuilder {
 public:
  CheckpointBuilder(const Pickle& pickle, const ZipArchive& zip, std::string prefix, TensorStore& store,
                    uint64_t copy_budget)
      : p_(pickle), zip_(zip), prefix_(std::move(prefix)), store_(store), copy_budget_(copy_budget) {}

  Status add_root() {
    const PickleValue& root = p_.at(p_.root());
    if (root.kind != PickleKind::kDict)
      return make_error("data.pkl holds {}, not a dict of tensors", p_.describe(p_.root()));
    return add_dict(p_.root(), "", 0);
  }

 private:
  Status add_dict(PickleRef dict, const std::string& prefix, int depth) {
    if (depth >= kMaxDictNesting) return make_error("dicts nested deeper than {} at {:?}", kMaxDictNesting, prefix);
    // A dict reached twice (shared through the memo, or containing itself) would duplicate
    // names or loop forever; honest checkpoints never do it.
    if (!visited_dicts_.insert(dict).second) return make_error("the dict at {:?} appears more than once", prefix);
    const auto& items = p_.at(dict).items;
    for (size_t i = 0; i + 1 < items.size(); i += 2) {
      const std::string* key = p_.as_string(items[i]);
      if (!key) return make_error("a key under {:?} is {}, not a string", prefix, p_.describe(items[i]));
      LIMARP_TRY(add_value(prefix + *key, items[i + 1], depth));
    }
    return {};
  }

  Status add_value(const std::string& name, PickleRef ref, int depth) {
    switch (p_.at(ref).kind) {
      case PickleKind::kDict: return add_dict(ref, name + ".", depth + 1);
      case PickleKind::kCall:
        // Python would keep the last of two equal keys; a loader that silently picks one of two
        // weights hides a broken file, so it is an error here (also for "a.b" vs {"a": {"b": ...}}).
        if (store_.find(name)) return make_error("tensor name {:?} appears twice", name);
        return add_tensor(name, ref, 0).with_context(fmt::format("tensor {}", name));
      case PickleKind::kNone:
      case PickleKind::kBool:
      case PickleKind::kInt:
      case PickleKind::kFloat:
      case PickleKind::kString:
      case PickleKind::kBytes: return {};  // bookkeeping beside the tensors (epoch, step, ...)
      default: return make_error("entry {:?} is {}, not a tensor or a dict of tensors", name, p_.describe(ref));
    }
  }

  const std::vector<PickleRef>* tuple_of(PickleRef ref, size_t min_size, size_t max_size) const {
    const auto* t = p_.as_tuple(ref);
    return t && t->size() >= min_size && t->size() <= max_size ? t : nullptr;
  }

  // Unwraps the parameter and subclass wrappers down to the storage-level rebuild call.
  Status add_tensor(const std::string& name, PickleRef call, int unwraps) {
    if (unwraps > 3) return make_error("tensor wrappers nested too deeply");
    const PickleValue& c = p_.at(call);
    if (c.kind != PickleKind::kCall) return make_error("expected a tensor, found {}", p_.describe(call));
    const std::string& fn = p_.at(c.items[0]).text;
    const PickleRef args = c.items[1];
    if (fn == kRebuildParameter || fn == kRebuildParameterWithState) {
      // (data, requires_grad, backward_hooks[, state]): a Parameter is its data.
      const auto* a = tuple_of(args, 3, 4);
      if (!a) return make_error("{} expects 3 or 4 arguments, got {}", fn, p_.describe(args));
      return add_tensor(name, (*a)[0], unwraps + 1);
    }
    if (fn == kRebuildFromType) {
      // (func, type, args, state): torch's wrapper for tensor subclasses; only plain tensors and
      // Parameters are accepted, and the inner call is interpreted as if it stood alone.
      const auto* a = tuple_of(args, 4, 4);
      if (!a) return make_error("{} expects 4 arguments, got {}", fn, p_.describe(args));
      const PickleValue& func = p_.at((*a)[0]);
      const PickleValue& type = p_.at((*a)[1]);
      if (func.kind != PickleKind::kGlobal || (func.text != kRebuildTensorV2 && func.text != kRebuildTensor))
        return make_error("{} of {} is not supported", fn, p_.describe((*a)[0]));
      if (type.kind != PickleKind::kGlobal || (type.text != "torch.Tensor" && type.text != "torch.nn.parameter.Parameter"))
        return make_error("tensor subclass {} is not supported", p_.describe((*a)[1]));
      return rebuild(name, func.text, (*a)[2]);
    }
    if (fn == kRebuildTensorV2 || fn == kRebuildTensor) return rebuild(name, fn, args);
    return make_error("{} does not build a tensor", fn);
  }

  Result<const Storage*> storage_for(PickleRef persistent) {
    const PickleValue& v = p_.at(persistent);
    if (v.kind != PickleKind::kPersistentId) return make_error("storage argument is {}, not a persistent id", p_.describe(persistent));
    const auto* pid = tuple_of(v.items[0], 5, 5);
    if (!pid) return make_error("storage id is {}, expected (\"storage\", class, key, location, numel)", p_.describe(v.items[0]));
    const std::string* tag = p_.as_string((*pid)[0]);
    if (!tag || *tag != "storage") return make_error("persistent id of kind {} is not a storage", p_.describe((*pid)[0]));
    const PickleValue& cls = p_.at((*pid)[1]);
    const std::string* key = p_.as_string((*pid)[2]);
    const std::string* location = p_.as_string((*pid)[3]);
    const std::optional<int64_t> numel = p_.as_int((*pid)[4]);
    if (cls.kind != PickleKind::kGlobal) return make_error("storage class is {}", p_.describe((*pid)[1]));
    if (!key) return make_error("storage key is {}, not a string", p_.describe((*pid)[2]));
    if (!location) return make_error("storage {}: location is {}, not a string", *key, p_.describe((*pid)[3]));
    if (!numel || *numel < 0) return make_error("storage {}: element count is {}", *key, p_.describe((*pid)[4]));

    const StorageType* type = nullptr;
    for (const auto& t : kStorageTypes)
      if (cls.text == t.global) type = &t;
    if (!type) return make_error("storage {} is a {}, which limarp has no element type for", *key, cls.text);

    auto it = storages_.find(*key);
    if (it != storages_.end()) {
      const Storage& s = it->second;
      if (s.global != cls.text || s.numel != static_cast<uint64_t>(*numel))
        return make_error("storage {} is declared as {} of {} elements and as {} of {}", *key, s.global, s.numel,
                          cls.text, *numel);
      return &s;
    }
    const std::string entry_name = prefix_ + "data/" + *key;
    const ZipEntry* entry = zip_.find(entry_name);
    if (!entry) return make_error("storage {}: the archive has no entry {}", *key, entry_name);
    LIMARP_ASSIGN_OR_RETURN(auto bytes, zip_.stored_bytes(*entry));
    const uint64_t elem = static_cast<uint64_t>(dtype_traits(type->type).block_bytes);
    if (static_cast<uint64_t>(*numel) > bytes.size() / elem)
      return make_error("storage {}: {} elements of {} bytes do not fit in entry {} of {} bytes", *key, *numel, elem,
                        entry_name, bytes.size());
    Storage s{cls.text, type->type, static_cast<uint64_t>(*numel), bytes};
    return &storages_.emplace(*key, std::move(s)).first->second;
  }

  Result<std::vector<int64_t>> int_tuple(PickleRef ref, const char* what) const {
    const auto* t = p_.as_tuple(ref);
    if (!t) return make_error("{} is {}, not a tuple", what, p_.describe(ref));
    if (t->size() > kMaxTorchDims)
      return make_error("{} has {} dimensions (at most {} supported)", what, t->size(), kMaxTorchDims);
    std::vector<int64_t> out;
    for (PickleRef r : *t) {
      const std::optional<int64_t> v = p_.as_int(r);
      if (!v || *v < 0 || *v > kMaxDimension) return make_error("{} holds {}", what, p_.describe(r));
      out.push_back(*v);
    }
    return out;
  }

  // _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
  // _rebuild_tensor(storage, storage_offset, size, stride)
  Status rebuild(const std::string& name, std::string_view fn, PickleRef args_ref) {
    const bool v2 = fn == kRebuildTensorV2;
    const auto* args = v2 ? tuple_of(args_ref, 6, 7) : tuple_of(args_ref, 4, 4);
    if (!args) return make_error("{} called with {}", fn, p_.describe(args_ref));
    LIMARP_ASSIGN_OR_RETURN(const Storage* storage, storage_for((*args)[0]));
    const std::optional<int64_t> offset = p_.as_int((*args)[1]);
    if (!offset || *offset < 0) return make_error("storage offset is {}", p_.describe((*args)[1]));
    LIMARP_ASSIGN_OR_RETURN(Shape shape, int_tuple((*args)[2], "size"));
    LIMARP_ASSIGN_OR_RETURN(std::vector<int64_t> stride, int_tuple((*args)[3], "stride"));
    if (stride.size() != shape.size())
      return make_error("size {} and stride {} differ in length", shape_string(shape), shape_string(stride));

    // Elements, the furthest element reached, and whether the layout is row-major contiguous,
    // with overflow checks so hostile sizes cannot wrap around.
    uint64_t elements = 1, last = static_cast<uint64_t>(*offset);
    bool contiguous = true;
    for (size_t d = shape.size(); d-- > 0;) {
      const auto size = static_cast<uint64_t>(shape[d]), step = static_cast<uint64_t>(stride[d]);
      // Size-1 dimensions may carry any stride; elsewhere the stride of a row-major layout is
      // the element count of the dimensions after this one.
      if (size > 1) {
        if (step != elements) contiguous = false;
        uint64_t reach;
        if (__builtin_mul_overflow(size - 1, step, &reach) || __builtin_add_overflow(last, reach, &last))
          return make_error("size {} stride {} reaches past any storage", shape_string(shape), shape_string(stride));
      }
      if (__builtin_mul_overflow(elements, size, &elements) || elements > (uint64_t{1} << 60))
        return make_error("size {} is implausibly large", shape_string(shape));
    }
    if (elements == 0) {  // an empty tensor reads nothing, but its offset must still be in range
      if (static_cast<uint64_t>(*offset) > storage->numel)
        return make_error("storage offset {} is past the end of its {}-element storage", *offset, storage->numel);
      store_.add(name, TensorView{storage->type, std::move(shape), storage->bytes.data(), 0});
      return {};
    }
    if (last >= storage->numel)
      return make_error("size {} stride {} at offset {} reaches element {} of a {}-element storage",
                        shape_string(shape), shape_string(stride), *offset, last, storage->numel);

    const uint64_t elem = static_cast<uint64_t>(dtype_traits(storage->type).block_bytes);
    const uint8_t* base = storage->bytes.data() + static_cast<uint64_t>(*offset) * elem;
    const uint64_t nbytes = elements * elem;
    const bool aligned = reinterpret_cast<uintptr_t>(base) % elem == 0;
    if (contiguous && aligned) {
      store_.add(name, TensorView{storage->type, std::move(shape), base, nbytes});
      return {};
    }
    return add_copy(name, *storage, std::move(shape), stride, static_cast<uint64_t>(*offset), nbytes);
  }

  // Gathers a strided (or misaligned) tensor into an owned contiguous one.
  Status add_copy(const std::string& name, const Storage& storage, Shape shape, const std::vector<int64_t>& stride,
                  uint64_t offset, uint64_t nbytes) {
    if (nbytes > copy_budget_)
      return make_error("copying this non-contiguous tensor ({} bytes) would exceed the {} bytes left for copies; "
                        "expanded (zero-stride) tensors are not supported",
                        nbytes, copy_budget_);
    copy_budget_ -= nbytes;
    Tensor t(storage.type, shape);
    const size_t elem = static_cast<size_t>(dtype_traits(storage.type).block_bytes);
    const size_t dims = shape.size();
    std::vector<int64_t> index(dims, 0);
    uint8_t* dst = t.bytes();
    const uint64_t count = nbytes / elem;
    for (uint64_t i = 0; i < count; ++i) {
      uint64_t src = offset;
      for (size_t d = 0; d < dims; ++d) src += static_cast<uint64_t>(index[d]) * static_cast<uint64_t>(stride[d]);
      std::memcpy(dst + i * elem, storage.bytes.data() + src * elem, elem);  // src < numel: checked by rebuild
      for (size_t d = dims; d-- > 0;) {  // odometer increment, last dimension fastest
        if (++index[d] < shape[d]) break;
        index[d] = 0;
      }
    }
    store_.add_owned(name, std::move(t));
    return {};
  }

  const Pickle& p_;
  const ZipArchive& zip_;
  std::string prefix_;
  TensorStore& store_;
  uint64_t copy_budget_;
  std::unordered_map<std::string, Storage> storages_;
  std::unordered_set<PickleRef> visited_dicts_;
};

// torch.save names every entry "<archive>/...": the folder holding data.pkl.
Result<std::string> find_prefix(const ZipArchive& zip) {
  std::string prefix;
  for (const ZipEntry& e : zip.entries()) {
    const size_t slash = e.name.find('/');
    if (slash == 0 || slash == std::string::npos || e.name.compare(slash + 1, std::string::npos, "data.pkl") != 0) continue;
    if (!prefix.empty()) return make_error("it holds both {}data.pkl and {}", prefix, e.name);
    prefix = e.name.substr(0, slash + 1);
  }
  if (prefix.empty()) return make_error("the zip archive has no <folder>/data.pkl entry; it is not a torch.save checkpoint");
  return prefix;
}

Status check_byteorder(const ZipArchive& zip, const std::string& prefix) {
  const ZipEntry* e = zip.find(prefix + "byteorder");
  if (!e) return {};  // written since PyTorch 2.1; older files are little-endian
  LIMARP_TRY(zip.verify_crc(*e));
  LIMARP_ASSIGN_OR_RETURN(auto bytes, zip.stored_bytes(*e));
  const std::string_view order(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  if (order == "little") return {};
  if (order == "big") return make_error("the checkpoint was written on a big-endian machine; that is not supported");
  return make_error("unknown byteorder {:?}", std::string(order.substr(0, 16)));
}

}  // namespace

Result<TensorStore> parse_pytorch_checkpoint(std::span<const uint8_t> bytes, const std::string& source) {
  auto fail = [&](const Error& e) { return e.with_context(source); };
  if (!bytes.empty() && bytes[0] == 0x80)
    return fail(make_error("a bare pickle: the legacy torch.save format (before PyTorch 1.6, or "
                           "_use_new_zipfile_serialization=False) is not supported; re-save it with a current PyTorch"));
  if (bytes.size() < 4 || bytes[0] != 'P' || bytes[1] != 'K')
    return fail(make_error("not a zip archive, so not a torch.save checkpoint"));

  LIMARP_ASSIGN_OR_RETURN(ZipArchive zip, ZipArchive::parse(bytes, source));
  Result<std::string> prefix = find_prefix(zip);
  if (!prefix.ok()) return fail(prefix.error());
  LIMARP_TRY(check_byteorder(zip, *prefix).with_context(source));

  const ZipEntry* pkl = zip.find(*prefix + "data.pkl");
  LIMARP_TRY(zip.verify_crc(*pkl));  // small, and a flipped bit there would misplace every tensor
  LIMARP_ASSIGN_OR_RETURN(auto pkl_bytes, zip.stored_bytes(*pkl));
  Result<Pickle> pickle = read_pickle(pkl_bytes, PickleOptions{kTorchGlobals});
  if (!pickle.ok()) return fail(pickle.error().with_context(pkl->name));

  TensorStore store;
  store.format = FileFormat::kPytorch;
  store.source = source;
  // Copies of strided tensors may together use at most about the file's size again.
  const uint64_t copy_budget = bytes.size() + (uint64_t{64} << 20);
  CheckpointBuilder builder(pickle.value(), zip, *prefix, store, copy_budget);
  LIMARP_TRY(builder.add_root().with_context(source));
  return store;
}

Result<TensorStore> read_pytorch_checkpoint(const std::string& path) {
  LIMARP_ASSIGN_OR_RETURN(MappedFile file, MappedFile::open(path));
  auto shared = std::make_shared<MappedFile>(std::move(file));
  LIMARP_ASSIGN_OR_RETURN(TensorStore store, parse_pytorch_checkpoint(shared->bytes(), path));
  store.keep_alive(shared);
  return store;
}

}  // namespace limarp
