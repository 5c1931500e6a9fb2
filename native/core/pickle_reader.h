// SPDX-License-Identifier: MIT
//
// A reader for the pickle stream inside a torch.save zip archive (its data.pkl record). It
// understands the pickle opcodes (up to protocol 4) that torch.save and torch::pickle_save write
// for dicts, lists and tuples of tensors, strings and numbers, and it rebuilds tensors from the
// archive's storage records. Unlike libtorch 1.13's own unpickler, it accepts what Python's
// pickler writes for a `state_dict()`: an OrderedDict that carries `_metadata`, and SETITEM for
// one-item dicts. Any other Python object is rejected.

#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace medunet {

struct PickleValue;
using PickleItems = std::vector<PickleValue>;
using PickleEntries = std::vector<std::pair<PickleValue, PickleValue>>;

/// One unpickled value. Lists and dicts share their items between copies, as Python objects do,
/// because a pickle stream fills them after storing them in its memo.
struct PickleValue {
  enum class Kind { kNone, kBool, kInt, kFloat, kString, kTuple, kList, kDict, kGlobal, kStorage, kTensor };

  Kind kind = Kind::kNone;
  bool boolean = false;
  int64_t integer = 0;
  double floating = 0.0;
  /// The text of a kString, or "module.name" for a kGlobal.
  std::string text;
  /// Items of a kTuple or kList.
  std::shared_ptr<PickleItems> items;
  /// Key-value pairs of a kDict, in insertion order.
  std::shared_ptr<PickleEntries> entries;
  /// A kTensor, or for a kStorage a flat tensor over the whole storage.
  at::Tensor tensor;

  bool is(Kind expected) const { return kind == expected; }
  /// Returns the value of a kDict entry whose key is the string `key`, or null.
  const PickleValue* Find(std::string_view key) const;
};

/// Returns the storage record `key` of an archive as a flat tensor of `numel` elements of `dtype`.
using StorageLoader = std::function<at::Tensor(const std::string& key, c10::ScalarType dtype, int64_t numel)>;

/// Unpickles `size` bytes at `data`. Throws medunet::Error (kCheckpoint) naming the problem and
/// its byte offset when the stream is malformed or contains an unsupported object.
PickleValue ReadPickle(const char* data, size_t size, const StorageLoader& load_storage);

}  // namespace medunet
