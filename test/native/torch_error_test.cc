// SPDX-License-Identifier: MIT
//
// Translation of libtorch errors into medunet errors (native/core/torch_error.h), and the
// MEDUNET_CHECK message builder.

#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <cstdlib>
#include <string>

#include "core/error.h"
#include "core/torch_error.h"

namespace medunet {
namespace {

// Runs `fn`, which must throw c10::Error, and returns that error's message without backtrace.
template <typename Fn>
std::string LibtorchMessage(Fn&& fn) {
  try {
    fn();
  } catch (const c10::Error& error) {
    return error.what_without_backtrace();
  }
  ADD_FAILURE() << "libtorch threw nothing";
  return "";
}

at::Tensor ChannelMismatch(const at::Tensor& input, const at::Tensor& weight) {
  const std::vector<int64_t> ones = {1, 1};
  const std::vector<int64_t> zeros = {0, 0};
  return at::conv2d(input, weight, c10::nullopt, ones, zeros, ones, 1);
}

// Unsets MEDUNET_DEBUG for a test and restores the previous value afterwards.
class TorchErrorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* value = std::getenv("MEDUNET_DEBUG");
    saved_ = value ? std::optional<std::string>(value) : std::nullopt;
    unsetenv("MEDUNET_DEBUG");
  }
  void TearDown() override {
    if (saved_) {
      setenv("MEDUNET_DEBUG", saved_->c_str(), 1);
    } else {
      unsetenv("MEDUNET_DEBUG");
    }
  }

 private:
  std::optional<std::string> saved_;
};

TEST_F(TorchErrorTest, NamesOperationShapesAndDTypes) {
  const at::Tensor input = at::zeros({1, 3, 8, 8});
  const at::Tensor weight = at::zeros({8, 4, 3, 3});
  const at::Tensor bias;  // A null optional input is left out of the message.
  const std::string libtorch = LibtorchMessage([&] { ChannelMismatch(input, weight); });
  try {
    RunOp("conv2d", {{"input", input}, {"weight", weight}, {"bias", bias}},
          [&] { return ChannelMismatch(input, weight); });
    FAIL() << "conv2d accepted 3 input channels for a weight expecting 4";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), ErrorCode::kTorch);
    const std::string message = error.what();
    EXPECT_EQ(message,
              "conv2d failed on input [1, 3, 8, 8] float32, weight [8, 4, 3, 3] float32: " + FirstLine(libtorch));
    EXPECT_NE(message.find("channels"), std::string::npos) << message;
  }
}

TEST_F(TorchErrorTest, KeepsOnlyTheFirstLine) {
  const at::Tensor input = at::zeros({1, 3, 8, 8});
  const at::Tensor weight = at::zeros({8, 4, 3, 3});
  try {
    RunOp("conv2d", {{"input", input}}, [&] { return ChannelMismatch(input, weight); });
    FAIL() << "conv2d did not fail";
  } catch (const Error& error) {
    const std::string message = error.what();
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    EXPECT_EQ(message.find("Exception raised from"), std::string::npos) << message;
  }
}

TEST_F(TorchErrorTest, DebugFlagKeepsTheBacktrace) {
  setenv("MEDUNET_DEBUG", "1", 1);
  const at::Tensor input = at::zeros({1, 3, 8, 8});
  const at::Tensor weight = at::zeros({8, 4, 3, 3});
  try {
    RunOp("conv2d", {{"input", input}}, [&] { return ChannelMismatch(input, weight); });
    FAIL() << "conv2d did not fail";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find('\n'), std::string::npos) << error.what();
  }
}

TEST_F(TorchErrorTest, IndexErrorIsOutOfRange) {
  const at::Tensor matrix = at::zeros({2, 2});
  try {
    RunOp("select", {{"input", matrix}}, [&] { return matrix.select(5, 0); });
    FAIL() << "select accepted dimension 5 of a 2D tensor";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), ErrorCode::kOutOfRange);
    EXPECT_EQ(std::string(error.what()).rfind("select failed on input [2, 2] float32: ", 0), 0u) << error.what();
  }
}

TEST_F(TorchErrorTest, MissingCudaIsCudaUnavailable) {
  const c10::Error missing_cuda(c10::SourceLocation{"f", "file.cc", 1}, "Torch not compiled with CUDA enabled");
  EXPECT_EQ(ClassifyTorchError(missing_cuda), ErrorCode::kCudaUnavailable);
  const c10::Error other(c10::SourceLocation{"f", "file.cc", 1}, "shapes cannot be multiplied");
  EXPECT_EQ(ClassifyTorchError(other), ErrorCode::kTorch);
}

TEST_F(TorchErrorTest, EmptyInputsOmitTheOnClause) {
  const c10::Error error(c10::SourceLocation{"f", "file.cc", 1}, "seed out of range");
  EXPECT_STREQ(TranslateTorchError(error, "manual_seed", "").what(), "manual_seed failed: seed out of range");
}

TEST_F(TorchErrorTest, DescribesTensorLists) {
  const std::vector<at::Tensor> tensors(6, at::zeros({2, 3}, at::kLong));
  EXPECT_EQ(DescribeTensorList("tensors", tensors),
            "tensors[0] [2, 3] int64, tensors[1] [2, 3] int64, tensors[2] [2, 3] int64, tensors[3] [2, 3] int64 and "
            "2 more");
  EXPECT_EQ(DescribeTensorList("tensors", {}), "an empty tensors list");
}

TEST_F(TorchErrorTest, ListOperationsNameTheirElements) {
  const std::vector<at::Tensor> tensors = {at::zeros({2, 3}), at::zeros({2, 4})};
  try {
    RunListOp("stack", "tensors", tensors, [&] { return at::stack(tensors, 0); });
    FAIL() << "stack accepted tensors of different shapes";
  } catch (const Error& error) {
    EXPECT_EQ(
        std::string(error.what()).rfind("stack failed on tensors[0] [2, 3] float32, tensors[1] [2, 4] float32: ", 0),
        0u)
        << error.what();
  }
}

TEST(FormatTest, DescribesTensors) {
  EXPECT_EQ(FormatShape({}), "[]");
  EXPECT_EQ(FormatShape({1, 3, 64, 64}), "[1, 3, 64, 64]");
  EXPECT_EQ(DescribeTensor(at::zeros({2}, at::kBFloat16)), "[2] bfloat16");
  EXPECT_EQ(DescribeTensor(at::Tensor()), "undefined");
}

TEST(FormatTest, FirstLineSkipsBlankLinesAndSpaces) {
  EXPECT_EQ(FirstLine("\n   first line  \nsecond"), "first line");
  EXPECT_EQ(FirstLine("only"), "only");
  EXPECT_EQ(FirstLine(" \n\t\n"), "");
}

TEST(CheckMacroTest, BuildsTheMessageFromParts) {
  const int64_t dim = 7;
  try {
    MEDUNET_CHECK(dim < 4, kOutOfRange, "dim must be in [0, ", 4, "); got ", dim);
    FAIL() << "MEDUNET_CHECK passed a false condition";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), ErrorCode::kOutOfRange);
    EXPECT_STREQ(error.what(), "dim must be in [0, 4); got 7");
  }
  EXPECT_NO_THROW(MEDUNET_CHECK(dim > 4, kTorch, "unused"));
}

}  // namespace
}  // namespace medunet
