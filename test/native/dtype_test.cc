// SPDX-License-Identifier: MIT
//
// Parsing and naming of dtypes and devices (native/core/dtype.h).

#include <gtest/gtest.h>
#include <torch/cuda.h>

#include "core/dtype.h"
#include "core/error.h"

namespace medunet {
namespace {

struct DTypeCase {
  const char* name;
  c10::ScalarType dtype;
  c10::ScalarType host_dtype;  // What Tensor.data() copies out as.
};

const DTypeCase kDTypeCases[] = {
    {"float32", c10::ScalarType::Float, c10::ScalarType::Float},
    {"float64", c10::ScalarType::Double, c10::ScalarType::Double},
    {"float16", c10::ScalarType::Half, c10::ScalarType::Float},
    {"bfloat16", c10::ScalarType::BFloat16, c10::ScalarType::Float},
    {"int64", c10::ScalarType::Long, c10::ScalarType::Long},
    {"int32", c10::ScalarType::Int, c10::ScalarType::Int},
    {"int16", c10::ScalarType::Short, c10::ScalarType::Short},
    {"int8", c10::ScalarType::Char, c10::ScalarType::Char},
    {"uint8", c10::ScalarType::Byte, c10::ScalarType::Byte},
    {"bool", c10::ScalarType::Bool, c10::ScalarType::Byte},
};

// Runs `fn`, expects medunet::Error with `code`, and returns its message.
template <typename Fn>
std::string ErrorMessage(Fn&& fn, ErrorCode code) {
  try {
    fn();
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), code) << error.what();
    return error.what();
  }
  ADD_FAILURE() << "no medunet::Error was thrown";
  return "";
}

TEST(DTypeTest, ParsesEveryPyTorchName) {
  for (const DTypeCase& entry : kDTypeCases) {
    EXPECT_EQ(ParseDType(entry.name, "dtype"), entry.dtype) << entry.name;
  }
}

TEST(DTypeTest, NamesRoundTrip) {
  for (const DTypeCase& entry : kDTypeCases) {
    EXPECT_EQ(DTypeName(entry.dtype), entry.name);
  }
}

TEST(DTypeTest, HostDTypeMatchesTypedArrays) {
  for (const DTypeCase& entry : kDTypeCases) {
    EXPECT_EQ(HostDTypeFor(entry.dtype), entry.host_dtype) << entry.name;
  }
}

TEST(DTypeTest, RejectsUnknownNameWithArgumentName) {
  const std::string message = ErrorMessage([] { ParseDType("float", "zeros: dtype"); }, ErrorCode::kOutOfRange);
  EXPECT_NE(message.find("zeros: dtype must be one of"), std::string::npos) << message;
  EXPECT_NE(message.find("got 'float'"), std::string::npos) << message;
}

TEST(DTypeTest, RejectsComplexForTypedArrays) {
  ErrorMessage([] { HostDTypeFor(c10::ScalarType::ComplexFloat); }, ErrorCode::kOutOfRange);
}

TEST(DTypeTest, ErrorCodesMapToJavaScriptClasses) {
  EXPECT_EQ(ErrorClassOf(ErrorCode::kInvalidArgType), ErrorClass::kTypeError);
  EXPECT_EQ(ErrorClassOf(ErrorCode::kOutOfRange), ErrorClass::kRangeError);
  EXPECT_EQ(ErrorClassOf(ErrorCode::kTorch), ErrorClass::kError);
  EXPECT_EQ(ErrorClassOf(ErrorCode::kCudaUnavailable), ErrorClass::kError);
  EXPECT_STREQ(ErrorCodeName(ErrorCode::kTensorDisposed), "ERR_TENSOR_DISPOSED");
  EXPECT_STREQ(ErrorCodeName(ErrorCode::kCheckpoint), "ERR_CHECKPOINT");
  EXPECT_EQ(ErrorClassOf(ErrorCode::kTensorBusy), ErrorClass::kError);
  EXPECT_STREQ(ErrorCodeName(ErrorCode::kTensorBusy), "ERR_TENSOR_BUSY");
}

TEST(DeviceTest, ParsesCpu) {
  const c10::Device device = ParseDevice("cpu", "device");
  EXPECT_TRUE(device.is_cpu());
  EXPECT_EQ(DeviceName(device), "cpu");
}

TEST(DeviceTest, RejectsMalformedDevices) {
  for (const char* text : {"gpu", "CPU", "cuda:", "cuda:x", "cuda:-1", "cuda:1x", ""}) {
    const std::string message = ErrorMessage([&] { ParseDevice(text, "to: device"); }, ErrorCode::kOutOfRange);
    EXPECT_NE(message.find("to: device must be 'cpu', 'cuda' or 'cuda:N'"), std::string::npos) << message;
  }
}

TEST(DeviceTest, CudaWithoutCudaIsUnavailable) {
  if (BuiltWithCuda() && torch::cuda::is_available()) GTEST_SKIP() << "this machine has a usable CUDA device";
  for (const char* text : {"cuda", "cuda:0"}) {
    const std::string message = ErrorMessage([&] { ParseDevice(text, "device"); }, ErrorCode::kCudaUnavailable);
    EXPECT_NE(message.find("CUDA is not available"), std::string::npos) << message;
  }
}

TEST(DeviceTest, RejectsIndexPastDeviceCount) {
  if (!BuiltWithCuda() || !torch::cuda::is_available()) GTEST_SKIP() << "needs a CUDA build and a CUDA device";
  const std::string index = std::to_string(torch::cuda::device_count());
  ErrorMessage([&] { ParseDevice("cuda:" + index, "device"); }, ErrorCode::kOutOfRange);
  EXPECT_EQ(DeviceName(ParseDevice("cuda:0", "device")), "cuda:0");
}

}  // namespace
}  // namespace medunet
