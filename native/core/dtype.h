// SPDX-License-Identifier: MIT
//
// Parsing and naming of dtypes and devices with PyTorch's spellings: 'float32' for torch.float32,
// 'cpu', 'cuda' and 'cuda:1' for devices.

#pragma once

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <optional>
#include <string>
#include <string_view>

namespace medunet {

/// Returns the dtype for a PyTorch name ('float32', 'int64', 'bool', ...), or nullopt.
std::optional<c10::ScalarType> DTypeFromName(std::string_view name);

/// Like DTypeFromName, but throws kOutOfRange naming `arg_name` and the accepted names.
c10::ScalarType ParseDType(std::string_view name, std::string_view arg_name);

/// Returns the PyTorch name of a dtype ('float32'); libtorch's own name for dtypes medunet lacks.
std::string DTypeName(c10::ScalarType dtype);

/// Whether this addon was compiled against a libtorch with CUDA (MEDUNET_WITH_CUDA).
bool BuiltWithCuda();

/// Parses 'cpu', 'cuda' or 'cuda:N'. Throws kOutOfRange for other text or an index past the
/// device count, and kCudaUnavailable for a CUDA device when the build or the machine has none.
c10::Device ParseDevice(std::string_view text, std::string_view arg_name);

/// Returns 'cpu' or 'cuda:N'. A CUDA device without an index, such as ParseDevice('cuda') returns, is 'cuda'.
std::string DeviceName(const c10::Device& device);

/// Returns the dtype that Tensor.data() copies `dtype` out as: float32 for float32, float16 and
/// bfloat16; uint8 for bool; the dtype itself for float64 and the integer types. Throws
/// kOutOfRange for dtypes with no typed array (complex and quantized types).
c10::ScalarType HostDTypeFor(c10::ScalarType dtype);

}  // namespace medunet
