// SPDX-License-Identifier: MIT
//
// The addon's exported functions, grouped by the file that defines them. addon.cc registers
// them under the names that lib/native.ts declares.

#pragma once

#include <napi.h>

namespace medunet {

// functional.cc: creation, joining and torch.nn.functional.
Napi::Value CreateTensor(const Napi::CallbackInfo& info);
Napi::Value Zeros(const Napi::CallbackInfo& info);
Napi::Value Ones(const Napi::CallbackInfo& info);
Napi::Value Full(const Napi::CallbackInfo& info);
Napi::Value Empty(const Napi::CallbackInfo& info);
Napi::Value Rand(const Napi::CallbackInfo& info);
Napi::Value Randn(const Napi::CallbackInfo& info);
Napi::Value Arange(const Napi::CallbackInfo& info);
Napi::Value Cat(const Napi::CallbackInfo& info);
Napi::Value Stack(const Napi::CallbackInfo& info);
Napi::Value Where(const Napi::CallbackInfo& info);
Napi::Value Conv2d(const Napi::CallbackInfo& info);
Napi::Value ConvTranspose2d(const Napi::CallbackInfo& info);
Napi::Value BatchNorm(const Napi::CallbackInfo& info);
Napi::Value MaxPool2d(const Napi::CallbackInfo& info);
Napi::Value Relu(const Napi::CallbackInfo& info);
Napi::Value ReluInplace(const Napi::CallbackInfo& info);
Napi::Value Sigmoid(const Napi::CallbackInfo& info);
Napi::Value Softmax(const Napi::CallbackInfo& info);
Napi::Value LogSoftmax(const Napi::CallbackInfo& info);
Napi::Value Pad(const Napi::CallbackInfo& info);
Napi::Value Interpolate(const Napi::CallbackInfo& info);
Napi::Value BinaryCrossEntropyWithLogits(const Napi::CallbackInfo& info);
Napi::Value CrossEntropy(const Napi::CallbackInfo& info);
Napi::Value OneHot(const Napi::CallbackInfo& info);

// runtime.cc: autograd and autocast modes, seeding, devices, threads, versions.
Napi::Value IsGradEnabled(const Napi::CallbackInfo& info);
Napi::Value SetGradEnabled(const Napi::CallbackInfo& info);
Napi::Value SetAutocast(const Napi::CallbackInfo& info);
Napi::Value IsAutocastEnabled(const Napi::CallbackInfo& info);
Napi::Value ManualSeed(const Napi::CallbackInfo& info);
Napi::Value CudaIsAvailable(const Napi::CallbackInfo& info);
Napi::Value CudaDeviceCount(const Napi::CallbackInfo& info);
Napi::Value CudaSynchronize(const Napi::CallbackInfo& info);
Napi::Value SetNumThreads(const Napi::CallbackInfo& info);
Napi::Value GetNumThreads(const Napi::CallbackInfo& info);
Napi::Value SetBlasThreads(const Napi::CallbackInfo& info);
/// The frozen `versions` object.
Napi::Object Versions(Napi::Env env);

// scope.cc: memory scopes and statistics.
Napi::Value ScopeBegin(const Napi::CallbackInfo& info);
Napi::Value ScopeEnd(const Napi::CallbackInfo& info);
Napi::Value Keep(const Napi::CallbackInfo& info);
Napi::Value MemoryStats(const Napi::CallbackInfo& info);

// checkpoint.cc: checkpoint files, and their promise forms that run on the libuv thread pool.
Napi::Value SaveCheckpoint(const Napi::CallbackInfo& info);
Napi::Value LoadCheckpoint(const Napi::CallbackInfo& info);
Napi::Value SaveCheckpointAsync(const Napi::CallbackInfo& info);
Napi::Value LoadCheckpointAsync(const Napi::CallbackInfo& info);
Napi::Value CopyTensorsAsync(const Napi::CallbackInfo& info);

// unet_inference.cc: the folded U-Net forward pass for prediction.
Napi::Value UNetInference(const Napi::CallbackInfo& info);

// share.cc: loans of tensors and optimizers to another thread, and the CPU generator's state.
Napi::Value ShareTensors(const Napi::CallbackInfo& info);
Napi::Value AdoptTensors(const Napi::CallbackInfo& info);
Napi::Value AdoptOptimizer(const Napi::CallbackInfo& info);
Napi::Value SetSharedBusy(const Napi::CallbackInfo& info);
Napi::Value ReleaseShared(const Napi::CallbackInfo& info);
Napi::Value GetRandomState(const Napi::CallbackInfo& info);
Napi::Value SetRandomState(const Napi::CallbackInfo& info);

// optim_wrap.cc: the Adam and SGD classes.
Napi::Function DefineAdamClass(Napi::Env env);
Napi::Function DefineSGDClass(Napi::Env env);

}  // namespace medunet
