// SPDX-License-Identifier: MIT
//
// Reading JavaScript arguments into C++ values. The TypeScript layer validates public
// arguments first; these checks stop what would otherwise crash or silently coerce: wrong types
// before any As<>, non-integers where libtorch wants integers, unknown dtypes and devices, and
// disposed tensors. Messages read "<function>: <name> must be <rule>; got <value>", in the
// shape of lib/validate.ts.

#pragma once

#include <ATen/core/Tensor.h>
#include <napi.h>

#include <array>
#include <optional>
#include <string>
#include <vector>

namespace medunet {

/// A `NativeTensor | number` argument: a tensor, or a scalar (an integer-valued number becomes
/// an integer scalar, as a Python int would, so that `int_tensor.add(1)` stays an integer tensor).
struct TensorOrScalar {
  at::Tensor tensor;
  at::Scalar scalar;
  bool is_tensor() const { return tensor.defined(); }
};

/// Converts a JavaScript number to a scalar: an integer scalar when it is a safe integer (as a
/// Python int would be), else a floating-point scalar.
at::Scalar ScalarFromNumber(double number);

/// Formats a received value for an error message, as `describe` in lib/validate.ts does.
std::string DescribeValue(const Napi::Value& value);

/// Reads the arguments of one call. Every error names `function` and the argument.
class ArgReader {
 public:
  ArgReader(const Napi::CallbackInfo& info, const char* function) : info_(info), function_(function) {}

  /// True when the argument is absent or undefined.
  bool IsMissing(size_t index) const;
  /// True when the argument is absent, undefined or null.
  bool IsNullish(size_t index) const;

  /// A new reference to the tensor, so that the call keeps it alive even if reading a later
  /// argument runs JavaScript that disposes the handle.
  at::Tensor Tensor(size_t index, const char* name) const;
  /// An undefined tensor for null or undefined.
  at::Tensor OptionalTensor(size_t index, const char* name) const;
  std::vector<at::Tensor> TensorList(size_t index, const char* name) const;
  TensorOrScalar TensorOrNumber(size_t index, const char* name) const;

  double Number(size_t index, const char* name) const;
  /// nullopt for null or undefined.
  std::optional<double> OptionalNumber(size_t index, const char* name) const;
  /// A number that is a safe integer (|n| <= 2^53 - 1).
  int64_t Int(size_t index, const char* name) const;
  int64_t IntOr(size_t index, const char* name, int64_t fallback) const;
  std::optional<int64_t> OptionalInt(size_t index, const char* name) const;
  bool Bool(size_t index, const char* name) const;
  bool BoolOr(size_t index, const char* name, bool fallback) const;
  std::string String(size_t index, const char* name) const;
  Napi::Object Object(size_t index, const char* name) const;

  std::vector<int64_t> IntList(size_t index, const char* name) const;
  /// nullopt for null or undefined.
  std::optional<std::vector<int64_t>> OptionalIntList(size_t index, const char* name) const;
  /// An array of exactly two integers, such as [height, width].
  std::array<int64_t, 2> Pair(size_t index, const char* name) const;

  c10::ScalarType DTypeOr(size_t index, const char* name, c10::ScalarType fallback) const;
  /// 'cpu' when the argument is missing.
  c10::Device DeviceOr(size_t index, const char* name) const;

  /// Reads one element of an array or a property of an object, with `name` for messages.
  int64_t IntValue(const Napi::Value& value, const std::string& name) const;
  double NumberValue(const Napi::Value& value, const std::string& name) const;
  bool BoolValue(const Napi::Value& value, const std::string& name) const;
  at::Tensor TensorValue(const Napi::Value& value, const std::string& name) const;

  /// Throws a TypeError (ERR_INVALID_ARG_TYPE) or RangeError (ERR_OUT_OF_RANGE) in the common shape.
  [[noreturn]] void FailType(const std::string& name, const char* expected, const Napi::Value& value) const;
  [[noreturn]] void FailRange(const std::string& name, const std::string& expected, const std::string& got) const;

  const char* function() const { return function_; }
  Napi::Env env() const { return info_.Env(); }

 private:
  Napi::Value At(size_t index) const { return info_[index]; }
  std::vector<int64_t> IntListValue(const Napi::Value& value, const std::string& name) const;

  const Napi::CallbackInfo& info_;
  const char* function_;
};

}  // namespace medunet
