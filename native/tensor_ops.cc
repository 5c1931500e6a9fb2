// SPDX-License-Identifier: MIT
//
// Tensor methods that compute new tensors or modify a tensor in place. Families of methods with
// the same arguments (unary, binary, reductions) share one binding each, which finds its
// operation through the descriptor's data pointer.

#include <ATen/ATen.h>

#include "args.h"
#include "core/error.h"
#include "core/torch_error.h"
#include "errors.h"
#include "tensor_wrap.h"

namespace medunet {

namespace {

struct UnaryOp {
  const char* name;
  at::Tensor (*apply)(const at::Tensor&);
};

struct DimOp {
  const char* name;
  at::Tensor (*apply)(const at::Tensor&, int64_t dim);
};

// An operation whose `other` is a tensor or a number.
struct BinaryOp {
  const char* name;
  at::Tensor (*with_tensor)(const at::Tensor&, const at::Tensor&);
  at::Tensor (*with_scalar)(const at::Tensor&, const at::Scalar&);
};

// An operation whose `other` must be a tensor.
struct TensorBinaryOp {
  const char* name;
  at::Tensor (*apply)(const at::Tensor&, const at::Tensor&);
};

// A reduction over `dims`, or over every element when `dims` is empty.
struct ReductionOp {
  const char* name;
  at::Tensor (*apply)(const at::Tensor&, at::IntArrayRef dims, bool keepdim);
};

const UnaryOp kUnaryOps[] = {
    {"neg", [](const at::Tensor& t) { return t.neg(); }},
    {"abs", [](const at::Tensor& t) { return t.abs(); }},
    {"exp", [](const at::Tensor& t) { return t.exp(); }},
    {"log", [](const at::Tensor& t) { return t.log(); }},
    {"sqrt", [](const at::Tensor& t) { return t.sqrt(); }},
    {"sigmoid", [](const at::Tensor& t) { return t.sigmoid(); }},
    {"relu", [](const at::Tensor& t) { return t.relu(); }},
    {"logicalNot", [](const at::Tensor& t) { return t.logical_not(); }},
    {"detach", [](const at::Tensor& t) { return t.detach(); }},
    {"clone", [](const at::Tensor& t) { return t.clone(); }},
    {"contiguous", [](const at::Tensor& t) { return t.contiguous(); }},
    {"toChannelsLast", [](const at::Tensor& t) { return t.contiguous(at::MemoryFormat::ChannelsLast); }},
};

const DimOp kDimOps[] = {
    {"unsqueeze", [](const at::Tensor& t, int64_t dim) { return t.unsqueeze(dim); }},
    {"softmax", [](const at::Tensor& t, int64_t dim) { return t.softmax(dim); }},
    {"logSoftmax", [](const at::Tensor& t, int64_t dim) { return t.log_softmax(dim); }},
};

const BinaryOp kBinaryOps[] = {
    {"mul", [](const at::Tensor& a, const at::Tensor& b) { return a.mul(b); },
     [](const at::Tensor& a, const at::Scalar& b) { return a.mul(b); }},
    {"div", [](const at::Tensor& a, const at::Tensor& b) { return a.div(b); },
     [](const at::Tensor& a, const at::Scalar& b) { return a.div(b); }},
    {"pow", [](const at::Tensor& a, const at::Tensor& b) { return a.pow(b); },
     [](const at::Tensor& a, const at::Scalar& b) { return a.pow(b); }},
    {"eq", [](const at::Tensor& a, const at::Tensor& b) { return a.eq(b); },
     [](const at::Tensor& a, const at::Scalar& b) { return a.eq(b); }},
    {"ne", [](const at::Tensor& a, const at::Tensor& b) { return a.ne(b); },
     [](const at::Tensor& a, const at::Scalar& b) { return a.ne(b); }},
    {"gt", [](const at::Tensor& a, const at::Tensor& b) { return a.gt(b); },
     [](const at::Tensor& a, const at::Scalar& b) { return a.gt(b); }},
    {"ge", [](const at::Tensor& a, const at::Tensor& b) { return a.ge(b); },
     [](const at::Tensor& a, const at::Scalar& b) { return a.ge(b); }},
    {"lt", [](const at::Tensor& a, const at::Tensor& b) { return a.lt(b); },
     [](const at::Tensor& a, const at::Scalar& b) { return a.lt(b); }},
    {"le", [](const at::Tensor& a, const at::Tensor& b) { return a.le(b); },
     [](const at::Tensor& a, const at::Scalar& b) { return a.le(b); }},
};

const TensorBinaryOp kTensorBinaryOps[] = {
    {"matmul", [](const at::Tensor& a, const at::Tensor& b) { return a.matmul(b); }},
    {"logicalAnd", [](const at::Tensor& a, const at::Tensor& b) { return a.logical_and(b); }},
    {"logicalOr", [](const at::Tensor& a, const at::Tensor& b) { return a.logical_or(b); }},
};

const ReductionOp kReductionOps[] = {
    {"sum", [](const at::Tensor& t, at::IntArrayRef dims,
               bool keepdim) { return dims.empty() ? t.sum() : t.sum(dims, keepdim); }},
    {"mean", [](const at::Tensor& t, at::IntArrayRef dims,
                bool keepdim) { return dims.empty() ? t.mean() : t.mean(dims, keepdim); }},
    {"amax", [](const at::Tensor& t, at::IntArrayRef dims, bool keepdim) { return t.amax(dims, keepdim); }},
    {"amin", [](const at::Tensor& t, at::IntArrayRef dims, bool keepdim) { return t.amin(dims, keepdim); }},
};

template <typename Op>
void* OpData(const Op& op) {
  return const_cast<Op*>(&op);
}

template <typename Op>
const Op& OpOf(const Napi::CallbackInfo& info) {
  return *static_cast<const Op*>(info.Data());
}

std::string MethodName(const char* op) { return std::string("Tensor.") + op; }

// Every dimension index of `tensor`, for reductions with keepdim but without dims.
std::vector<int64_t> AllDims(const at::Tensor& tensor) {
  std::vector<int64_t> dims(static_cast<size_t>(tensor.dim()));
  for (size_t i = 0; i < dims.size(); ++i) dims[i] = static_cast<int64_t>(i);
  return dims;
}

}  // namespace

std::vector<TensorWrap::PropertyDescriptor> TensorWrap::OperationProperties() {
  std::vector<PropertyDescriptor> properties = {
      InstanceMethod<&TensorWrap::AddOrSub>("add", napi_default, const_cast<char*>("add")),
      InstanceMethod<&TensorWrap::AddOrSub>("sub", napi_default, const_cast<char*>("sub")),
      InstanceMethod<&TensorWrap::Reshape>("reshape"),
      InstanceMethod<&TensorWrap::Permute>("permute"),
      InstanceMethod<&TensorWrap::Transpose>("transpose"),
      InstanceMethod<&TensorWrap::Squeeze>("squeeze"),
      InstanceMethod<&TensorWrap::Flatten>("flatten"),
      InstanceMethod<&TensorWrap::Narrow>("narrow"),
      InstanceMethod<&TensorWrap::Select>("select"),
      InstanceMethod<&TensorWrap::IndexSelect>("indexSelect"),
      InstanceMethod<&TensorWrap::Expand>("expand"),
      InstanceMethod<&TensorWrap::Clamp>("clamp"),
      InstanceMethod<&TensorWrap::Argmax>("argmax"),
      InstanceMethod<&TensorWrap::InPlaceAdd>("add_"),
      InstanceMethod<&TensorWrap::InPlaceMul>("mul_"),
      InstanceMethod<&TensorWrap::InPlaceCopy>("copy_"),
      InstanceMethod<&TensorWrap::InPlaceFill>("fill_"),
      InstanceMethod<&TensorWrap::InPlaceZero>("zero_"),
      InstanceMethod<&TensorWrap::InPlaceUniform>("uniform_"),
      InstanceMethod<&TensorWrap::InPlaceNormal>("normal_"),
  };
  for (const UnaryOp& op : kUnaryOps) {
    properties.push_back(InstanceMethod<&TensorWrap::Unary>(op.name, napi_default, OpData(op)));
  }
  for (const DimOp& op : kDimOps) {
    properties.push_back(InstanceMethod<&TensorWrap::WithDim>(op.name, napi_default, OpData(op)));
  }
  for (const BinaryOp& op : kBinaryOps) {
    properties.push_back(InstanceMethod<&TensorWrap::Binary>(op.name, napi_default, OpData(op)));
  }
  for (const TensorBinaryOp& op : kTensorBinaryOps) {
    properties.push_back(InstanceMethod<&TensorWrap::TensorBinary>(op.name, napi_default, OpData(op)));
  }
  for (const ReductionOp& op : kReductionOps) {
    properties.push_back(InstanceMethod<&TensorWrap::Reduction>(op.name, napi_default, OpData(op)));
  }
  return properties;
}

Napi::Value TensorWrap::Unary(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    const UnaryOp& op = OpOf<UnaryOp>(info);
    const std::string function = MethodName(op.name);
    const at::Tensor& self = tensor(function.c_str());
    return NewHandle(info.Env(), RunOp(op.name, {{"input", self}}, [&] { return op.apply(self); }));
  });
}

Napi::Value TensorWrap::WithDim(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    const DimOp& op = OpOf<DimOp>(info);
    const std::string function = MethodName(op.name);
    ArgReader args(info, function.c_str());
    const at::Tensor& self = tensor(args.function());
    const int64_t dim = args.Int(0, "dim");
    return NewHandle(info.Env(), RunOp(op.name, {{"input", self}}, [&] { return op.apply(self, dim); }));
  });
}

Napi::Value TensorWrap::Binary(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    const BinaryOp& op = OpOf<BinaryOp>(info);
    const std::string function = MethodName(op.name);
    ArgReader args(info, function.c_str());
    const at::Tensor& self = tensor(args.function());
    const TensorOrScalar other = args.TensorOrNumber(0, op.name == std::string("pow") ? "exponent" : "other");
    return NewHandle(info.Env(), RunOp(op.name, {{"input", self}, {"other", other.tensor}}, [&] {
                       return other.is_tensor() ? op.with_tensor(self, other.tensor)
                                                : op.with_scalar(self, other.scalar);
                     }));
  });
}

Napi::Value TensorWrap::TensorBinary(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    const TensorBinaryOp& op = OpOf<TensorBinaryOp>(info);
    const std::string function = MethodName(op.name);
    ArgReader args(info, function.c_str());
    const at::Tensor& self = tensor(args.function());
    const at::Tensor& other = args.Tensor(0, "other");
    return NewHandle(info.Env(),
                     RunOp(op.name, {{"input", self}, {"other", other}}, [&] { return op.apply(self, other); }));
  });
}

Napi::Value TensorWrap::Reduction(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    const ReductionOp& op = OpOf<ReductionOp>(info);
    const std::string function = MethodName(op.name);
    ArgReader args(info, function.c_str());
    const at::Tensor& self = tensor(args.function());
    std::optional<std::vector<int64_t>> dims = args.OptionalIntList(0, "dims");
    const bool keepdim = args.BoolOr(1, "keepdim", false);
    // No dims reduces everything; with keepdim every dimension stays with size 1.
    if (!dims && keepdim) dims = AllDims(self);
    const std::vector<int64_t> reduced = dims.value_or(std::vector<int64_t>{});
    MEDUNET_CHECK(!dims || !dims->empty() || self.dim() == 0, kOutOfRange, function,
                  ": dims must list at least one "
                  "dimension, or be null to reduce every element; got []");
    return NewHandle(info.Env(), RunOp(op.name, {{"input", self}}, [&] { return op.apply(self, reduced, keepdim); }));
  });
}

Napi::Value TensorWrap::AddOrSub(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    const char* name = static_cast<const char*>(info.Data());
    const bool is_add = std::string(name) == "add";
    const std::string function = MethodName(name);
    ArgReader args(info, function.c_str());
    const at::Tensor& self = tensor(args.function());
    const TensorOrScalar other = args.TensorOrNumber(0, "other");
    // An integral alpha stays an integer scalar, which integer tensors require.
    const at::Scalar alpha_scalar = ScalarFromNumber(args.IsMissing(1) ? 1.0 : args.Number(1, "alpha"));
    return NewHandle(info.Env(), RunOp(name, {{"input", self}, {"other", other.tensor}}, [&] {
                       if (other.is_tensor())
                         return is_add ? self.add(other.tensor, alpha_scalar) : self.sub(other.tensor, alpha_scalar);
                       return is_add ? self.add(other.scalar, alpha_scalar) : self.sub(other.scalar, alpha_scalar);
                     }));
  });
}

Napi::Value TensorWrap::Reshape(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    ArgReader args(info, "Tensor.reshape");
    const at::Tensor& self = tensor(args.function());
    const std::vector<int64_t> shape = args.IntList(0, "shape");
    return NewHandle(info.Env(), RunOp("reshape", {{"input", self}}, [&] { return self.reshape(shape); }));
  });
}

Napi::Value TensorWrap::Permute(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    ArgReader args(info, "Tensor.permute");
    const at::Tensor& self = tensor(args.function());
    const std::vector<int64_t> dims = args.IntList(0, "dims");
    return NewHandle(info.Env(), RunOp("permute", {{"input", self}}, [&] { return self.permute(dims); }));
  });
}

Napi::Value TensorWrap::Transpose(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    ArgReader args(info, "Tensor.transpose");
    const at::Tensor& self = tensor(args.function());
    const int64_t dim0 = args.Int(0, "dim0");
    const int64_t dim1 = args.Int(1, "dim1");
    return NewHandle(info.Env(), RunOp("transpose", {{"input", self}}, [&] { return self.transpose(dim0, dim1); }));
  });
}

Napi::Value TensorWrap::Squeeze(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    ArgReader args(info, "Tensor.squeeze");
    const at::Tensor& self = tensor(args.function());
    const std::optional<int64_t> dim = args.OptionalInt(0, "dim");
    return NewHandle(info.Env(),
                     RunOp("squeeze", {{"input", self}}, [&] { return dim ? self.squeeze(*dim) : self.squeeze(); }));
  });
}

Napi::Value TensorWrap::Flatten(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    ArgReader args(info, "Tensor.flatten");
    const at::Tensor& self = tensor(args.function());
    const int64_t start_dim = args.IntOr(0, "startDim", 0);
    const int64_t end_dim = args.IntOr(1, "endDim", -1);
    return NewHandle(info.Env(), RunOp("flatten", {{"input", self}}, [&] { return self.flatten(start_dim, end_dim); }));
  });
}

Napi::Value TensorWrap::Narrow(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    ArgReader args(info, "Tensor.narrow");
    const at::Tensor& self = tensor(args.function());
    const int64_t dim = args.Int(0, "dim");
    const int64_t start = args.Int(1, "start");
    const int64_t length = args.Int(2, "length");
    return NewHandle(info.Env(), RunOp("narrow", {{"input", self}}, [&] { return self.narrow(dim, start, length); }));
  });
}

Napi::Value TensorWrap::Select(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    ArgReader args(info, "Tensor.select");
    const at::Tensor& self = tensor(args.function());
    const int64_t dim = args.Int(0, "dim");
    const int64_t index = args.Int(1, "index");
    return NewHandle(info.Env(), RunOp("select", {{"input", self}}, [&] { return self.select(dim, index); }));
  });
}

Napi::Value TensorWrap::IndexSelect(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    ArgReader args(info, "Tensor.indexSelect");
    const at::Tensor& self = tensor(args.function());
    const int64_t dim = args.Int(0, "dim");
    const at::Tensor& index = args.Tensor(1, "index");
    return NewHandle(info.Env(), RunOp("index_select", {{"input", self}, {"index", index}},
                                       [&] { return self.index_select(dim, index); }));
  });
}

Napi::Value TensorWrap::Expand(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    ArgReader args(info, "Tensor.expand");
    const at::Tensor& self = tensor(args.function());
    const std::vector<int64_t> shape = args.IntList(0, "shape");
    return NewHandle(info.Env(), RunOp("expand", {{"input", self}}, [&] { return self.expand(shape); }));
  });
}

Napi::Value TensorWrap::Clamp(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    ArgReader args(info, "Tensor.clamp");
    const at::Tensor& self = tensor(args.function());
    const std::optional<double> min = args.OptionalNumber(0, "min");
    const std::optional<double> max = args.OptionalNumber(1, "max");
    const c10::optional<at::Scalar> min_scalar = min ? c10::optional<at::Scalar>(*min) : c10::nullopt;
    const c10::optional<at::Scalar> max_scalar = max ? c10::optional<at::Scalar>(*max) : c10::nullopt;
    return NewHandle(info.Env(), RunOp("clamp", {{"input", self}}, [&] { return self.clamp(min_scalar, max_scalar); }));
  });
}

Napi::Value TensorWrap::Argmax(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    ArgReader args(info, "Tensor.argmax");
    const at::Tensor& self = tensor(args.function());
    const std::optional<int64_t> dim = args.OptionalInt(0, "dim");
    const c10::optional<int64_t> torch_dim = dim ? c10::optional<int64_t>(*dim) : c10::nullopt;
    const bool keepdim = args.BoolOr(1, "keepdim", false);
    return NewHandle(info.Env(), RunOp("argmax", {{"input", self}}, [&] { return self.argmax(torch_dim, keepdim); }));
  });
}

Napi::Value TensorWrap::InPlaceAdd(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    ArgReader args(info, "Tensor.add_");
    const at::Tensor& self = tensor(args.function());
    const TensorOrScalar other = args.TensorOrNumber(0, "other");
    const at::Scalar alpha = ScalarFromNumber(args.IsMissing(1) ? 1.0 : args.Number(1, "alpha"));
    RunOp("add_", {{"input", self}, {"other", other.tensor}},
          [&] { return other.is_tensor() ? self.add_(other.tensor, alpha) : self.add_(other.scalar, alpha); });
    return info.This();
  });
}

Napi::Value TensorWrap::InPlaceMul(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    ArgReader args(info, "Tensor.mul_");
    const at::Tensor& self = tensor(args.function());
    const TensorOrScalar other = args.TensorOrNumber(0, "other");
    RunOp("mul_", {{"input", self}, {"other", other.tensor}},
          [&] { return other.is_tensor() ? self.mul_(other.tensor) : self.mul_(other.scalar); });
    return info.This();
  });
}

Napi::Value TensorWrap::InPlaceCopy(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    ArgReader args(info, "Tensor.copy_");
    const at::Tensor& self = tensor(args.function());
    const at::Tensor& source = args.Tensor(0, "source");
    RunOp("copy_", {{"input", self}, {"source", source}}, [&] { return self.copy_(source); });
    return info.This();
  });
}

Napi::Value TensorWrap::InPlaceFill(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    ArgReader args(info, "Tensor.fill_");
    const at::Tensor& self = tensor(args.function());
    const double value = args.Number(0, "value");
    RunOp("fill_", {{"input", self}}, [&] { return self.fill_(value); });
    return info.This();
  });
}

Napi::Value TensorWrap::InPlaceZero(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    const at::Tensor& self = tensor("Tensor.zero_");
    RunOp("zero_", {{"input", self}}, [&] { return self.zero_(); });
    return info.This();
  });
}

Napi::Value TensorWrap::InPlaceUniform(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    ArgReader args(info, "Tensor.uniform_");
    const at::Tensor& self = tensor(args.function());
    const double low = args.Number(0, "low");
    const double high = args.Number(1, "high");
    RunOp("uniform_", {{"input", self}}, [&] { return self.uniform_(low, high); });
    return info.This();
  });
}

Napi::Value TensorWrap::InPlaceNormal(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    ArgReader args(info, "Tensor.normal_");
    const at::Tensor& self = tensor(args.function());
    const double mean = args.Number(0, "mean");
    const double std = args.Number(1, "std");
    RunOp("normal_", {{"input", self}}, [&] { return self.normal_(mean, std); });
    return info.This();
  });
}

}  // namespace medunet
