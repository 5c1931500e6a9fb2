// SPDX-License-Identifier: MIT
//
// Copies between host buffers and tensors (native/core/buffer.h), for every dtype.

#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <cstring>
#include <vector>

#include "core/buffer.h"
#include "core/dtype.h"
#include "core/error.h"

namespace medunet {
namespace {

const c10::Device kCpu(c10::DeviceType::CPU);

// Builds a tensor of `dtype` from `values` and returns HostCopy's elements as T.
template <typename T>
std::vector<T> RoundTrip(const std::vector<T>& values, c10::ScalarType source, c10::ScalarType dtype,
                         c10::ScalarType expected_host) {
  const int64_t count = static_cast<int64_t>(values.size());
  const at::Tensor tensor = TensorFromBuffer(values.data(), values.size() * sizeof(T), source, {count}, dtype, kCpu);
  EXPECT_EQ(tensor.scalar_type(), dtype);
  const at::Tensor host = HostCopy(tensor);
  EXPECT_EQ(host.scalar_type(), expected_host);
  EXPECT_TRUE(host.is_contiguous());
  std::vector<T> result(static_cast<size_t>(host.numel()));
  std::memcpy(result.data(), host.data_ptr(), result.size() * sizeof(T));
  return result;
}

template <typename T>
void ExpectExactRoundTrip(const std::vector<T>& values, c10::ScalarType dtype) {
  EXPECT_EQ(RoundTrip(values, dtype, dtype, dtype), values) << DTypeName(dtype);
}

TEST(BufferTest, RoundTripsEveryTypedArrayDType) {
  ExpectExactRoundTrip<float>({1.5f, -2.25f, 3e30f, 0.0f}, c10::ScalarType::Float);
  ExpectExactRoundTrip<double>({1.5, -2.25, 1e300, 0.1}, c10::ScalarType::Double);
  ExpectExactRoundTrip<int64_t>({1, -2, int64_t{1} << 62, 0}, c10::ScalarType::Long);
  ExpectExactRoundTrip<int32_t>({1, -2, 1 << 30, 0}, c10::ScalarType::Int);
  ExpectExactRoundTrip<int16_t>({1, -2, 32767, -32768}, c10::ScalarType::Short);
  ExpectExactRoundTrip<int8_t>({1, -2, 127, -128}, c10::ScalarType::Char);
  ExpectExactRoundTrip<uint8_t>({1, 2, 255, 0}, c10::ScalarType::Byte);
}

TEST(BufferTest, HalfPrecisionComesBackAsFloat32) {
  // Values exactly representable in float16 and bfloat16.
  const std::vector<float> values = {1.5f, -2.25f, 0.0f, 1024.0f};
  EXPECT_EQ(RoundTrip(values, c10::ScalarType::Float, c10::ScalarType::Half, c10::ScalarType::Float), values);
  EXPECT_EQ(RoundTrip(values, c10::ScalarType::Float, c10::ScalarType::BFloat16, c10::ScalarType::Float), values);
}

TEST(BufferTest, HalfPrecisionRoundsOnTheWayIn) {
  const std::vector<float> values = {1.0f + 1.0f / 4096.0f};
  const std::vector<float> rounded =
      RoundTrip(values, c10::ScalarType::Float, c10::ScalarType::Half, c10::ScalarType::Float);
  EXPECT_EQ(rounded, std::vector<float>{1.0f});
}

TEST(BufferTest, BoolComesBackAsZeroOrOne) {
  const std::vector<uint8_t> values = {0, 1, 7, 0};
  const std::vector<uint8_t> expected = {0, 1, 1, 0};
  EXPECT_EQ(RoundTrip(values, c10::ScalarType::Byte, c10::ScalarType::Bool, c10::ScalarType::Byte), expected);
}

TEST(BufferTest, NumbersConvertToIntegerDTypes) {
  const std::vector<double> values = {1.0, -2.0, 300.0};
  const at::Tensor tensor = TensorFromBuffer(values.data(), values.size() * sizeof(double), c10::ScalarType::Double,
                                             {3}, c10::ScalarType::Long, kCpu);
  EXPECT_EQ(tensor.scalar_type(), c10::ScalarType::Long);
  EXPECT_EQ(tensor[2].item<int64_t>(), 300);
}

TEST(BufferTest, KeepsTheShape) {
  const std::vector<float> values(24, 1.0f);
  const at::Tensor tensor = TensorFromBuffer(values.data(), values.size() * sizeof(float), c10::ScalarType::Float,
                                             {2, 3, 4}, c10::ScalarType::Float, kCpu);
  EXPECT_EQ(tensor.sizes(), (std::vector<int64_t>{2, 3, 4}));
}

TEST(BufferTest, OwnsACopyOfTheBytes) {
  std::vector<float> values = {1.0f, 2.0f};
  const at::Tensor tensor = TensorFromBuffer(values.data(), values.size() * sizeof(float), c10::ScalarType::Float, {2},
                                             c10::ScalarType::Float, kCpu);
  values[0] = 9.0f;
  EXPECT_EQ(tensor[0].item<float>(), 1.0f);
}

TEST(BufferTest, HostCopyOfStridedViewIsRowMajor) {
  const at::Tensor matrix = at::arange(6, at::kFloat).reshape({2, 3});
  const at::Tensor host = HostCopy(matrix.t());
  const float* data = host.data_ptr<float>();
  const std::vector<float> elements(data, data + host.numel());
  EXPECT_EQ(elements, (std::vector<float>{0, 3, 1, 4, 2, 5}));
}

TEST(BufferTest, HostCopyIsDetached) {
  const at::Tensor weight = at::ones({2}, at::kFloat).set_requires_grad(true);
  EXPECT_FALSE(HostCopy(weight * 2).requires_grad());
}

TEST(BufferTest, RejectsLengthThatDiffersFromShape) {
  const std::vector<float> values(5, 0.0f);
  try {
    TensorFromBuffer(values.data(), values.size() * sizeof(float), c10::ScalarType::Float, {2, 3},
                     c10::ScalarType::Float, kCpu);
    FAIL() << "no error for 5 elements in shape [2, 3]";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), ErrorCode::kOutOfRange);
    EXPECT_STREQ(error.what(), "data must have 6 elements to fill shape [2, 3]; got 5");
  }
}

TEST(BufferTest, RejectsPartialElements) {
  const std::vector<uint8_t> bytes(6, 0);
  EXPECT_THROW(TensorFromBuffer(bytes.data(), bytes.size(), c10::ScalarType::Float, {1}, c10::ScalarType::Float, kCpu),
               Error);
}

TEST(BufferTest, RejectsNegativeSizes) {
  try {
    ShapeNumel({2, -1}, "zeros: shape");
    FAIL() << "no error for a negative size";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), ErrorCode::kOutOfRange);
    EXPECT_STREQ(error.what(), "zeros: shape must hold sizes >= 0; got [2, -1]");
  }
}

TEST(BufferTest, RejectsElementCountOverflow) {
  EXPECT_THROW(ShapeNumel({int64_t{1} << 40, int64_t{1} << 40}, "shape"), Error);
  EXPECT_EQ(ShapeNumel({0, int64_t{1} << 40, int64_t{1} << 40}, "shape"), 0);
}

TEST(BufferTest, EmptyShapesWork) {
  const at::Tensor empty = TensorFromBuffer(nullptr, 0, c10::ScalarType::Float, {0, 3}, c10::ScalarType::Float, kCpu);
  EXPECT_EQ(empty.numel(), 0);
  EXPECT_EQ(HostCopy(empty).numel(), 0);
  const float value = 1.0f;
  const at::Tensor scalar =
      TensorFromBuffer(&value, sizeof(float), c10::ScalarType::Float, {}, c10::ScalarType::Float, kCpu);
  EXPECT_EQ(scalar.dim(), 0);
  EXPECT_EQ(scalar.item<float>(), 1.0f);
}

}  // namespace
}  // namespace medunet
