// SPDX-License-Identifier: MIT

#include "args.h"

#include <cmath>

#include "core/dtype.h"
#include "core/error.h"
#include "tensor_wrap.h"

namespace medunet {

namespace {

constexpr double kMaxSafeInteger = 9007199254740991.0;  // Number.MAX_SAFE_INTEGER

bool IsSafeInteger(double value) {
  return std::isfinite(value) && std::trunc(value) == value && std::fabs(value) <= kMaxSafeInteger;
}

std::string DescribeString(const std::string& text) {
  const std::string truncated = text.size() > 60 ? text.substr(0, 57) + "..." : text;
  return "\"" + truncated + "\"";
}

std::string DescribeObject(const Napi::Object& object) {
  Napi::Value constructor = object.Get("constructor");
  if (constructor.IsFunction()) {
    Napi::Value name = constructor.As<Napi::Object>().Get("name");
    if (name.IsString() && !name.As<Napi::String>().Utf8Value().empty()) {
      return "an instance of " + name.As<Napi::String>().Utf8Value();
    }
  }
  return "an object";
}

std::string DescribeArray(const Napi::Array& array) {
  const uint32_t length = array.Length();
  if (length > 8) return "an array of length " + std::to_string(length);
  std::string text = "[";
  for (uint32_t i = 0; i < length; ++i) {
    if (i > 0) text += ", ";
    text += DescribeValue(array.Get(i));
  }
  return text + "]";
}

}  // namespace

at::Scalar ScalarFromNumber(double number) {
  return IsSafeInteger(number) ? at::Scalar(static_cast<int64_t>(number)) : at::Scalar(number);
}

std::string DescribeValue(const Napi::Value& value) {
  if (value.IsNull()) return "null";
  if (value.IsUndefined()) return "undefined";
  if (value.IsString()) return DescribeString(value.As<Napi::String>().Utf8Value());
  if (value.IsSymbol()) return "a symbol";
  if (value.IsNumber() || value.IsBoolean() || value.IsBigInt()) return value.ToString().Utf8Value();
  if (value.IsArray()) return DescribeArray(value.As<Napi::Array>());
  if (value.IsFunction()) return "a function";
  if (value.IsObject()) return DescribeObject(value.As<Napi::Object>());
  return "a value of an unknown type";
}

bool ArgReader::IsMissing(size_t index) const { return At(index).IsUndefined(); }

bool ArgReader::IsNullish(size_t index) const { return At(index).IsUndefined() || At(index).IsNull(); }

void ArgReader::FailType(const std::string& name, const char* expected, const Napi::Value& value) const {
  MEDUNET_THROW(kInvalidArgType, function_, ": ", name, " must be ", expected, "; got ", DescribeValue(value));
}

void ArgReader::FailRange(const std::string& name, const std::string& expected, const std::string& got) const {
  MEDUNET_THROW(kOutOfRange, function_, ": ", name, " must be ", expected, "; got ", got);
}

at::Tensor ArgReader::TensorValue(const Napi::Value& value, const std::string& name) const {
  TensorWrap* handle = TensorWrap::FromValue(value);
  if (handle == nullptr) FailType(name, "a Tensor", value);
  MEDUNET_CHECK(!handle->disposed(), kTensorDisposed, function_, ": ", name,
                " is a disposed tensor; it can no longer be used");
  return handle->tensor(function_);
}

at::Tensor ArgReader::Tensor(size_t index, const char* name) const { return TensorValue(At(index), name); }

at::Tensor ArgReader::OptionalTensor(size_t index, const char* name) const {
  if (IsNullish(index)) return at::Tensor();
  return TensorValue(At(index), name);
}

std::vector<at::Tensor> ArgReader::TensorList(size_t index, const char* name) const {
  Napi::Value value = At(index);
  if (!value.IsArray()) FailType(name, "an array of Tensors", value);
  Napi::Array array = value.As<Napi::Array>();
  std::vector<at::Tensor> tensors;
  tensors.reserve(array.Length());
  for (uint32_t i = 0; i < array.Length(); ++i) {
    tensors.push_back(TensorValue(array.Get(i), std::string(name) + "[" + std::to_string(i) + "]"));
  }
  return tensors;
}

TensorOrScalar ArgReader::TensorOrNumber(size_t index, const char* name) const {
  Napi::Value value = At(index);
  TensorOrScalar result;
  if (value.IsNumber()) {
    result.scalar = ScalarFromNumber(value.As<Napi::Number>().DoubleValue());
    return result;
  }
  if (TensorWrap::FromValue(value) == nullptr) FailType(name, "a Tensor or a number", value);
  result.tensor = TensorValue(value, name);
  return result;
}

double ArgReader::NumberValue(const Napi::Value& value, const std::string& name) const {
  if (!value.IsNumber()) FailType(name, "a number", value);
  return value.As<Napi::Number>().DoubleValue();
}

int64_t ArgReader::IntValue(const Napi::Value& value, const std::string& name) const {
  const double number = value.IsNumber() ? value.As<Napi::Number>().DoubleValue() : 0.0;
  if (!value.IsNumber()) FailType(name, "an integer", value);
  if (!IsSafeInteger(number)) FailRange(name, "an integer", DescribeValue(value));
  return static_cast<int64_t>(number);
}

bool ArgReader::BoolValue(const Napi::Value& value, const std::string& name) const {
  if (!value.IsBoolean()) FailType(name, "a boolean", value);
  return value.As<Napi::Boolean>().Value();
}

double ArgReader::Number(size_t index, const char* name) const { return NumberValue(At(index), name); }

std::optional<double> ArgReader::OptionalNumber(size_t index, const char* name) const {
  if (IsNullish(index)) return std::nullopt;
  return NumberValue(At(index), name);
}

int64_t ArgReader::Int(size_t index, const char* name) const { return IntValue(At(index), name); }

int64_t ArgReader::IntOr(size_t index, const char* name, int64_t fallback) const {
  return IsMissing(index) ? fallback : IntValue(At(index), name);
}

std::optional<int64_t> ArgReader::OptionalInt(size_t index, const char* name) const {
  if (IsNullish(index)) return std::nullopt;
  return IntValue(At(index), name);
}

bool ArgReader::Bool(size_t index, const char* name) const { return BoolValue(At(index), name); }

bool ArgReader::BoolOr(size_t index, const char* name, bool fallback) const {
  return IsMissing(index) ? fallback : BoolValue(At(index), name);
}

std::string ArgReader::String(size_t index, const char* name) const {
  Napi::Value value = At(index);
  if (!value.IsString()) FailType(name, "a string", value);
  return value.As<Napi::String>().Utf8Value();
}

Napi::Object ArgReader::Object(size_t index, const char* name) const {
  Napi::Value value = At(index);
  if (!value.IsObject() || value.IsArray() || value.IsFunction()) FailType(name, "an object", value);
  return value.As<Napi::Object>();
}

std::vector<int64_t> ArgReader::IntListValue(const Napi::Value& value, const std::string& name) const {
  if (!value.IsArray()) FailType(name, "an array of integers", value);
  Napi::Array array = value.As<Napi::Array>();
  std::vector<int64_t> result;
  result.reserve(array.Length());
  for (uint32_t i = 0; i < array.Length(); ++i) {
    result.push_back(IntValue(array.Get(i), name + "[" + std::to_string(i) + "]"));
  }
  return result;
}

std::vector<int64_t> ArgReader::IntList(size_t index, const char* name) const { return IntListValue(At(index), name); }

std::optional<std::vector<int64_t>> ArgReader::OptionalIntList(size_t index, const char* name) const {
  if (IsNullish(index)) return std::nullopt;
  return IntListValue(At(index), name);
}

std::array<int64_t, 2> ArgReader::Pair(size_t index, const char* name) const {
  Napi::Value value = At(index);
  if (!value.IsArray()) FailType(name, "an array of two integers", value);
  std::vector<int64_t> values = IntListValue(value, name);
  if (values.size() != 2) FailRange(name, "an array of two integers", DescribeValue(value));
  return {values[0], values[1]};
}

c10::ScalarType ArgReader::DTypeOr(size_t index, const char* name, c10::ScalarType fallback) const {
  if (IsMissing(index)) return fallback;
  return ParseDType(String(index, name), std::string(function_) + ": " + name);
}

c10::Device ArgReader::DeviceOr(size_t index, const char* name) const {
  if (IsMissing(index)) return c10::Device(c10::DeviceType::CPU);
  return ParseDevice(String(index, name), std::string(function_) + ": " + name);
}

}  // namespace medunet
