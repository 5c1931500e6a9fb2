// SPDX-License-Identifier: MIT
//
// Process and thread settings: grad mode and autocast (per thread in libtorch, so per
// JavaScript thread here), seeding, CUDA queries, thread pools and build versions.

#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <ATen/autocast_mode.h>
#include <ATen/core/grad_mode.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <torch/cuda.h>
#include <torch/version.h>

#include <limits>

#include "args.h"
#include "bindings.h"
#include "core/dtype.h"
#include "core/error.h"
#include "core/threads.h"
#include "core/torch_error.h"
#include "errors.h"

#if TORCH_VERSION_MAJOR < 1 || (TORCH_VERSION_MAJOR == 1 && TORCH_VERSION_MINOR < 13)
#error "medunet needs libtorch 1.13 or later (package.json config.libtorch); point LIBTORCH or Torch_DIR at a newer one"
#endif

// libtorch 2.4 replaced the per-device autocast functions with ones taking a device type.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
#define MEDUNET_AUTOCAST_DEVICE_API 1
#endif

namespace medunet {

namespace {

c10::DeviceType ParseAutocastDevice(const ArgReader& args, size_t index) {
  const std::string device = args.String(index, "deviceType");
  if (device == "cpu") return c10::DeviceType::CPU;
  if (device == "cuda") return c10::DeviceType::CUDA;
  args.FailRange("deviceType", "'cpu' or 'cuda'", "'" + device + "'");
}

bool AutocastEnabled(c10::DeviceType device) {
#ifdef MEDUNET_AUTOCAST_DEVICE_API
  return at::autocast::is_autocast_enabled(device);
#else
  return device == c10::DeviceType::CPU ? at::autocast::is_cpu_enabled() : at::autocast::is_enabled();
#endif
}

void ApplyAutocast(c10::DeviceType device, bool enabled, c10::ScalarType dtype) {
#ifdef MEDUNET_AUTOCAST_DEVICE_API
  at::autocast::set_autocast_dtype(device, dtype);
  at::autocast::set_autocast_enabled(device, enabled);
#else
  if (device == c10::DeviceType::CPU) {
    at::autocast::set_autocast_cpu_dtype(dtype);
    at::autocast::set_cpu_enabled(enabled);
  } else {
    at::autocast::set_autocast_gpu_dtype(dtype);
    at::autocast::set_enabled(enabled);
  }
#endif
}

#ifdef MEDUNET_WITH_CUDA
// Formats a CUDA runtime version such as 12040 as "12.4".
std::string FormatCudaVersion(int64_t version) {
  return std::to_string(version / 1000) + "." + std::to_string(version % 1000 / 10);
}
#endif

Napi::Value CudaVersion(Napi::Env env) {
#ifdef MEDUNET_WITH_CUDA
  try {
    return Napi::String::New(env, FormatCudaVersion(at::detail::getCUDAHooks().versionCUDART()));
  } catch (const c10::Error&) {
    // The CUDA runtime could not be queried (no driver); the version is then unknown.
    return env.Null();
  }
#else
  return env.Null();
#endif
}

}  // namespace

Napi::Value IsGradEnabled(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), at::GradMode::is_enabled());
}

Napi::Value SetGradEnabled(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    at::GradMode::set_enabled(ArgReader(info, "setGradEnabled").Bool(0, "enabled"));
    return info.Env().Undefined();
  });
}

Napi::Value SetAutocast(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    ArgReader args(info, "setAutocast");
    const c10::DeviceType device = ParseAutocastDevice(args, 0);
    const bool enabled = args.Bool(1, "enabled");
    const c10::ScalarType dtype = args.DTypeOr(2, "dtype", c10::ScalarType::BFloat16);
    if (dtype != c10::ScalarType::BFloat16 && dtype != c10::ScalarType::Half) {
      args.FailRange("dtype", "'bfloat16' or 'float16'", "'" + DTypeName(dtype) + "'");
    }
#ifndef MEDUNET_AUTOCAST_DEVICE_API
    // libtorch before 2.4 has CPU autocast kernels for bfloat16 only.
    if (device == c10::DeviceType::CPU && dtype != c10::ScalarType::BFloat16) {
      args.FailRange("dtype", "'bfloat16' for CPU autocast with libtorch " TORCH_VERSION, "'" + DTypeName(dtype) + "'");
    }
#endif
    if (enabled && device == c10::DeviceType::CUDA) ParseDevice("cuda", "setAutocast: deviceType");
    ApplyAutocast(device, enabled, dtype);
    // Autocast caches the low-precision casts of weights while it is on. A new autocast region
    // must not reuse casts made before an optimizer step, so every mode change clears the cache.
    at::autocast::clear_cache();
    return info.Env().Undefined();
  });
}

Napi::Value IsAutocastEnabled(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    ArgReader args(info, "isAutocastEnabled");
    return Napi::Boolean::New(info.Env(), AutocastEnabled(ParseAutocastDevice(args, 0)));
  });
}

Napi::Value ManualSeed(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    // Negative seeds wrap to uint64, as torch.manual_seed does.
    const int64_t seed = ArgReader(info, "manualSeed").Int(0, "seed");
    RunOp("manual_seed", {}, [&] { at::manual_seed(static_cast<uint64_t>(seed)); });
    return info.Env().Undefined();
  });
}

Napi::Value CudaIsAvailable(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), BuiltWithCuda() && torch::cuda::is_available());
}

Napi::Value CudaDeviceCount(const Napi::CallbackInfo& info) {
  const size_t count = BuiltWithCuda() ? torch::cuda::device_count() : 0;
  return Napi::Number::New(info.Env(), static_cast<double>(count));
}

Napi::Value CudaSynchronize(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    ParseDevice("cuda", "cudaSynchronize");
    RunOp("cuda_synchronize", {}, [] { torch::cuda::synchronize(); });
    return info.Env().Undefined();
  });
}

Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    ArgReader args(info, "setNumThreads");
    const int64_t count = args.Int(0, "n");
    if (count < 1 || count > kMaxThreads) {
      args.FailRange("n", "an integer in [1, " + std::to_string(kMaxThreads) + "]", std::to_string(count));
    }
    at::set_num_threads(static_cast<int>(count));
    return info.Env().Undefined();
  });
}

Napi::Value GetNumThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), at::get_num_threads());
}

Napi::Value SetBlasThreads(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    ArgReader args(info, "setBlasThreads");
    const int64_t count = args.Int(0, "n");
    if (count < 1 || count > kMaxThreads) {
      args.FailRange("n", "an integer in [1, " + std::to_string(kMaxThreads) + "]", std::to_string(count));
    }
    return Napi::Boolean::New(info.Env(), SetOpenBlasThreads(static_cast<int>(count)));
  });
}

Napi::Object Versions(Napi::Env env) {
  Napi::Object versions = Napi::Object::New(env);
  versions.Set("torch", TORCH_VERSION);
  versions.Set("cuda", CudaVersion(env));
  versions.Set("napi", NAPI_VERSION);
  versions.Set("medunet", MEDUNET_VERSION);
  versions.Freeze();
  return versions;
}

}  // namespace medunet
