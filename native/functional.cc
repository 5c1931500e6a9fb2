// SPDX-License-Identifier: MIT
//
// Creation functions, cat/stack/where, and the torch.nn.functional operations, with PyTorch's
// argument order and defaults. Pairs such as `stride` are [height, width].

#include <ATen/ATen.h>

#include <string>

#include "args.h"
#include "bindings.h"
#include "core/buffer.h"
#include "core/error.h"
#include "core/torch_error.h"
#include "errors.h"
#include "tensor_wrap.h"

namespace medunet {

namespace {

c10::optional<at::Tensor> Optional(const at::Tensor& tensor) {
  return tensor.defined() ? c10::optional<at::Tensor>(tensor) : c10::nullopt;
}

// The element type of a typed array that tensor() accepts, or nullopt for the others.
std::optional<c10::ScalarType> TypedArrayDType(napi_typedarray_type type) {
  switch (type) {
    case napi_float32_array:
      return c10::ScalarType::Float;
    case napi_float64_array:
      return c10::ScalarType::Double;
    case napi_bigint64_array:
      return c10::ScalarType::Long;
    case napi_int32_array:
      return c10::ScalarType::Int;
    case napi_int16_array:
      return c10::ScalarType::Short;
    case napi_int8_array:
      return c10::ScalarType::Char;
    case napi_uint8_array:
      return c10::ScalarType::Byte;
    default:
      return std::nullopt;
  }
}

constexpr const char* kTensorDataTypes =
    "a Float32Array, Float64Array, BigInt64Array, Int32Array, Int16Array, Int8Array, Uint8Array or an array of numbers";

// Shape, dtype and device of a creation function; `first_option` is the dtype's index.
struct Creation {
  std::vector<int64_t> shape;
  at::TensorOptions options;
};

Creation ReadCreation(const ArgReader& args, size_t first_option) {
  Creation creation;
  creation.shape = args.IntList(0, "shape");
  ShapeNumel(creation.shape, std::string(args.function()) + ": shape");
  const c10::ScalarType dtype = args.DTypeOr(first_option, "dtype", c10::ScalarType::Float);
  creation.options = at::TensorOptions().dtype(dtype).device(args.DeviceOr(first_option + 1, "device"));
  return creation;
}

using Factory = at::Tensor (*)(at::IntArrayRef shape, const at::TensorOptions& options);

Napi::Value CreateWith(const Napi::CallbackInfo& info, const char* name, Factory factory) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    ArgReader args(info, name);
    const Creation creation = ReadCreation(args, 1);
    return TensorWrap::NewHandle(info.Env(),
                                 RunOp(name, {}, [&] { return factory(creation.shape, creation.options); }));
  });
}

at::Tensor ReadTypedArray(const ArgReader& args, const Napi::TypedArray& array, const std::vector<int64_t>& shape,
                          std::optional<c10::ScalarType> dtype, const c10::Device& device) {
  const std::optional<c10::ScalarType> source = TypedArrayDType(array.TypedArrayType());
  if (!source) args.FailType("data", kTensorDataTypes, array);
  const auto* bytes = static_cast<const uint8_t*>(array.ArrayBuffer().Data()) + array.ByteOffset();
  return TensorFromBuffer(bytes, array.ByteLength(), *source, shape, dtype.value_or(*source), device);
}

at::Tensor ReadNumberArray(const ArgReader& args, const Napi::Array& array, const std::vector<int64_t>& shape,
                           std::optional<c10::ScalarType> dtype, const c10::Device& device) {
  std::vector<double> values(array.Length());
  for (uint32_t i = 0; i < array.Length(); ++i) {
    values[i] = args.NumberValue(array.Get(i), "data[" + std::to_string(i) + "]");
  }
  return TensorFromBuffer(values.data(), values.size() * sizeof(double), c10::ScalarType::Double, shape,
                          dtype.value_or(c10::ScalarType::Float), device);
}

int64_t ParseReduction(const ArgReader& args, size_t index) {
  const std::string reduction = args.String(index, "reduction");
  if (reduction == "mean") return at::Reduction::Mean;
  if (reduction == "sum") return at::Reduction::Sum;
  if (reduction == "none") return at::Reduction::None;
  args.FailRange("reduction", "one of 'mean', 'sum', 'none'", "'" + reduction + "'");
}

}  // namespace

Napi::Value CreateTensor(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    ArgReader args(info, "tensor");
    const std::vector<int64_t> shape = args.IntList(1, "shape");
    std::optional<c10::ScalarType> dtype;
    if (!args.IsMissing(2)) dtype = args.DTypeOr(2, "dtype", c10::ScalarType::Float);
    const c10::Device device = args.DeviceOr(3, "device");
    const bool requires_grad = args.BoolOr(4, "requiresGrad", false);
    const Napi::Value data = info[0];
    at::Tensor tensor;
    if (data.IsTypedArray()) {
      tensor = ReadTypedArray(args, data.As<Napi::TypedArray>(), shape, dtype, device);
    } else if (data.IsArray()) {
      tensor = ReadNumberArray(args, data.As<Napi::Array>(), shape, dtype, device);
    } else {
      args.FailType("data", kTensorDataTypes, data);
    }
    if (requires_grad) RunOp("requires_grad_", {{"input", tensor}}, [&] { tensor.set_requires_grad(true); });
    return TensorWrap::NewHandle(info.Env(), tensor);
  });
}

Napi::Value Zeros(const Napi::CallbackInfo& info) {
  return CreateWith(info, "zeros",
                    [](at::IntArrayRef shape, const at::TensorOptions& options) { return at::zeros(shape, options); });
}

Napi::Value Ones(const Napi::CallbackInfo& info) {
  return CreateWith(info, "ones",
                    [](at::IntArrayRef shape, const at::TensorOptions& options) { return at::ones(shape, options); });
}

Napi::Value Empty(const Napi::CallbackInfo& info) {
  return CreateWith(info, "empty",
                    [](at::IntArrayRef shape, const at::TensorOptions& options) { return at::empty(shape, options); });
}

Napi::Value Rand(const Napi::CallbackInfo& info) {
  return CreateWith(info, "rand",
                    [](at::IntArrayRef shape, const at::TensorOptions& options) { return at::rand(shape, options); });
}

Napi::Value Randn(const Napi::CallbackInfo& info) {
  return CreateWith(info, "randn",
                    [](at::IntArrayRef shape, const at::TensorOptions& options) { return at::randn(shape, options); });
}

Napi::Value Full(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    ArgReader args(info, "full");
    const double value = args.Number(1, "value");
    const Creation creation = ReadCreation(args, 2);
    return TensorWrap::NewHandle(info.Env(), RunOp("full", {}, [&] {
                                   return at::full(creation.shape, ScalarFromNumber(value), creation.options);
                                 }));
  });
}

Napi::Value Arange(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    ArgReader args(info, "arange");
    const at::Scalar start = ScalarFromNumber(args.Number(0, "start"));
    const at::Scalar end = ScalarFromNumber(args.Number(1, "end"));
    const at::Scalar step = ScalarFromNumber(args.Number(2, "step"));
    const c10::ScalarType dtype = args.DTypeOr(3, "dtype", c10::ScalarType::Float);
    const at::TensorOptions options = at::TensorOptions().dtype(dtype).device(args.DeviceOr(4, "device"));
    return TensorWrap::NewHandle(info.Env(),
                                 RunOp("arange", {}, [&] { return at::arange(start, end, step, options); }));
  });
}

Napi::Value Cat(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    ArgReader args(info, "cat");
    const std::vector<at::Tensor> tensors = args.TensorList(0, "tensors");
    const int64_t dim = args.Int(1, "dim");
    return TensorWrap::NewHandle(info.Env(),
                                 RunListOp("cat", "tensors", tensors, [&] { return at::cat(tensors, dim); }));
  });
}

Napi::Value Stack(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    ArgReader args(info, "stack");
    const std::vector<at::Tensor> tensors = args.TensorList(0, "tensors");
    const int64_t dim = args.Int(1, "dim");
    return TensorWrap::NewHandle(info.Env(),
                                 RunListOp("stack", "tensors", tensors, [&] { return at::stack(tensors, dim); }));
  });
}

Napi::Value Where(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    ArgReader args(info, "where");
    const at::Tensor& condition = args.Tensor(0, "condition");
    const at::Tensor& input = args.Tensor(1, "input");
    const at::Tensor& other = args.Tensor(2, "other");
    return TensorWrap::NewHandle(info.Env(),
                                 RunOp("where", {{"condition", condition}, {"input", input}, {"other", other}},
                                       [&] { return at::where(condition, input, other); }));
  });
}

Napi::Value Conv2d(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    ArgReader args(info, "conv2d");
    const at::Tensor& input = args.Tensor(0, "input");
    const at::Tensor& weight = args.Tensor(1, "weight");
    const at::Tensor bias = args.OptionalTensor(2, "bias");
    const auto stride = args.Pair(3, "stride");
    const auto padding = args.Pair(4, "padding");
    const auto dilation = args.Pair(5, "dilation");
    const int64_t groups = args.Int(6, "groups");
    return TensorWrap::NewHandle(info.Env(),
                                 RunOp("conv2d", {{"input", input}, {"weight", weight}, {"bias", bias}}, [&] {
                                   return at::conv2d(input, weight, Optional(bias), stride, padding, dilation, groups);
                                 }));
  });
}

Napi::Value ConvTranspose2d(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    ArgReader args(info, "convTranspose2d");
    const at::Tensor& input = args.Tensor(0, "input");
    const at::Tensor& weight = args.Tensor(1, "weight");
    const at::Tensor bias = args.OptionalTensor(2, "bias");
    const auto stride = args.Pair(3, "stride");
    const auto padding = args.Pair(4, "padding");
    const auto output_padding = args.Pair(5, "outputPadding");
    const int64_t groups = args.Int(6, "groups");
    const auto dilation = args.Pair(7, "dilation");
    return TensorWrap::NewHandle(
        info.Env(), RunOp("conv_transpose2d", {{"input", input}, {"weight", weight}, {"bias", bias}}, [&] {
          return at::conv_transpose2d(input, weight, Optional(bias), stride, padding, output_padding, groups, dilation);
        }));
  });
}

Napi::Value BatchNorm(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    ArgReader args(info, "batchNorm");
    const at::Tensor& input = args.Tensor(0, "input");
    const at::Tensor running_mean = args.OptionalTensor(1, "runningMean");
    const at::Tensor running_var = args.OptionalTensor(2, "runningVar");
    const at::Tensor weight = args.OptionalTensor(3, "weight");
    const at::Tensor bias = args.OptionalTensor(4, "bias");
    const bool training = args.Bool(5, "training");
    const double momentum = args.Number(6, "momentum");
    const double eps = args.Number(7, "eps");
    // torch.nn.functional.batch_norm's own check: batch statistics need two values per channel.
    if (training && input.dim() >= 2) {
      const int64_t values_per_channel = input.numel() / std::max<int64_t>(input.size(1), 1);
      MEDUNET_CHECK(values_per_channel > 1 || input.numel() == 0, kOutOfRange,
                    "batchNorm: input must have more than 1 value per channel when training; got shape ",
                    FormatShape(input.sizes()));
    }
    return TensorWrap::NewHandle(info.Env(), RunOp("batch_norm",
                                                   {{"input", input},
                                                    {"running_mean", running_mean},
                                                    {"running_var", running_var},
                                                    {"weight", weight},
                                                    {"bias", bias}},
                                                   [&] {
                                                     return at::batch_norm(input, Optional(weight), Optional(bias),
                                                                           Optional(running_mean),
                                                                           Optional(running_var), training, momentum,
                                                                           eps, /*cudnn_enabled=*/true);
                                                   }));
  });
}

Napi::Value MaxPool2d(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    ArgReader args(info, "maxPool2d");
    const at::Tensor& input = args.Tensor(0, "input");
    const auto kernel_size = args.Pair(1, "kernelSize");
    const auto stride = args.Pair(2, "stride");
    const auto padding = args.Pair(3, "padding");
    const auto dilation = args.Pair(4, "dilation");
    const bool ceil_mode = args.Bool(5, "ceilMode");
    return TensorWrap::NewHandle(info.Env(), RunOp("max_pool2d", {{"input", input}}, [&] {
                                   return at::max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode);
                                 }));
  });
}

Napi::Value Relu(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    const at::Tensor& input = ArgReader(info, "relu").Tensor(0, "input");
    return TensorWrap::NewHandle(info.Env(), RunOp("relu", {{"input", input}}, [&] { return at::relu(input); }));
  });
}

Napi::Value ReluInplace(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    at::Tensor input = ArgReader(info, "relu_").Tensor(0, "input");
    RunOp("relu_", {{"input", input}}, [&] { return at::relu_(input); });
    // The result is the input itself, so its handle is returned as in-place methods return `this`.
    return info[0];
  });
}

Napi::Value Sigmoid(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    const at::Tensor& input = ArgReader(info, "sigmoid").Tensor(0, "input");
    return TensorWrap::NewHandle(info.Env(), RunOp("sigmoid", {{"input", input}}, [&] { return at::sigmoid(input); }));
  });
}

Napi::Value Softmax(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    ArgReader args(info, "softmax");
    const at::Tensor& input = args.Tensor(0, "input");
    const int64_t dim = args.Int(1, "dim");
    return TensorWrap::NewHandle(info.Env(),
                                 RunOp("softmax", {{"input", input}}, [&] { return at::softmax(input, dim); }));
  });
}

Napi::Value LogSoftmax(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    ArgReader args(info, "logSoftmax");
    const at::Tensor& input = args.Tensor(0, "input");
    const int64_t dim = args.Int(1, "dim");
    return TensorWrap::NewHandle(info.Env(),
                                 RunOp("log_softmax", {{"input", input}}, [&] { return at::log_softmax(input, dim); }));
  });
}

Napi::Value Pad(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    ArgReader args(info, "pad");
    const at::Tensor& input = args.Tensor(0, "input");
    const std::vector<int64_t> pad = args.IntList(1, "pad");
    const std::string mode = args.String(2, "mode");
    if (mode != "constant" && mode != "reflect" && mode != "replicate") {
      args.FailRange("mode", "one of 'constant', 'reflect', 'replicate'", "'" + mode + "'");
    }
    // Only constant padding takes a fill value, as in torch.nn.functional.pad.
    const c10::optional<double> value =
        mode == "constant" ? c10::optional<double>(args.Number(3, "value")) : c10::nullopt;
    return TensorWrap::NewHandle(info.Env(),
                                 RunOp("pad", {{"input", input}}, [&] { return at::pad(input, pad, mode, value); }));
  });
}

Napi::Value Interpolate(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    ArgReader args(info, "interpolate");
    const at::Tensor& input = args.Tensor(0, "input");
    const auto size = args.Pair(1, "size");
    const std::string mode = args.String(2, "mode");
    const bool align_corners = args.Bool(3, "alignCorners");
    if (mode == "nearest") {
      // torch.nn.functional.interpolate rejects align_corners for modes that do not interpolate.
      if (align_corners) args.FailRange("alignCorners", "false when mode is 'nearest'", "true");
      return TensorWrap::NewHandle(info.Env(), RunOp("upsample_nearest2d", {{"input", input}},
                                                     [&] { return at::upsample_nearest2d(input, size); }));
    }
    if (mode != "bilinear") args.FailRange("mode", "one of 'nearest', 'bilinear'", "'" + mode + "'");
    return TensorWrap::NewHandle(info.Env(), RunOp("upsample_bilinear2d", {{"input", input}}, [&] {
                                   return at::upsample_bilinear2d(input, size, align_corners);
                                 }));
  });
}

Napi::Value BinaryCrossEntropyWithLogits(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    ArgReader args(info, "binaryCrossEntropyWithLogits");
    const at::Tensor& input = args.Tensor(0, "input");
    const at::Tensor& target = args.Tensor(1, "target");
    const at::Tensor weight = args.OptionalTensor(2, "weight");
    const int64_t reduction = ParseReduction(args, 3);
    const at::Tensor pos_weight = args.OptionalTensor(4, "posWeight");
    // torch.nn.functional.binary_cross_entropy_with_logits's own check; libtorch would broadcast.
    MEDUNET_CHECK(target.sizes() == input.sizes(), kOutOfRange,
                  "binaryCrossEntropyWithLogits: target must have the "
                  "shape of input ",
                  FormatShape(input.sizes()), "; got ", FormatShape(target.sizes()));
    return TensorWrap::NewHandle(
        info.Env(), RunOp("binary_cross_entropy_with_logits",
                          {{"input", input}, {"target", target}, {"weight", weight}, {"pos_weight", pos_weight}}, [&] {
                            return at::binary_cross_entropy_with_logits(input, target, Optional(weight),
                                                                        Optional(pos_weight), reduction);
                          }));
  });
}

Napi::Value CrossEntropy(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    ArgReader args(info, "crossEntropy");
    const at::Tensor& input = args.Tensor(0, "input");
    const at::Tensor& target = args.Tensor(1, "target");
    const at::Tensor weight = args.OptionalTensor(2, "weight");
    const int64_t reduction = ParseReduction(args, 3);
    const int64_t ignore_index = args.Int(4, "ignoreIndex");
    return TensorWrap::NewHandle(
        info.Env(), RunOp("cross_entropy", {{"input", input}, {"target", target}, {"weight", weight}}, [&] {
          return at::cross_entropy_loss(input, target, Optional(weight), reduction, ignore_index, 0.0);
        }));
  });
}

Napi::Value OneHot(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    ArgReader args(info, "oneHot");
    const at::Tensor& indices = args.Tensor(0, "indices");
    const int64_t num_classes = args.Int(1, "numClasses");
    return TensorWrap::NewHandle(
        info.Env(), RunOp("one_hot", {{"indices", indices}}, [&] { return at::one_hot(indices, num_classes); }));
  });
}

}  // namespace medunet
