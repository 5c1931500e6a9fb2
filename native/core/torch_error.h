// SPDX-License-Identifier: MIT
//
// Translation of libtorch's c10::Error into medunet::Error. The message names the operation and
// describes its inputs, then gives the first line of libtorch's message, for example:
//   conv2d failed on input [1, 3, 64, 64] float32, weight [8, 4, 3, 3] float32: Given groups=1, ...
// libtorch's C++ backtrace is left out unless the environment variable MEDUNET_DEBUG is set.

#pragma once

#include <c10/util/ArrayRef.h>
#include <c10/util/Exception.h>

#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace at {
class Tensor;
}  // namespace at

namespace medunet {

/// An operation input, named for error messages. An undefined tensor (a null optional input)
/// is left out of the description.
struct NamedTensor {
  const char* name;
  const at::Tensor& tensor;
};

/// Formats sizes as "[1, 3, 64, 64]".
std::string FormatShape(c10::IntArrayRef sizes);

/// Describes a tensor as "[1, 3, 64, 64] float32", adding the device when it is not the CPU.
std::string DescribeTensor(const at::Tensor& tensor);

/// Returns the first non-empty line of `text`, without surrounding white space.
std::string FirstLine(std::string_view text);

/// Picks the code for a libtorch failure: kOutOfRange for c10::IndexError (an index or
/// dimension out of range), kCudaUnavailable when libtorch reports that CUDA is missing,
/// else kTorch.
ErrorCode ClassifyTorchError(const c10::Error& error);

/// Describes operation inputs as "input [1, 3, 64, 64] float32, weight [8, 4, 3, 3] float32".
std::string DescribeInputs(std::initializer_list<NamedTensor> inputs);

/// Describes a tensor list argument as "tensors[0] [2, 3] float32, tensors[1] [2, 4] float32",
/// listing at most the first four.
std::string DescribeTensorList(std::string_view name, const std::vector<at::Tensor>& tensors);

/// Builds "<op> failed on <inputs>: <libtorch's first line>" (or "<op> failed: ..." when
/// `inputs` is empty), with the code from ClassifyTorchError.
Error TranslateTorchError(const c10::Error& error, std::string_view op, const std::string& inputs);

/// Runs `fn` and rethrows a c10::Error from it as TranslateTorchError with `inputs` described.
template <typename Fn>
auto RunOp(const char* op, std::initializer_list<NamedTensor> inputs, Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const c10::Error& error) {
    throw TranslateTorchError(error, op, DescribeInputs(inputs));
  }
}

/// RunOp for an operation on a list of tensors named `name`.
template <typename Fn>
auto RunListOp(const char* op, std::string_view name, const std::vector<at::Tensor>& tensors, Fn&& fn)
    -> decltype(fn()) {
  try {
    return fn();
  } catch (const c10::Error& error) {
    throw TranslateTorchError(error, op, DescribeTensorList(name, tensors));
  }
}

}  // namespace medunet
