// A safe reader for Python pickles (protocols 2 to 5): it builds a tree of plain values and
// never executes anything. This is how limarp opens torch.save checkpoints, whose data.pkl is
// a pickle; loading it with Python's own unpickler would run any callable the file names.
//
// Only the opcodes that describe data are implemented. GLOBAL / STACK_GLOBAL are accepted only
// for names on the caller's allow-list, and REDUCE never calls anything: it records a kCall
// node (callable + argument tuple) for the caller to interpret, except for globals marked as
// dict factories (collections.OrderedDict), which produce an empty dict that later SETITEMS
// fill. BINPERSID records a kPersistentId node around its id. Opcodes that would instantiate
// classes (INST, OBJ, NEWOBJ), use extension registries or out-of-band buffers are refused by
// name, as is any unknown opcode.
//
// Everything is bounded by the input and by PickleOptions: object count, memo size, MARK
// nesting; string lengths are checked against the bytes left. Values live in one arena and
// refer to each other by index, so hostile cycles (a list appended to itself) and deep
// nesting cost nothing to build or free.
//
//   constexpr AllowedGlobal kAllowed[] = {{"collections", "OrderedDict", GlobalUse::kDictFactory}};
//   LIMARP_ASSIGN_OR_RETURN(Pickle p, read_pickle(bytes, PickleOptions{kAllowed}));
//   const PickleValue& root = p.at(p.root());
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace limarp {

using PickleRef = uint32_t;  // index of a value in its Pickle

enum class PickleKind : uint8_t {
  kNone,
  kBool,          // int_value 0 or 1
  kInt,           // int_value (integers wider than 64 bits are refused)
  kFloat,         // float_value
  kString,        // text, valid UTF-8
  kBytes,         // text, raw bytes
  kTuple,         // items
  kList,          // items
  kDict,          // items: key0, value0, key1, value1, ... in insertion order
  kGlobal,        // text: "module.name"; only allow-listed names ever appear
  kCall,          // items: callable (a kGlobal), args (a kTuple)[, state given by BUILD]
  kPersistentId,  // items: the id object (torch: a tuple describing a storage)
};
const char* pickle_kind_name(PickleKind kind);

struct PickleValue {
  PickleKind kind = PickleKind::kNone;
  int64_t int_value = 0;
  double float_value = 0;
  std::string text;
  std::vector<PickleRef> items;
  uint64_t offset = 0;  // byte offset of the opcode that made it, for messages
};

// How an allow-listed global may be used.
enum class GlobalUse : uint8_t {
  kReference,    // may appear as a value (a storage class) but not be called
  kCallable,     // REDUCE records a kCall node
  kDictFactory,  // REDUCE with no arguments makes an empty dict (collections.OrderedDict)
};

struct AllowedGlobal {
  std::string_view module;
  std::string_view name;
  GlobalUse use;
};

struct PickleOptions {
  std::span<const AllowedGlobal> allowed;
  size_t max_values = size_t{1} << 20;  // objects built (a 7B checkpoint needs a few thousand)
  size_t max_memo = size_t{1} << 20;    // memo entries
  size_t max_marks = 4096;              // MARK nesting
};

class Pickle {
 public:
  const PickleValue& at(PickleRef ref) const { return values_[ref]; }
  PickleRef root() const { return root_; }
  size_t size() const { return values_.size(); }
  int protocol() const { return protocol_; }

  // A one-line, bounded description for messages: "str 'cpu'", "tuple of 5", "global torch.FloatStorage".
  std::string describe(PickleRef ref) const;
  // Accessors that check the kind: nullptr / nullopt when the value is of another kind.
  const std::string* as_string(PickleRef ref) const;
  std::optional<int64_t> as_int(PickleRef ref) const;  // kInt only (not bool)
  const std::vector<PickleRef>* as_tuple(PickleRef ref) const;

 private:
  friend class Unpickler;
  std::vector<PickleValue> values_;
  PickleRef root_ = 0;
  int protocol_ = 0;
};

// Reads one pickle ending in STOP. Errors name the byte offset and opcode.
Result<Pickle> read_pickle(std::span<const uint8_t> bytes, const PickleOptions& options);

}  // namespace limarp
