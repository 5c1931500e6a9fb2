// SPDX-License-Identifier: MIT
//
// The whole forward pass of the classic U-Net (lib/models/unet.ts) for inference, in one call:
// batch norm already folded into the convolutions, ReLU applied in place, no autograd, and an
// optional channels-last layout, which sends the 3x3 convolutions to oneDNN. The TypeScript
// side (lib/engine/unet-inference.ts) prepares the weight list once per prediction.

#include <ATen/ATen.h>

#include <string>
#include <vector>

#include "args.h"
#include "bindings.h"
#include "core/torch_error.h"
#include "errors.h"
#include "tensor_wrap.h"

namespace medunet {

namespace {

// Weight list layout, documented at unetInference in lib/native.ts.
constexpr size_t kEncoderLevels = 5;
constexpr size_t kDecoderLevels = 4;
constexpr size_t kDoubleConvWeights = 4;
constexpr size_t kUpWeights = 2 + kDoubleConvWeights;
constexpr size_t kWeightCount = kEncoderLevels * kDoubleConvWeights + kDecoderLevels * kUpWeights + 2;
// Spatial sizes are padded to a multiple of this, because the encoder halves them four times.
constexpr int64_t kSizeMultiple = 16;

using WeightIterator = std::vector<at::Tensor>::const_iterator;

at::MemoryFormat LayoutOf(bool channels_last) {
  return channels_last ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous;
}

// Two 3x3 convolutions (padding 1) with folded batch norm, each followed by ReLU. Reads four
// weights: conv1.weight, conv1.bias, conv2.weight, conv2.bias.
at::Tensor DoubleConv(const at::Tensor& input, WeightIterator weights) {
  at::Tensor x = at::conv2d(input, weights[0], weights[1], 1, 1).relu_();
  return at::conv2d(x, weights[2], weights[3], 1, 1).relu_();
}

// Up-samples `deep` [B, C, h, w] with a 2x2 stride-2 transposed convolution and returns
// cat([skip, up], 1). Such a convolution does not overlap its outputs, so it is one matrix
// product: `matrix` is [C, 4 * Co] with columns ordered (dy, dx, co) and `bias` is [4 * Co].
// The product is copied straight into its half of the concatenated tensor.
at::Tensor UpAndConcat(const at::Tensor& deep, const at::Tensor& skip, const at::Tensor& matrix, const at::Tensor& bias,
                       at::MemoryFormat layout) {
  const int64_t batch = deep.size(0), channels = deep.size(1), h = deep.size(2), w = deep.size(3);
  const int64_t up_channels = matrix.size(1) / 4, skip_channels = skip.size(1);
  // Rows are pixels (b, y, x); for a channels-last `deep` this permute-reshape is a view.
  const at::Tensor rows = deep.permute({0, 2, 3, 1}).reshape({batch * h * w, channels});
  const at::Tensor products = at::addmm(bias, rows, matrix);
  const at::Tensor up = products.view({batch, h, w, 2, 2, up_channels}).permute({0, 1, 3, 2, 4, 5});

  at::Tensor joined =
      at::empty({batch, skip_channels + up_channels, 2 * h, 2 * w}, skip.options().memory_format(layout));
  joined.narrow(1, 0, skip_channels).copy_(skip);
  joined.narrow(1, skip_channels, up_channels).permute({0, 2, 3, 1}).view({batch, h, 2, w, 2, up_channels}).copy_(up);
  return joined;
}

at::Tensor Forward(const at::Tensor& input, const std::vector<at::Tensor>& weights, bool channels_last) {
  const at::MemoryFormat layout = LayoutOf(channels_last);
  const int64_t height = input.size(2), width = input.size(3);
  const int64_t pad_height = (kSizeMultiple - height % kSizeMultiple) % kSizeMultiple;
  const int64_t pad_width = (kSizeMultiple - width % kSizeMultiple) % kSizeMultiple;
  const int64_t top = pad_height / 2, left = pad_width / 2;

  // Centred zero padding, split as UNet.forward splits it: floor before, the rest after.
  at::Tensor x = at::zeros({input.size(0), input.size(1), height + pad_height, width + pad_width},
                           input.options().memory_format(layout));
  x.narrow(2, top, height).narrow(3, left, width).copy_(input);

  // Encoder: inc, then four levels of 2x2 max pooling and a double convolution.
  WeightIterator next = weights.begin();
  std::vector<at::Tensor> skips;
  skips.push_back(DoubleConv(x, next));
  next += kDoubleConvWeights;
  for (size_t level = 1; level < kEncoderLevels; ++level) {
    skips.push_back(DoubleConv(at::max_pool2d(skips.back(), {2, 2}), next));
    next += kDoubleConvWeights;
  }

  // Decoder: up-sample, join the skip connection of the same size, double convolution.
  at::Tensor y = skips.back();
  skips.pop_back();
  for (size_t level = 0; level < kDecoderLevels; ++level) {
    at::Tensor joined = UpAndConcat(y, skips.back(), next[0], next[1], layout);
    skips.pop_back();
    y = DoubleConv(joined, next + 2);
    next += kUpWeights;
  }

  // 1x1 output convolution, then the crop back to the input's size.
  const at::Tensor logits = at::conv2d(y, next[0], next[1]);
  return logits.narrow(2, top, height).narrow(3, left, width).contiguous();
}

}  // namespace

Napi::Value UNetInference(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    ArgReader args(info, "unetInference");
    const at::Tensor& input = args.Tensor(0, "input");
    const std::vector<at::Tensor> weights = args.TensorList(1, "weights");
    const bool channels_last = args.Bool(2, "channelsLast");
    if (input.dim() != 4) args.FailRange("input", "a [B, C, H, W] tensor", DescribeTensor(input));
    if (weights.size() != kWeightCount) {
      args.FailRange("weights", "an array of " + std::to_string(kWeightCount) + " tensors",
                     std::to_string(weights.size()) + " tensors");
    }
    return TensorWrap::NewHandle(info.Env(), RunOp("unetInference", {{"input", input}}, [&] {
                                   at::NoGradGuard no_grad;
                                   return Forward(input, weights, channels_last);
                                 }));
  });
}

}  // namespace medunet
