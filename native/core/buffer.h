// SPDX-License-Identifier: MIT
//
// Copies between raw host buffers (the memory of JavaScript typed arrays) and tensors.

#pragma once

#include <ATen/core/Tensor.h>

#include <cstddef>
#include <string_view>

namespace medunet {

/// Returns the element count of `shape`. Throws kOutOfRange, naming `arg_name`, for a negative
/// size or a count that overflows int64.
int64_t ShapeNumel(c10::IntArrayRef shape, std::string_view arg_name);

/// Creates a tensor of `shape` from `byte_length` bytes of `source_dtype` elements at `data`,
/// converted to `dtype` and placed on `device`. The tensor owns a copy of the bytes. Throws
/// kOutOfRange when the element count differs from the shape's.
at::Tensor TensorFromBuffer(const void* data, size_t byte_length, c10::ScalarType source_dtype, c10::IntArrayRef shape,
                            c10::ScalarType dtype, const c10::Device& device);

/// Returns a contiguous CPU tensor with `tensor`'s elements in row-major order, converted to
/// HostDTypeFor(tensor's dtype) and detached from autograd. It may share memory with `tensor`,
/// so copy its bytes out before anything writes to `tensor`.
at::Tensor HostCopy(const at::Tensor& tensor);

}  // namespace medunet
