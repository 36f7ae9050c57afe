// The pickle virtual machine, restricted to data. A pickle is a program for a stack machine:
// opcodes push values, MARK opens a frame that TUPLE / LIST / DICT / SETITEMS / APPENDS close,
// the memo lets later opcodes refer to earlier objects. We run that program with values that
// are inert records, so the worst a hostile file can do is fail to parse.
//
// Frames follow CPython's unpickler: MARK starts a new, empty stack frame, and an opcode that
// pops more than its frame holds is an underflow error rather than a read of the outer frame.
#include "formats/pickle_reader.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <unordered_map>

#include "base/byte_reader.h"

namespace limarp {
namespace {

static_assert(std::endian::native == std::endian::little, "pickle integers are read in place as little-endian");

// Opcodes (CPython Lib/pickle.py names). Only the binary data opcodes are implemented.
enum Op : uint8_t {
  kMark = '(', kStop = '.', kPop = '0', kPopMark = '1', kDup = '2',
  kNone = 'N', kNewTrue = 0x88, kNewFalse = 0x89,
  kBinInt = 'J', kBinInt1 = 'K', kBinInt2 = 'M', kLong1 = 0x8a, kLong4 = 0x8b,
  kBinFloat = 'G',
  kBinString = 'T', kShortBinString = 'U',
  kBinUnicode = 'X', kShortBinUnicode = 0x8c, kBinUnicode8 = 0x8d,
  kBinBytes = 'B', kShortBinBytes = 'C', kBinBytes8 = 0x8e, kByteArray8 = 0x96,
  kEmptyTuple = ')', kTuple = 't', kTuple1 = 0x85, kTuple2 = 0x86, kTuple3 = 0x87,
  kEmptyList = ']', kList = 'l', kAppend = 'a', kAppends = 'e',
  kEmptyDict = '}', kDict = 'd', kSetItem = 's', kSetItems = 'u',
  kBinPut = 'q', kLongBinPut = 'r', kMemoize = 0x94, kBinGet = 'h', kLongBinGet = 'j',
  kGlobal = 'c', kStackGlobal = 0x93, kReduce = 'R', kBuild = 'b', kBinPersId = 'Q',
  kProto = 0x80, kFrame = 0x95,
};

// Opcodes we recognise but refuse, with the reason given in the error.
struct RefusedOp {
  uint8_t op;
  const char* name;
  const char* why;
};
constexpr RefusedOp kRefused[] = {
    {'i', "INST", "it instantiates a class"},
    {'o', "OBJ", "it instantiates a class"},
    {0x81, "NEWOBJ", "it instantiates a class"},
    {0x92, "NEWOBJ_EX", "it instantiates a class"},
    {'P', "PERSID", "text persistent ids are not used by torch.save"},
    {0x82, "EXT1", "it uses the extension registry"},
    {0x83, "EXT2", "it uses the extension registry"},
    {0x84, "EXT4", "it uses the extension registry"},
    {0x97, "NEXT_BUFFER", "out-of-band buffers are not supported"},
    {0x98, "READONLY_BUFFER", "out-of-band buffers are not supported"},
    {0x8f, "EMPTY_SET", "sets are not used by torch.save"},
    {0x90, "ADDITEMS", "sets are not used by torch.save"},
    {0x91, "FROZENSET", "sets are not used by torch.save"},
    {'I', "INT", "protocol 0 text opcodes are not supported"},
    {'L', "LONG", "protocol 0 text opcodes are not supported"},
    {'F', "FLOAT", "protocol 0 text opcodes are not supported"},
    {'S', "STRING", "protocol 0 text opcodes are not supported"},
    {'V', "UNICODE", "protocol 0 text opcodes are not supported"},
    {'p', "PUT", "protocol 0 text opcodes are not supported"},
    {'g', "GET", "protocol 0 text opcodes are not supported"},
};

const char* op_name(uint8_t op) {
  switch (op) {
    case kMark: return "MARK";
    case kStop: return "STOP";
    case kPop: return "POP";
    case kPopMark: return "POP_MARK";
    case kDup: return "DUP";
    case kNone: return "NONE";
    case kNewTrue: return "NEWTRUE";
    case kNewFalse: return "NEWFALSE";
    case kBinInt: return "BININT";
    case kBinInt1: return "BININT1";
    case kBinInt2: return "BININT2";
    case kLong1: return "LONG1";
    case kLong4: return "LONG4";
    case kBinFloat: return "BINFLOAT";
    case kBinString: return "BINSTRING";
    case kShortBinString: return "SHORT_BINSTRING";
    case kBinUnicode: return "BINUNICODE";
    case kShortBinUnicode: return "SHORT_BINUNICODE";
    case kBinUnicode8: return "BINUNICODE8";
    case kBinBytes: return "BINBYTES";
    case kShortBinBytes: return "SHORT_BINBYTES";
    case kBinBytes8: return "BINBYTES8";
    case kByteArray8: return "BYTEARRAY8";
    case kEmptyTuple: return "EMPTY_TUPLE";
    case kTuple: return "TUPLE";
    case kTuple1: return "TUPLE1";
    case kTuple2: return "TUPLE2";
    case kTuple3: return "TUPLE3";
    case kEmptyList: return "EMPTY_LIST";
    case kList: return "LIST";
    case kAppend: return "APPEND";
    case kAppends: return "APPENDS";
    case kEmptyDict: return "EMPTY_DICT";
    case kDict: return "DICT";
    case kSetItem: return "SETITEM";
    case kSetItems: return "SETITEMS";
    case kBinPut: return "BINPUT";
    case kLongBinPut: return "LONG_BINPUT";
    case kMemoize: return "MEMOIZE";
    case kBinGet: return "BINGET";
    case kLongBinGet: return "LONG_BINGET";
    case kGlobal: return "GLOBAL";
    case kStackGlobal: return "STACK_GLOBAL";
    case kReduce: return "REDUCE";
    case kBuild: return "BUILD";
    case kBinPersId: return "BINPERSID";
    case kProto: return "PROTO";
    case kFrame: return "FRAME";
  }
  for (const auto& r : kRefused)
    if (r.op == op) return r.name;
  return "unknown";
}

// Structural UTF-8 check (CPython decodes pickle strings as UTF-8 with surrogatepass, so
// encoded surrogates are accepted too). Tensor names end up in JSON headers, which need it.
bool valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<uint8_t>(s[i]);
    size_t n;
    uint32_t cp;
    if (c < 0x80) { ++i; continue; }
    if ((c & 0xe0) == 0xc0) { n = 1; cp = c & 0x1f; }
    else if ((c & 0xf0) == 0xe0) { n = 2; cp = c & 0x0f; }
    else if ((c & 0xf8) == 0xf0) { n = 3; cp = c & 0x07; }
    else return false;
    if (s.size() - i <= n) return false;
    for (size_t k = 1; k <= n; ++k) {
      const auto cc = static_cast<uint8_t>(s[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    constexpr uint32_t kMinForLength[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMinForLength[n] || cp > 0x10ffff) return false;  // overlong or out of range
    i += n + 1;
  }
  return true;
}

}  // namespace

const char* pickle_kind_name(PickleKind kind) {
  switch (kind) {
    case PickleKind::kNone: return "None";
    case PickleKind::kBool: return "bool";
    case PickleKind::kInt: return "int";
    case PickleKind::kFloat: return "float";
    case PickleKind::kString: return "str";
    case PickleKind::kBytes: return "bytes";
    case PickleKind::kTuple: return "tuple";
    case PickleKind::kList: return "list";
    case PickleKind::kDict: return "dict";
    case PickleKind::kGlobal: return "global";
    case PickleKind::kCall: return "call";
    case PickleKind::kPersistentId: return "persistent id";
  }
  return "?";
}

std::string Pickle::describe(PickleRef ref) const {
  const PickleValue& v = at(ref);
  switch (v.kind) {
    case PickleKind::kNone: return "None";
    case PickleKind::kBool: return v.int_value ? "True" : "False";
    case PickleKind::kInt: return fmt::format("int {}", v.int_value);
    case PickleKind::kFloat: return fmt::format("float {}", v.float_value);
    case PickleKind::kString: {
      constexpr size_t kShown = 60;
      std::string shown = v.text.size() > kShown ? v.text.substr(0, kShown) + "..." : v.text;
      return fmt::format("str {:?}", shown);
    }
    case PickleKind::kBytes: return fmt::format("bytes of length {}", v.text.size());
    case PickleKind::kTuple: return fmt::format("tuple of {}", v.items.size());
    case PickleKind::kList: return fmt::format("list of {}", v.items.size());
    case PickleKind::kDict: return fmt::format("dict of {}", v.items.size() / 2);
    case PickleKind::kGlobal: return fmt::format("global {}", v.text);
    case PickleKind::kCall: return fmt::format("call of {}", at(v.items[0]).text);
    case PickleKind::kPersistentId: return "persistent id";
  }
  return "?";
}

const std::string* Pickle::as_string(PickleRef ref) const {
  return at(ref).kind == PickleKind::kString ? &at(ref).text : nullptr;
}

std::optional<int64_t> Pickle::as_int(PickleRef ref) const {
  if (at(ref).kind != PickleKind::kInt) return std::nullopt;
  return at(ref).int_value;
}

const std::vector<PickleRef>* Pickle::as_tuple(PickleRef ref) const {
  return at(ref).kind == PickleKind::kTuple ? &at(ref).items : nullptr;
}

// Runs the opcode loop; one instance per read_pickle call.
class Unpickler {
 public:
  Unpickler(std::span<const uint8_t> bytes, const PickleOptions& options) : in_(bytes), options_(options) {}

  Result<Pickle> run() {
    // The three singletons, so a file of a million NONEs costs no memory per opcode.
    none_ = make_value(PickleKind::kNone).value();
    false_ = make_value(PickleKind::kBool).value();
    true_ = make_value(PickleKind::kBool).value();
    out_.values_[true_].int_value = 1;
    while (!in_.at_end()) {
      op_offset_ = in_.position();
      const uint8_t op = in_.read<uint8_t>("opcode").value();
      Status s = step(op);
      if (!s.ok()) return s.error().with_context(fmt::format("pickle byte {} ({})", op_offset_, op_name(op)));
      if (stopped_) return std::move(out_);
    }
    return make_error("the pickle ends after {} bytes without a STOP opcode; is it truncated?", in_.size());
  }

 private:
  Result<PickleRef> make_value(PickleKind kind) {
    if (out_.values_.size() >= options_.max_values)
      return make_error("more than {} objects; refusing to build more", options_.max_values);
    PickleValue v;
    v.kind = kind;
    v.offset = op_offset_;
    out_.values_.push_back(std::move(v));
    return static_cast<PickleRef>(out_.values_.size() - 1);
  }
  PickleValue& value(PickleRef ref) { return out_.values_[ref]; }

  size_t frame_base() const { return marks_.empty() ? 0 : marks_.back(); }
  Status push_new(PickleKind kind, PickleRef* ref = nullptr) {
    LIMARP_ASSIGN_OR_RETURN(PickleRef r, make_value(kind));
    stack_.push_back(r);
    if (ref) *ref = r;
    return {};
  }
  Result<PickleRef> pop() {
    if (stack_.size() <= frame_base()) return make_error("stack underflow");
    PickleRef r = stack_.back();
    stack_.pop_back();
    return r;
  }
  Result<PickleRef> top() const {
    if (stack_.size() <= frame_base()) return make_error("stack underflow");
    return stack_.back();
  }
  // Closes the innermost MARK frame, returning what it held (bottom first).
  Result<std::vector<PickleRef>> pop_mark() {
    if (marks_.empty()) return make_error("no MARK to close");
    const size_t base = marks_.back();
    marks_.pop_back();
    std::vector<PickleRef> items(stack_.begin() + static_cast<std::ptrdiff_t>(base), stack_.end());
    stack_.resize(base);
    return items;
  }
  Result<PickleRef> top_of_kind(PickleKind kind) const {
    LIMARP_ASSIGN_OR_RETURN(PickleRef r, top());
    if (out_.at(r).kind != kind)
      return make_error("expected a {} on the stack, found {}", pickle_kind_name(kind), out_.describe(r));
    return r;
  }

  Status push_int(int64_t v) {
    PickleRef r = 0;
    LIMARP_TRY(push_new(PickleKind::kInt, &r));
    value(r).int_value = v;
    return {};
  }
  // LONG1 / LONG4: little-endian two's complement of n bytes.
  Status push_long(uint64_t n) {
    if (n > 8) return make_error("integer of {} bytes does not fit in 64 bits", n);
    LIMARP_ASSIGN_OR_RETURN(auto b, in_.read_bytes(n, "integer bytes"));
    uint64_t u = 0;
    for (size_t i = 0; i < n; ++i) u |= static_cast<uint64_t>(b[i]) << (8 * i);
    if (n > 0 && n < 8 && (b[n - 1] & 0x80)) u |= ~uint64_t{0} << (8 * n);  // sign-extend
    return push_int(static_cast<int64_t>(u));
  }
  Status push_text(PickleKind kind, uint64_t n) {
    LIMARP_ASSIGN_OR_RETURN(std::string_view s, in_.read_string(n, "string bytes"));
    if (kind == PickleKind::kString && !valid_utf8(s)) return make_error("string is not valid UTF-8");
    PickleRef r = 0;
    LIMARP_TRY(push_new(kind, &r));
    value(r).text = std::string(s);
    return {};
  }
  template <typename T>
  Result<uint64_t> read_length(std::string_view what) {
    LIMARP_ASSIGN_OR_RETURN(T n, in_.read<T>(what));
    if constexpr (std::is_signed_v<T>) {
      if (n < 0) return make_error("negative {} {}", what, n);
    }
    return static_cast<uint64_t>(n);
  }
  Status push_container(PickleKind kind, std::vector<PickleRef> items) {
    PickleRef r = 0;
    LIMARP_TRY(push_new(kind, &r));
    value(r).items = std::move(items);
    return {};
  }
  Status push_tuple_of(size_t n) {
    if (stack_.size() - frame_base() < n) return make_error("stack underflow: TUPLE{} needs {} items", n, n);
    std::vector<PickleRef> items(stack_.end() - static_cast<std::ptrdiff_t>(n), stack_.end());
    stack_.resize(stack_.size() - n);
    return push_container(PickleKind::kTuple, std::move(items));
  }

  Status memo_put(uint64_t index) {
    LIMARP_ASSIGN_OR_RETURN(PickleRef r, top());
    if (!memo_.count(index) && memo_.size() >= options_.max_memo)
      return make_error("more than {} memo entries", options_.max_memo);
    memo_[index] = r;
    return {};
  }
  Status memo_get(uint64_t index) {
    auto it = memo_.find(index);
    if (it == memo_.end()) return make_error("memo index {} was never stored", index);
    stack_.push_back(it->second);
    return {};
  }

  // Takes copies: STACK_GLOBAL's strings live in the arena, which push_new may reallocate.
  Status push_global(std::string module, std::string name) {
    for (const AllowedGlobal& g : options_.allowed) {
      if (g.module == module && g.name == name) {
        PickleRef r = 0;
        LIMARP_TRY(push_new(PickleKind::kGlobal, &r));
        value(r).text = module + "." + name;
        value(r).int_value = static_cast<int64_t>(g.use);
        return {};
      }
    }
    // Messages show a short prefix of whatever the file put there, escaped if not plain text.
    auto shown = [](const std::string& s) {
      std::string cut = s.size() > 80 ? s.substr(0, 80) + "..." : s;
      const bool plain = std::all_of(cut.begin(), cut.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
      return plain ? cut : fmt::format("{:?}", cut);
    };
    return make_error("refusing global {}.{}: not on the allow-list; nothing in the file was executed",
                      shown(module), shown(name));
  }
  Result<std::string> read_line(std::string_view what) {
    const size_t start = in_.position();
    const size_t left = in_.remaining();
    LIMARP_ASSIGN_OR_RETURN(auto rest, in_.read_bytes(left, what));
    const auto nl = std::find(rest.begin(), rest.end(), uint8_t{'\n'});
    if (nl == rest.end()) return make_error("{} has no terminating newline", what);
    const size_t len = static_cast<size_t>(nl - rest.begin());
    LIMARP_TRY(in_.seek(start + len + 1));
    return std::string(reinterpret_cast<const char*>(rest.data()), len);
  }

  Status reduce() {
    LIMARP_ASSIGN_OR_RETURN(PickleRef args, pop());
    LIMARP_ASSIGN_OR_RETURN(PickleRef callable, pop());
    const PickleValue& f = out_.at(callable);
    if (f.kind != PickleKind::kGlobal) return make_error("REDUCE of {}, which is not a global", out_.describe(callable));
    if (out_.at(args).kind != PickleKind::kTuple)
      return make_error("REDUCE of {} with {} instead of an argument tuple", f.text, out_.describe(args));
    switch (static_cast<GlobalUse>(f.int_value)) {
      case GlobalUse::kReference: return make_error("{} may not be called", f.text);
      case GlobalUse::kDictFactory:
        if (!out_.at(args).items.empty()) return make_error("{} called with arguments", f.text);
        return push_new(PickleKind::kDict);
      case GlobalUse::kCallable: return push_container(PickleKind::kCall, {callable, args});
    }
    return make_error("bad allow-list entry for {}", f.text);
  }
  Status build() {
    LIMARP_ASSIGN_OR_RETURN(PickleRef state, pop());
    LIMARP_ASSIGN_OR_RETURN(PickleRef target, top());
    PickleValue& t = value(target);
    if (t.kind == PickleKind::kDict) return {};  // instance attributes of an OrderedDict (state_dict()._metadata)
    if (t.kind == PickleKind::kCall && t.items.size() == 2) {
      t.items.push_back(state);
      return {};
    }
    return make_error("BUILD on {}", out_.describe(target));
  }
  Status set_items(PickleRef dict, const std::vector<PickleRef>& kv) {
    if (kv.size() % 2) return make_error("odd number of items ({}) for a dict", kv.size());
    auto& items = value(dict).items;
    items.insert(items.end(), kv.begin(), kv.end());
    return {};
  }

  Status step(uint8_t op) {
    switch (op) {
      case kProto: {
        LIMARP_ASSIGN_OR_RETURN(uint8_t v, in_.read<uint8_t>("protocol"));
        if (v > 5) return make_error("pickle protocol {} is newer than 5", v);
        out_.protocol_ = v;
        return {};
      }
      case kFrame: {  // framing only groups opcodes for buffered reads; the content is checked as usual
        LIMARP_ASSIGN_OR_RETURN(uint64_t n, in_.read<uint64_t>("frame length"));
        if (n > in_.remaining()) return make_error("frame of {} bytes but only {} remain", n, in_.remaining());
        return {};
      }
      case kStop: {
        if (!marks_.empty()) return make_error("STOP inside an unclosed MARK");
        LIMARP_ASSIGN_OR_RETURN(out_.root_, pop());
        stopped_ = true;
        return {};
      }
      case kMark:
        if (marks_.size() >= options_.max_marks) return make_error("MARKs nested deeper than {}", options_.max_marks);
        marks_.push_back(stack_.size());
        return {};
      case kPop:
        if (stack_.size() > frame_base()) {
          stack_.pop_back();
          return {};
        }
        return pop_mark().status();
      case kPopMark: return pop_mark().status();
      case kDup: {
        LIMARP_ASSIGN_OR_RETURN(PickleRef r, top());
        stack_.push_back(r);
        return {};
      }

      case kNone: stack_.push_back(none_); return {};
      case kNewTrue: stack_.push_back(true_); return {};
      case kNewFalse: stack_.push_back(false_); return {};
      case kBinInt: {
        LIMARP_ASSIGN_OR_RETURN(int32_t v, in_.read<int32_t>("int32"));
        return push_int(v);
      }
      case kBinInt1: {
        LIMARP_ASSIGN_OR_RETURN(uint8_t v, in_.read<uint8_t>("uint8"));
        return push_int(v);
      }
      case kBinInt2: {
        LIMARP_ASSIGN_OR_RETURN(uint16_t v, in_.read<uint16_t>("uint16"));
        return push_int(v);
      }
      case kLong1: {
        LIMARP_ASSIGN_OR_RETURN(uint8_t n, in_.read<uint8_t>("LONG1 length"));
        return push_long(n);
      }
      case kLong4: {
        LIMARP_ASSIGN_OR_RETURN(uint64_t n, read_length<int32_t>("LONG4 length"));
        return push_long(n);
      }
      case kBinFloat: {  // the one big-endian field in the format
        LIMARP_ASSIGN_OR_RETURN(uint64_t be, in_.read<uint64_t>("float64"));
        PickleRef r = 0;
        LIMARP_TRY(push_new(PickleKind::kFloat, &r));
        value(r).float_value = std::bit_cast<double>(__builtin_bswap64(be));
        return {};
      }

      case kBinUnicode: {
        LIMARP_ASSIGN_OR_RETURN(uint64_t n, read_length<uint32_t>("string length"));
        return push_text(PickleKind::kString, n);
      }
      case kShortBinUnicode: {
        LIMARP_ASSIGN_OR_RETURN(uint64_t n, read_length<uint8_t>("string length"));
        return push_text(PickleKind::kString, n);
      }
      case kBinUnicode8: {
        LIMARP_ASSIGN_OR_RETURN(uint64_t n, read_length<uint64_t>("string length"));
        return push_text(PickleKind::kString, n);
      }
      case kBinString: {  // Python 2 str; decoded as text like CPython's default
        LIMARP_ASSIGN_OR_RETURN(uint64_t n, read_length<int32_t>("string length"));
        return push_text(PickleKind::kString, n);
      }
      case kShortBinString: {
        LIMARP_ASSIGN_OR_RETURN(uint64_t n, read_length<uint8_t>("string length"));
        return push_text(PickleKind::kString, n);
      }
      case kBinBytes: {
        LIMARP_ASSIGN_OR_RETURN(uint64_t n, read_length<uint32_t>("bytes length"));
        return push_text(PickleKind::kBytes, n);
      }
      case kShortBinBytes: {
        LIMARP_ASSIGN_OR_RETURN(uint64_t n, read_length<uint8_t>("bytes length"));
        return push_text(PickleKind::kBytes, n);
      }
      case kBinBytes8:
      case kByteArray8: {
        LIMARP_ASSIGN_OR_RETURN(uint64_t n, read_length<uint64_t>("bytes length"));
        return push_text(PickleKind::kBytes, n);
      }

      case kEmptyTuple: return push_container(PickleKind::kTuple, {});
      case kTuple1: return push_tuple_of(1);
      case kTuple2: return push_tuple_of(2);
      case kTuple3: return push_tuple_of(3);
      case kTuple: {
        LIMARP_ASSIGN_OR_RETURN(auto items, pop_mark());
        return push_container(PickleKind::kTuple, std::move(items));
      }
      case kEmptyList: return push_container(PickleKind::kList, {});
      case kList: {
        LIMARP_ASSIGN_OR_RETURN(auto items, pop_mark());
        return push_container(PickleKind::kList, std::move(items));
      }
      case kAppend: {
        LIMARP_ASSIGN_OR_RETURN(PickleRef v, pop());
        LIMARP_ASSIGN_OR_RETURN(PickleRef list, top_of_kind(PickleKind::kList));
        value(list).items.push_back(v);
        return {};
      }
      case kAppends: {
        LIMARP_ASSIGN_OR_RETURN(auto items, pop_mark());
        LIMARP_ASSIGN_OR_RETURN(PickleRef list, top_of_kind(PickleKind::kList));
        auto& dst = value(list).items;
        dst.insert(dst.end(), items.begin(), items.end());
        return {};
      }
      case kEmptyDict: return push_new(PickleKind::kDict);
      case kDict: {
        LIMARP_ASSIGN_OR_RETURN(auto items, pop_mark());
        PickleRef r = 0;
        LIMARP_TRY(push_new(PickleKind::kDict, &r));
        return set_items(r, items);
      }
      case kSetItem: {
        LIMARP_ASSIGN_OR_RETURN(PickleRef v, pop());
        LIMARP_ASSIGN_OR_RETURN(PickleRef k, pop());
        LIMARP_ASSIGN_OR_RETURN(PickleRef dict, top_of_kind(PickleKind::kDict));
        return set_items(dict, {k, v});
      }
      case kSetItems: {
        LIMARP_ASSIGN_OR_RETURN(auto items, pop_mark());
        LIMARP_ASSIGN_OR_RETURN(PickleRef dict, top_of_kind(PickleKind::kDict));
        return set_items(dict, items);
      }

      case kBinPut: {
        LIMARP_ASSIGN_OR_RETURN(uint8_t i, in_.read<uint8_t>("memo index"));
        return memo_put(i);
      }
      case kLongBinPut: {
        LIMARP_ASSIGN_OR_RETURN(uint32_t i, in_.read<uint32_t>("memo index"));
        return memo_put(i);
      }
      case kMemoize: return memo_put(memo_.size());
      case kBinGet: {
        LIMARP_ASSIGN_OR_RETURN(uint8_t i, in_.read<uint8_t>("memo index"));
        return memo_get(i);
      }
      case kLongBinGet: {
        LIMARP_ASSIGN_OR_RETURN(uint32_t i, in_.read<uint32_t>("memo index"));
        return memo_get(i);
      }

      case kGlobal: {
        LIMARP_ASSIGN_OR_RETURN(std::string module, read_line("GLOBAL module"));
        LIMARP_ASSIGN_OR_RETURN(std::string name, read_line("GLOBAL name"));
        return push_global(std::move(module), std::move(name));
      }
      case kStackGlobal: {
        LIMARP_ASSIGN_OR_RETURN(PickleRef name, pop());
        LIMARP_ASSIGN_OR_RETURN(PickleRef module, pop());
        if (!out_.as_string(module) || !out_.as_string(name))
          return make_error("STACK_GLOBAL of {} and {} instead of two strings", out_.describe(module), out_.describe(name));
        return push_global(*out_.as_string(module), *out_.as_string(name));
      }
      case kReduce: return reduce();
      case kBuild: return build();
      case kBinPersId: {
        LIMARP_ASSIGN_OR_RETURN(PickleRef pid, pop());
        return push_container(PickleKind::kPersistentId, {pid});
      }
    }
    for (const auto& r : kRefused)
      if (r.op == op) return make_error("opcode {} is not supported: {}", r.name, r.why);
    return make_error("unknown opcode {:#04x}; not a pickle, or corrupt", op);
  }

  ByteReader in_;
  const PickleOptions& options_;
  Pickle out_;
  std::vector<PickleRef> stack_;
  std::vector<size_t> marks_;  // stack sizes at each open MARK
  std::unordered_map<uint64_t, PickleRef> memo_;
  PickleRef none_ = 0, false_ = 0, true_ = 0;
  size_t op_offset_ = 0;
  bool stopped_ = false;
};

Result<Pickle> read_pickle(std::span<const uint8_t> bytes, const PickleOptions& options) {
  if (options.max_values < 3) return make_error("PickleOptions.max_values must be at least 3");
  Unpickler u(bytes, options);
  return u.run();
}

}  // namespace limarp
