// SPDX-License-Identifier: MIT
//
// Registration of the addon's exports (NativeBinding in lib/native.ts). Each environment that
// loads the addon (the main thread or a worker thread) gets its own AddonData.

#include <napi.h>

#include "addon_data.h"
#include "bindings.h"
#include "core/threads.h"
#include "errors.h"
#include "share.h"
#include "tensor_wrap.h"

namespace medunet {

namespace {

struct ExportedFunction {
  const char* name;
  Napi::Value (*function)(const Napi::CallbackInfo&);
};

constexpr ExportedFunction kFunctions[] = {
    {"tensor", CreateTensor},
    {"zeros", Zeros},
    {"ones", Ones},
    {"full", Full},
    {"empty", Empty},
    {"rand", Rand},
    {"randn", Randn},
    {"arange", Arange},
    {"cat", Cat},
    {"stack", Stack},
    {"where", Where},
    {"conv2d", Conv2d},
    {"convTranspose2d", ConvTranspose2d},
    {"batchNorm", BatchNorm},
    {"maxPool2d", MaxPool2d},
    {"relu", Relu},
    {"relu_", ReluInplace},
    {"sigmoid", Sigmoid},
    {"softmax", Softmax},
    {"logSoftmax", LogSoftmax},
    {"pad", Pad},
    {"interpolate", Interpolate},
    {"binaryCrossEntropyWithLogits", BinaryCrossEntropyWithLogits},
    {"crossEntropy", CrossEntropy},
    {"oneHot", OneHot},
    {"isGradEnabled", IsGradEnabled},
    {"setGradEnabled", SetGradEnabled},
    {"setAutocast", SetAutocast},
    {"isAutocastEnabled", IsAutocastEnabled},
    {"manualSeed", ManualSeed},
    {"cudaIsAvailable", CudaIsAvailable},
    {"cudaDeviceCount", CudaDeviceCount},
    {"cudaSynchronize", CudaSynchronize},
    {"setNumThreads", SetNumThreads},
    {"getNumThreads", GetNumThreads},
    {"setBlasThreads", SetBlasThreads},
    {"scopeBegin", ScopeBegin},
    {"scopeEnd", ScopeEnd},
    {"keep", Keep},
    {"memoryStats", MemoryStats},
    {"saveCheckpoint", SaveCheckpoint},
    {"loadCheckpoint", LoadCheckpoint},
    {"unetInference", UNetInference},
    {"saveCheckpointAsync", SaveCheckpointAsync},
    {"loadCheckpointAsync", LoadCheckpointAsync},
    {"copyTensorsAsync", CopyTensorsAsync},
    {"shareTensors", ShareTensors},
    {"adoptTensors", AdoptTensors},
    {"adoptOptimizer", AdoptOptimizer},
    {"setSharedBusy", SetSharedBusy},
    {"releaseShared", ReleaseShared},
    {"getRandomState", GetRandomState},
    {"setRandomState", SetRandomState},
};

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  return Guard(env, [&] {
    ConfigureThreadsOnce();
    auto* data = new AddonData();
    env.SetInstanceData(data);
    env.AddCleanupHook([data] {
      data->shutting_down = true;
      ReleaseLoansOf(*data);
    });

    exports.Set("Tensor", TensorWrap::DefineClass(env, *data));
    exports.Set("Adam", DefineAdamClass(env));
    exports.Set("SGD", DefineSGDClass(env));
    for (const ExportedFunction& entry : kFunctions) {
      exports.Set(entry.name, Napi::Function::New(env, entry.function, entry.name));
    }
    exports.Set("versions", Versions(env));
    return exports;
  });
}

}  // namespace

}  // namespace medunet

// NODE_API_MODULE pastes the function name into an identifier, so it needs an unqualified one.
static Napi::Object InitMedunet(Napi::Env env, Napi::Object exports) { return medunet::Init(env, exports); }

NODE_API_MODULE(medunet, InitMedunet)
