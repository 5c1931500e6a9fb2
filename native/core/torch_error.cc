// SPDX-License-Identifier: MIT

#include "core/torch_error.h"

#include <ATen/core/Tensor.h>

#include <cstdlib>
#include <sstream>

#include "core/dtype.h"

namespace medunet {

namespace {

bool DebugMessagesEnabled() {
  const char* flag = std::getenv("MEDUNET_DEBUG");
  return flag != nullptr && *flag != '\0' && std::string_view(flag) != "0";
}

// Phrases in libtorch's messages (1.13 and 2.x) that mean CUDA support or a device is missing.
bool MentionsMissingCuda(std::string_view message) {
  static constexpr std::string_view kPhrases[] = {
      "Torch not compiled with CUDA enabled", "without ATen_cuda library",
      "no CUDA GPUs are available",           "Found no NVIDIA driver",
      "CUDA driver version is insufficient",
  };
  for (std::string_view phrase : kPhrases) {
    if (message.find(phrase) != std::string_view::npos) return true;
  }
  return false;
}

}  // namespace

std::string FormatShape(c10::IntArrayRef sizes) {
  std::ostringstream out;
  out << '[';
  for (size_t i = 0; i < sizes.size(); ++i) {
    if (i > 0) out << ", ";
    out << sizes[i];
  }
  out << ']';
  return out.str();
}

std::string DescribeTensor(const at::Tensor& tensor) {
  if (!tensor.defined()) return "undefined";
  std::string text = FormatShape(tensor.sizes()) + " " + DTypeName(tensor.scalar_type());
  if (!tensor.device().is_cpu()) text += " " + DeviceName(tensor.device());
  return text;
}

std::string FirstLine(std::string_view text) {
  constexpr std::string_view kSpace = " \t\r";
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    size_t first = line.find_first_not_of(kSpace);
    if (first != std::string_view::npos) {
      size_t last = line.find_last_not_of(kSpace);
      return std::string(line.substr(first, last - first + 1));
    }
    start = end + 1;
  }
  return std::string();
}

ErrorCode ClassifyTorchError(const c10::Error& error) {
  if (dynamic_cast<const c10::IndexError*>(&error) != nullptr) return ErrorCode::kOutOfRange;
  if (MentionsMissingCuda(error.what_without_backtrace())) return ErrorCode::kCudaUnavailable;
  return ErrorCode::kTorch;
}

std::string DescribeInputs(std::initializer_list<NamedTensor> inputs) {
  std::string text;
  for (const NamedTensor& input : inputs) {
    if (!input.tensor.defined()) continue;
    if (!text.empty()) text += ", ";
    text += std::string(input.name) + " " + DescribeTensor(input.tensor);
  }
  return text;
}

std::string DescribeTensorList(std::string_view name, const std::vector<at::Tensor>& tensors) {
  constexpr size_t kMaxListed = 4;
  std::ostringstream text;
  for (size_t i = 0; i < tensors.size() && i < kMaxListed; ++i) {
    if (i > 0) text << ", ";
    text << name << '[' << i << "] " << DescribeTensor(tensors[i]);
  }
  if (tensors.size() > kMaxListed) text << " and " << tensors.size() - kMaxListed << " more";
  if (tensors.empty()) text << "an empty " << name << " list";
  return text.str();
}

Error TranslateTorchError(const c10::Error& error, std::string_view op, const std::string& inputs) {
  std::string detail = DebugMessagesEnabled() ? std::string(error.what()) : FirstLine(error.what_without_backtrace());
  if (detail.empty()) detail = "libtorch gave no message";
  std::string message = std::string(op) + " failed";
  if (!inputs.empty()) message += " on " + inputs;
  message += ": " + detail;
  return Error(ClassifyTorchError(error), message);
}

}  // namespace medunet
