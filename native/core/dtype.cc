// SPDX-License-Identifier: MIT

#include "core/dtype.h"

#include <torch/cuda.h>

#include <array>
#include <charconv>
#include <utility>

#include "core/error.h"

namespace medunet {

namespace {

constexpr std::array<std::pair<std::string_view, c10::ScalarType>, 10> kDTypes = {{
    {"float32", c10::ScalarType::Float},
    {"float64", c10::ScalarType::Double},
    {"float16", c10::ScalarType::Half},
    {"bfloat16", c10::ScalarType::BFloat16},
    {"int64", c10::ScalarType::Long},
    {"int32", c10::ScalarType::Int},
    {"int16", c10::ScalarType::Short},
    {"int8", c10::ScalarType::Char},
    {"uint8", c10::ScalarType::Byte},
    {"bool", c10::ScalarType::Bool},
}};

constexpr const char* kDTypeChoices =
    "one of 'float32', 'float64', 'float16', 'bfloat16', 'int64', 'int32', 'int16', 'int8', 'uint8', 'bool'";

// Parses the digits after "cuda:"; nullopt unless they form a whole non-negative number.
std::optional<int> ParseDeviceIndex(std::string_view digits) {
  int index = 0;
  const char* end = digits.data() + digits.size();
  auto [ptr, status] = std::from_chars(digits.data(), end, index);
  if (digits.empty() || status != std::errc() || ptr != end || index < 0) return std::nullopt;
  return index;
}

void CheckCudaUsable(std::optional<int> index) {
  MEDUNET_CHECK(BuiltWithCuda(), kCudaUnavailable,
                "CUDA is not available: this medunet addon was built against a CPU-only libtorch; rebuild it against "
                "a CUDA build of libtorch (set LIBTORCH or Torch_DIR) to use 'cuda'");
  MEDUNET_CHECK(torch::cuda::is_available(), kCudaUnavailable,
                "CUDA is not available: libtorch found no CUDA device or driver on this machine");
  const int count = static_cast<int>(torch::cuda::device_count());
  MEDUNET_CHECK(!index || *index < count, kOutOfRange, "CUDA device index must be less than the device count ", count,
                "; got cuda:", *index);
}

}  // namespace

std::optional<c10::ScalarType> DTypeFromName(std::string_view name) {
  for (const auto& [dtype_name, dtype] : kDTypes) {
    if (dtype_name == name) return dtype;
  }
  return std::nullopt;
}

c10::ScalarType ParseDType(std::string_view name, std::string_view arg_name) {
  std::optional<c10::ScalarType> dtype = DTypeFromName(name);
  MEDUNET_CHECK(dtype.has_value(), kOutOfRange, arg_name, " must be ", kDTypeChoices, "; got '", name, "'");
  return *dtype;
}

std::string DTypeName(c10::ScalarType dtype) {
  for (const auto& [dtype_name, known] : kDTypes) {
    if (known == dtype) return std::string(dtype_name);
  }
  return c10::toString(dtype);
}

bool BuiltWithCuda() {
#ifdef MEDUNET_WITH_CUDA
  return true;
#else
  return false;
#endif
}

c10::Device ParseDevice(std::string_view text, std::string_view arg_name) {
  if (text == "cpu") return c10::Device(c10::DeviceType::CPU);
  std::optional<int> index;
  bool is_cuda = text == "cuda";
  if (!is_cuda && text.substr(0, 5) == "cuda:") {
    index = ParseDeviceIndex(text.substr(5));
    is_cuda = index.has_value();
  }
  MEDUNET_CHECK(is_cuda, kOutOfRange, arg_name, " must be 'cpu', 'cuda' or 'cuda:N'; got '", text, "'");
  CheckCudaUsable(index);
  if (!index) return c10::Device(c10::DeviceType::CUDA);
  return c10::Device(c10::DeviceType::CUDA, static_cast<c10::DeviceIndex>(*index));
}

std::string DeviceName(const c10::Device& device) {
  if (device.is_cpu()) return "cpu";
  return device.str();
}

c10::ScalarType HostDTypeFor(c10::ScalarType dtype) {
  switch (dtype) {
    case c10::ScalarType::Float:
    case c10::ScalarType::Half:
    case c10::ScalarType::BFloat16:
      return c10::ScalarType::Float;
    case c10::ScalarType::Bool:
      return c10::ScalarType::Byte;
    case c10::ScalarType::Double:
    case c10::ScalarType::Long:
    case c10::ScalarType::Int:
    case c10::ScalarType::Short:
    case c10::ScalarType::Char:
    case c10::ScalarType::Byte:
      return dtype;
    default:
      MEDUNET_THROW(kOutOfRange, "tensors of dtype ", c10::toString(dtype), " cannot be copied to a typed array");
  }
}

}  // namespace medunet
