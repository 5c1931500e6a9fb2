// SPDX-License-Identifier: MIT

#include "core/pickle_reader.h"

#include <ATen/ops/empty.h>

#include <cstring>
#include <unordered_map>

#include "core/error.h"
#include "core/torch_error.h"

namespace medunet {

namespace {

// Opcodes, named as in CPython's Lib/pickle.py.
enum Opcode : uint8_t {
  kMark = '(',
  kStop = '.',
  kPop = '0',
  kPopMark = '1',
  kDup = '2',
  kBinFloat = 'G',
  kBinInt = 'J',
  kBinInt1 = 'K',
  kBinInt2 = 'M',
  kNone = 'N',
  kBinPersId = 'Q',
  kReduce = 'R',
  kBinUnicode = 'X',
  kBinBytes = 'B',
  kShortBinBytes = 'C',
  kAppend = 'a',
  kBuild = 'b',
  kGlobal = 'c',
  kDict = 'd',
  kEmptyDict = '}',
  kAppends = 'e',
  kBinGet = 'h',
  kLongBinGet = 'j',
  kList = 'l',
  kEmptyList = ']',
  kBinPut = 'q',
  kLongBinPut = 'r',
  kSetItem = 's',
  kTuple = 't',
  kEmptyTuple = ')',
  kSetItems = 'u',
  kProto = 0x80,
  kTuple1 = 0x85,
  kTuple2 = 0x86,
  kTuple3 = 0x87,
  kNewTrue = 0x88,
  kNewFalse = 0x89,
  kLong1 = 0x8a,
  kShortBinUnicode = 0x8c,
  kBinUnicode8 = 0x8d,
  kStackGlobal = 0x93,
  kNewObj = 0x81,
  kNewObjEx = 0x92,
  kMemoize = 0x94,
  kFrame = 0x95,
};

// Storage classes that torch.save names in its persistent ids, with their element types.
const std::pair<std::string_view, c10::ScalarType> kStorageTypes[] = {
    {"torch.FloatStorage", c10::ScalarType::Float}, {"torch.DoubleStorage", c10::ScalarType::Double},
    {"torch.HalfStorage", c10::ScalarType::Half},   {"torch.BFloat16Storage", c10::ScalarType::BFloat16},
    {"torch.LongStorage", c10::ScalarType::Long},   {"torch.IntStorage", c10::ScalarType::Int},
    {"torch.ShortStorage", c10::ScalarType::Short}, {"torch.CharStorage", c10::ScalarType::Char},
    {"torch.ByteStorage", c10::ScalarType::Byte},   {"torch.BoolStorage", c10::ScalarType::Bool},
};

PickleValue MakeValue(PickleValue::Kind kind) {
  PickleValue value;
  value.kind = kind;
  return value;
}

PickleValue MakeSequence(PickleValue::Kind kind, PickleItems items) {
  PickleValue value = MakeValue(kind);
  value.items = std::make_shared<PickleItems>(std::move(items));
  return value;
}

PickleValue MakeInt(int64_t integer) {
  PickleValue value = MakeValue(PickleValue::Kind::kInt);
  value.integer = integer;
  return value;
}

PickleValue MakeText(PickleValue::Kind kind, std::string text) {
  PickleValue value = MakeValue(kind);
  value.text = std::move(text);
  return value;
}

PickleValue MakeTensor(at::Tensor tensor) {
  PickleValue value = MakeValue(PickleValue::Kind::kTensor);
  value.tensor = std::move(tensor);
  return value;
}

// A stack machine over the pickle bytes; one instance reads one stream.
class Unpickler {
 public:
  Unpickler(const char* data, size_t size, const StorageLoader& load_storage)
      : data_(data), size_(size), load_storage_(load_storage) {}

  PickleValue Run() {
    while (true) {
      opcode_offset_ = offset_;
      const uint8_t opcode = ReadByte();
      if (opcode == kStop) break;
      Step(opcode);
    }
    if (stack_.size() != 1 || !marks_.empty()) Fail("the stream ended with an unbalanced stack");
    return stack_.back();
  }

 private:
  [[noreturn]] void Fail(const std::string& reason) const {
    MEDUNET_THROW(kCheckpoint, "malformed or unsupported pickle data at byte ", opcode_offset_, ": ", reason);
  }

  // Byte access.
  const char* Take(size_t count) {
    if (count > size_ - offset_) Fail("the stream ends inside an opcode");
    const char* start = data_ + offset_;
    offset_ += count;
    return start;
  }
  uint8_t ReadByte() { return static_cast<uint8_t>(*Take(1)); }
  uint64_t ReadLittleEndian(size_t count) {
    const char* bytes = Take(count);
    uint64_t result = 0;
    for (size_t i = 0; i < count; ++i) result |= static_cast<uint64_t>(static_cast<uint8_t>(bytes[i])) << (8 * i);
    return result;
  }
  std::string ReadString(size_t length) { return std::string(Take(length), length); }
  std::string ReadLine() {
    const char* start = data_ + offset_;
    const void* newline = std::memchr(start, '\n', size_ - offset_);
    if (newline == nullptr) Fail("a GLOBAL name has no line end");
    const size_t length = static_cast<const char*>(newline) - start;
    offset_ += length + 1;
    return std::string(start, length);
  }

  // Stack access.
  void Push(PickleValue value) { stack_.push_back(std::move(value)); }
  PickleValue Pop() {
    if (stack_.size() <= MarkFloor()) Fail("an opcode pops from an empty stack");
    PickleValue value = std::move(stack_.back());
    stack_.pop_back();
    return value;
  }
  PickleValue& Top() {
    if (stack_.size() <= MarkFloor()) Fail("an opcode reads from an empty stack");
    return stack_.back();
  }
  size_t MarkFloor() const { return marks_.empty() ? 0 : marks_.back(); }
  PickleItems PopToMark() {
    if (marks_.empty()) Fail("an opcode needs a MARK that is missing");
    const size_t mark = marks_.back();
    marks_.pop_back();
    PickleItems items(std::make_move_iterator(stack_.begin() + mark), std::make_move_iterator(stack_.end()));
    stack_.resize(mark);
    return items;
  }
  PickleItems PopItems(size_t count) {
    if (stack_.size() < MarkFloor() + count) Fail("a TUPLE opcode pops from an empty stack");
    PickleItems items(std::make_move_iterator(stack_.end() - count), std::make_move_iterator(stack_.end()));
    stack_.resize(stack_.size() - count);
    return items;
  }

  // Memo access.
  void Memoize(uint64_t index) { memo_[index] = Top(); }
  void Recall(uint64_t index) {
    auto found = memo_.find(index);
    if (found == memo_.end()) Fail("a GET opcode names a memo entry that was never stored");
    Push(found->second);
  }

  void Step(uint8_t opcode) {
    if (StepScalar(opcode) || StepContainer(opcode) || StepObject(opcode)) return;
    Fail("opcode 0x" + ToHex(opcode) + " is not supported");
  }

  // Numbers, strings, memo and framing.
  bool StepScalar(uint8_t opcode) {
    switch (opcode) {
      case kProto:
        ReadByte();
        return true;
      case kFrame:
        ReadLittleEndian(8);
        return true;
      case kNone:
        Push(MakeValue(PickleValue::Kind::kNone));
        return true;
      case kNewTrue:
      case kNewFalse: {
        PickleValue value = MakeValue(PickleValue::Kind::kBool);
        value.boolean = opcode == kNewTrue;
        Push(std::move(value));
        return true;
      }
      case kBinInt:
        Push(MakeInt(static_cast<int32_t>(ReadLittleEndian(4))));
        return true;
      case kBinInt1:
        Push(MakeInt(ReadByte()));
        return true;
      case kBinInt2:
        Push(MakeInt(static_cast<int64_t>(ReadLittleEndian(2))));
        return true;
      case kLong1:
        Push(MakeInt(ReadLong1()));
        return true;
      case kBinFloat:
        Push(ReadBinFloat());
        return true;
      case kShortBinUnicode:
      case kShortBinBytes:
        Push(MakeText(PickleValue::Kind::kString, ReadString(ReadByte())));
        return true;
      case kBinUnicode:
      case kBinBytes:
        Push(MakeText(PickleValue::Kind::kString, ReadString(ReadLittleEndian(4))));
        return true;
      case kBinUnicode8:
        Push(MakeText(PickleValue::Kind::kString, ReadString(ReadLittleEndian(8))));
        return true;
      case kBinPut:
        Memoize(ReadByte());
        return true;
      case kLongBinPut:
        Memoize(ReadLittleEndian(4));
        return true;
      case kMemoize:
        Memoize(memo_.size());
        return true;
      case kBinGet:
        Recall(ReadByte());
        return true;
      case kLongBinGet:
        Recall(ReadLittleEndian(4));
        return true;
      default:
        return false;
    }
  }

  // Marks, tuples, lists and dicts.
  bool StepContainer(uint8_t opcode) {
    switch (opcode) {
      case kMark:
        marks_.push_back(stack_.size());
        return true;
      case kPop:
        Pop();
        return true;
      case kPopMark:
        PopToMark();
        return true;
      case kDup:
        Push(Top());
        return true;
      case kEmptyTuple:
        Push(MakeSequence(PickleValue::Kind::kTuple, {}));
        return true;
      case kTuple:
        Push(MakeSequence(PickleValue::Kind::kTuple, PopToMark()));
        return true;
      case kTuple1:
      case kTuple2:
      case kTuple3:
        Push(MakeSequence(PickleValue::Kind::kTuple, PopItems(opcode - kTuple1 + 1)));
        return true;
      case kEmptyList:
        Push(MakeSequence(PickleValue::Kind::kList, {}));
        return true;
      case kList:
        Push(MakeSequence(PickleValue::Kind::kList, PopToMark()));
        return true;
      case kAppend: {
        PickleValue item = Pop();
        AppendTo(Top(), PickleItems{std::move(item)});
        return true;
      }
      case kAppends: {
        PickleItems items = PopToMark();
        AppendTo(Top(), std::move(items));
        return true;
      }
      case kEmptyDict:
      case kDict: {
        PickleValue dict = MakeValue(PickleValue::Kind::kDict);
        dict.entries = std::make_shared<PickleEntries>();
        if (opcode == kDict) SetItems(dict, PopToMark());
        Push(std::move(dict));
        return true;
      }
      case kSetItem: {
        PickleValue value = Pop();
        PickleValue key = Pop();
        SetItems(Top(), PickleItems{std::move(key), std::move(value)});
        return true;
      }
      case kSetItems: {
        PickleItems items = PopToMark();
        SetItems(Top(), std::move(items));
        return true;
      }
      default:
        return false;
    }
  }

  // Globals, calls, object state and persistent ids.
  bool StepObject(uint8_t opcode) {
    switch (opcode) {
      case kGlobal: {
        std::string module = ReadLine();
        std::string name = ReadLine();
        Push(MakeText(PickleValue::Kind::kGlobal, module + "." + name));
        return true;
      }
      case kStackGlobal: {
        PickleValue name = Pop();
        PickleValue module = Pop();
        if (!name.is(PickleValue::Kind::kString) || !module.is(PickleValue::Kind::kString)) {
          Fail("STACK_GLOBAL needs two strings");
        }
        Push(MakeText(PickleValue::Kind::kGlobal, module.text + "." + name.text));
        return true;
      }
      case kReduce: {
        PickleValue args = Pop();
        PickleValue callable = Pop();
        Push(Reduce(callable, args));
        return true;
      }
      case kBuild: {
        Pop();
        // OrderedDict's `_metadata` and a parameter's extra state carry nothing medunet uses.
        const PickleValue& target = Top();
        if (!target.is(PickleValue::Kind::kDict) && !target.is(PickleValue::Kind::kTensor)) {
          Fail("BUILD applies state to an object other than a dict or tensor");
        }
        return true;
      }
      case kNewObj:
      case kNewObjEx:
        FailOnInstance(opcode);
      case kBinPersId:
        Push(PersistentLoad(Pop()));
        return true;
      default:
        return false;
    }
  }

  // NEWOBJ and NEWOBJ_EX build class instances, which a dict of tensors never contains. The
  // usual cause is `torch.save(model)`, which pickles the nn.Module object itself.
  [[noreturn]] void FailOnInstance(uint8_t opcode) {
    if (opcode == kNewObjEx) Pop();  // keyword arguments
    Pop();                           // positional arguments
    const PickleValue cls = Pop();
    const std::string name = cls.is(PickleValue::Kind::kGlobal) ? cls.text : "an unknown class";
    Fail("the file contains a pickled Python object of class '" + name +
         "', not a dict of tensors; a whole model saved with torch.save(model) cannot be read, so save "
         "its weights with torch.save(model.state_dict(), path) instead");
  }

  int64_t ReadLong1() {
    const size_t count = ReadByte();
    if (count > 8) Fail("an integer is wider than 64 bits");
    if (count == 0) return 0;
    uint64_t bits = ReadLittleEndian(count);
    // Sign-extend the two's complement value from its top byte.
    if (count < 8 && (bits >> (8 * count - 1)) & 1) bits |= ~uint64_t{0} << (8 * count);
    return static_cast<int64_t>(bits);
  }

  PickleValue ReadBinFloat() {
    const char* bytes = Take(8);
    uint64_t bits = 0;
    for (int i = 0; i < 8; ++i) bits = (bits << 8) | static_cast<uint8_t>(bytes[i]);
    PickleValue value = MakeValue(PickleValue::Kind::kFloat);
    std::memcpy(&value.floating, &bits, sizeof(bits));
    return value;
  }

  void AppendTo(PickleValue& list, PickleItems items) {
    if (!list.is(PickleValue::Kind::kList)) Fail("APPEND targets something other than a list");
    for (PickleValue& item : items) list.items->push_back(std::move(item));
  }

  void SetItems(PickleValue& dict, PickleItems items) {
    if (!dict.is(PickleValue::Kind::kDict)) Fail("SETITEM targets something other than a dict");
    if (items.size() % 2 != 0) Fail("SETITEMS has an odd number of keys and values");
    for (size_t i = 0; i < items.size(); i += 2) {
      dict.entries->emplace_back(std::move(items[i]), std::move(items[i + 1]));
    }
  }

  const PickleItems& TupleItems(const PickleValue& value, const char* subject) {
    if (!value.is(PickleValue::Kind::kTuple)) Fail(std::string(subject) + " must be a tuple");
    return *value.items;
  }

  PickleValue Reduce(const PickleValue& callable, const PickleValue& args_value) {
    if (!callable.is(PickleValue::Kind::kGlobal)) Fail("REDUCE calls something other than a global");
    const PickleItems& args = TupleItems(args_value, "the arguments of REDUCE");
    const std::string& name = callable.text;
    if (name == "collections.OrderedDict" && args.empty()) {
      PickleValue dict = MakeValue(PickleValue::Kind::kDict);
      dict.entries = std::make_shared<PickleEntries>();
      return dict;
    }
    if (name == "torch._utils._rebuild_tensor_v2" || name == "torch._utils._rebuild_tensor") {
      return MakeTensor(RebuildTensor(args));
    }
    // A saved nn.Parameter: (tensor, requires_grad, backward_hooks[, state]).
    if ((name == "torch._utils._rebuild_parameter" || name == "torch._utils._rebuild_parameter_with_state") &&
        !args.empty() && args[0].is(PickleValue::Kind::kTensor)) {
      return args[0];
    }
    // torch::pickle_save tags typed containers: (value, "Dict[str, Tensor]").
    if (name == "torch.jit._pickle.restore_type_tag" && !args.empty()) return args[0];
    Fail("the object '" + name + "' is not supported; only tensors, dicts, lists, tuples, strings and numbers are");
  }

  int64_t IntArg(const PickleItems& args, size_t index, const char* subject) {
    if (index >= args.size() || !args[index].is(PickleValue::Kind::kInt))
      Fail(std::string(subject) + " must be an int");
    return args[index].integer;
  }

  std::vector<int64_t> IntTuple(const PickleValue& value, const char* subject) {
    std::vector<int64_t> result;
    for (const PickleValue& item : TupleItems(value, subject)) {
      if (!item.is(PickleValue::Kind::kInt)) Fail(std::string(subject) + " must contain only ints");
      result.push_back(item.integer);
    }
    return result;
  }

  // _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata]).
  at::Tensor RebuildTensor(const PickleItems& args) {
    if (args.size() < 4 || !args[0].is(PickleValue::Kind::kStorage)) Fail("a tensor must be rebuilt from a storage");
    const at::Tensor& storage = args[0].tensor;
    const int64_t offset = IntArg(args, 1, "a tensor's storage offset");
    const std::vector<int64_t> sizes = IntTuple(args[2], "a tensor's size");
    const std::vector<int64_t> strides = IntTuple(args[3], "a tensor's stride");
    CheckTensorFitsStorage(storage.numel(), offset, sizes, strides);
    at::Tensor tensor = at::empty({0}, storage.options());
    tensor.set_(storage.storage(), offset, sizes, strides);
    return tensor;
  }

  void CheckTensorFitsStorage(int64_t storage_numel, int64_t offset, const std::vector<int64_t>& sizes,
                              const std::vector<int64_t>& strides) {
    if (sizes.size() != strides.size()) Fail("a tensor's size and stride differ in length");
    if (offset < 0) Fail("a tensor's storage offset is negative");
    for (size_t i = 0; i < sizes.size(); ++i) {
      if (sizes[i] < 0 || strides[i] < 0) Fail("a tensor has a negative size or stride");
    }
    for (int64_t size : sizes) {
      if (size == 0) return;  // An empty tensor addresses no element.
    }
    // The last element addressed must lie inside the storage. Each step keeps `last` below
    // storage_numel, so the products cannot overflow.
    int64_t last = offset;
    if (last >= storage_numel) Fail("a tensor starts past the end of its storage");
    for (size_t i = 0; i < sizes.size(); ++i) {
      if (strides[i] > 0 && sizes[i] - 1 > (storage_numel - 1 - last) / strides[i]) {
        Fail("a tensor reaches past the end of its storage");
      }
      last += (sizes[i] - 1) * strides[i];
    }
  }

  // Persistent id: ('storage', storage_type, key, location, numel).
  PickleValue PersistentLoad(const PickleValue& pid) {
    const PickleItems& fields = TupleItems(pid, "a persistent id");
    if (fields.size() < 5 || !fields[0].is(PickleValue::Kind::kString) || fields[0].text != "storage" ||
        !fields[1].is(PickleValue::Kind::kGlobal) || !fields[2].is(PickleValue::Kind::kString)) {
      Fail("a persistent id is not a ('storage', type, key, location, numel) tuple");
    }
    const std::string& key = fields[2].text;
    auto cached = storages_.find(key);
    if (cached != storages_.end()) return cached->second;
    PickleValue storage = MakeValue(PickleValue::Kind::kStorage);
    storage.tensor = load_storage_(key, StorageDType(fields[1].text), IntArg(fields, 4, "a storage's size"));
    storages_.emplace(key, storage);
    return storage;
  }

  c10::ScalarType StorageDType(const std::string& type_name) {
    for (const auto& [name, dtype] : kStorageTypes) {
      if (name == type_name) return dtype;
    }
    Fail("the storage type '" + type_name + "' is not supported");
  }

  static std::string ToHex(uint8_t byte) {
    static constexpr char kDigits[] = "0123456789abcdef";
    return std::string{kDigits[byte >> 4], kDigits[byte & 15]};
  }

  const char* data_;
  size_t size_;
  size_t offset_ = 0;
  size_t opcode_offset_ = 0;
  const StorageLoader& load_storage_;
  std::vector<PickleValue> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, PickleValue> memo_;
  std::unordered_map<std::string, PickleValue> storages_;
};

}  // namespace

const PickleValue* PickleValue::Find(std::string_view key) const {
  if (!is(Kind::kDict)) return nullptr;
  for (const auto& [entry_key, value] : *entries) {
    if (entry_key.is(Kind::kString) && entry_key.text == key) return &value;
  }
  return nullptr;
}

PickleValue ReadPickle(const char* data, size_t size, const StorageLoader& load_storage) {
  return Unpickler(data, size, load_storage).Run();
}

}  // namespace medunet
