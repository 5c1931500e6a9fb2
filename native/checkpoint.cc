// SPDX-License-Identifier: MIT
//
// saveCheckpoint and loadCheckpoint, their promise forms that do the file I/O, pickling and
// tensor building on the libuv thread pool, and copyTensorsAsync. The file format is in
// core/checkpoint_io.h.

#include <ATen/core/grad_mode.h>

#include <exception>
#include <utility>

#include "args.h"
#include "bindings.h"
#include "core/checkpoint_io.h"
#include "core/error.h"
#include "errors.h"
#include "tensor_wrap.h"

namespace medunet {

namespace {

/// The arguments of saveCheckpoint and saveCheckpointAsync, copied out of JavaScript values.
struct SaveRequest {
  std::string path;
  NamedTensors tensors;
  std::string metadata;
};

SaveRequest ReadSaveRequest(const Napi::CallbackInfo& info, const char* function) {
  ArgReader args(info, function);
  SaveRequest request;
  request.path = args.String(0, "path");
  if (request.path.empty()) args.FailRange("path", "a non-empty string", "\"\"");
  const Napi::Object tensors = args.Object(1, "tensors");
  request.metadata = args.String(2, "metadata");
  const Napi::Array names = tensors.GetPropertyNames();
  for (uint32_t i = 0; i < names.Length(); ++i) {
    const std::string name = names.Get(i).ToString().Utf8Value();
    request.tensors.emplace_back(name, args.TensorValue(tensors.Get(name), "tensors['" + name + "']"));
  }
  return request;
}

std::string ReadLoadPath(const Napi::CallbackInfo& info, const char* function) {
  ArgReader args(info, function);
  std::string path = args.String(0, "path");
  if (path.empty()) args.FailRange("path", "a non-empty string", "\"\"");
  return path;
}

/// Builds the NativeCheckpoint object, creating one handle per tensor.
Napi::Object CheckpointToObject(Napi::Env env, Checkpoint& checkpoint) {
  Napi::Object tensors = Napi::Object::New(env);
  for (auto& [name, tensor] : checkpoint.tensors) {
    // DefineProperty, unlike Set, makes a key such as "__proto__" an ordinary own property.
    Napi::Object handle = TensorWrap::NewHandle(env, std::move(tensor));
    tensors.DefineProperty(Napi::PropertyDescriptor::Value(name, handle, napi_default_jsproperty));
  }
  Napi::Object result = Napi::Object::New(env);
  result.Set("metadata", checkpoint.metadata ? Napi::String::New(env, *checkpoint.metadata) : env.Null());
  result.Set("tensors", tensors);
  return result;
}

/// A job on the libuv thread pool that settles a promise. Execute() runs Run() there and keeps
/// any exception, so that the rejection has the error class and code of the synchronous binding
/// (through TranslateCurrentException). Subclasses own copies of their inputs and never touch a
/// Napi value off the main thread.
class PromiseWorker : public Napi::AsyncWorker {
 public:
  explicit PromiseWorker(Napi::Env env, const char* resource_name)
      : Napi::AsyncWorker(env, resource_name), deferred_(Napi::Promise::Deferred::New(env)) {}

  Napi::Promise Promise() const { return deferred_.Promise(); }

  /// Settles the promise on the main thread, then deletes the job.
  void OnWorkComplete(Napi::Env env, napi_status status) override {
    if (status != napi_cancelled) {
      try {
        Napi::HandleScope scope(env);
        Settle(env);
      } catch (...) {
        // A worker thread that is being terminated waits for its thread-pool jobs but can no
        // longer run JavaScript, so Node-API calls fail there. The result is dropped with the job,
        // because an exception leaving this callback would abort the process.
      }
    }
    Destroy();
  }

 protected:
  /// The work on the thread pool.
  virtual void Run() = 0;
  /// The value the promise resolves to, built on the main thread.
  virtual Napi::Value Result() { return Env().Undefined(); }

  void Execute() override {
    try {
      Run();
    } catch (...) {
      failure_ = std::current_exception();
    }
  }

 private:
  void Settle(Napi::Env env) {
    Napi::Value result;
    try {
      if (failure_) std::rethrow_exception(failure_);
      result = Result();
    } catch (...) {
      deferred_.Reject(TranslateCurrentException(env).Value());
      return;
    }
    deferred_.Resolve(result);
  }

  Napi::Promise::Deferred deferred_;
  std::exception_ptr failure_;
};

class SaveCheckpointWorker : public PromiseWorker {
 public:
  SaveCheckpointWorker(Napi::Env env, SaveRequest request)
      : PromiseWorker(env, "medunet:saveCheckpointAsync"), request_(std::move(request)) {}

 protected:
  void Run() override {
    WriteCheckpointFile(request_.path, request_.tensors, request_.metadata);
    // Drops the references here, so that the storages do not wait for the main thread.
    request_.tensors.clear();
  }

 private:
  SaveRequest request_;
};

class LoadCheckpointWorker : public PromiseWorker {
 public:
  LoadCheckpointWorker(Napi::Env env, std::string path)
      : PromiseWorker(env, "medunet:loadCheckpointAsync"), path_(std::move(path)) {}

 protected:
  void Run() override { checkpoint_ = ReadCheckpointFile(path_); }
  Napi::Value Result() override { return CheckpointToObject(Env(), checkpoint_); }

 private:
  std::string path_;
  Checkpoint checkpoint_;
};

class CopyTensorsWorker : public PromiseWorker {
 public:
  CopyTensorsWorker(Napi::Env env, std::vector<at::Tensor> targets, std::vector<at::Tensor> sources)
      : PromiseWorker(env, "medunet:copyTensorsAsync"), targets_(std::move(targets)), sources_(std::move(sources)) {}

 protected:
  void Run() override {
    // Grad mode is per thread, so it is set on the pool thread that copies.
    at::NoGradGuard no_grad;
    for (size_t i = 0; i < targets_.size(); ++i) targets_[i].copy_(sources_[i]);
    targets_.clear();
    sources_.clear();
  }

 private:
  std::vector<at::Tensor> targets_;
  std::vector<at::Tensor> sources_;
};

}  // namespace

Napi::Value SaveCheckpoint(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    const SaveRequest request = ReadSaveRequest(info, "saveCheckpoint");
    WriteCheckpointFile(request.path, request.tensors, request.metadata);
    return info.Env().Undefined();
  });
}

Napi::Value LoadCheckpoint(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    Checkpoint checkpoint = ReadCheckpointFile(ReadLoadPath(info, "loadCheckpoint"));
    return CheckpointToObject(info.Env(), checkpoint);
  });
}

Napi::Value SaveCheckpointAsync(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    // The worker holds references to the tensors rather than copies. Disposing a handle meanwhile
    // is safe, but an in-place change made before the file is pickled would be saved.
    auto* worker = new SaveCheckpointWorker(info.Env(), ReadSaveRequest(info, "saveCheckpointAsync"));
    Napi::Promise promise = worker->Promise();
    worker->Queue();
    return promise;
  });
}

Napi::Value LoadCheckpointAsync(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    auto* worker = new LoadCheckpointWorker(info.Env(), ReadLoadPath(info, "loadCheckpointAsync"));
    Napi::Promise promise = worker->Promise();
    worker->Queue();
    return promise;
  });
}

Napi::Value CopyTensorsAsync(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    ArgReader args(info, "copyTensorsAsync");
    std::vector<at::Tensor> targets = args.TensorList(0, "targets");
    std::vector<at::Tensor> sources = args.TensorList(1, "sources");
    if (sources.size() != targets.size()) {
      args.FailRange("sources", "an array as long as `targets` (" + std::to_string(targets.size()) + ")",
                     std::to_string(sources.size()) + " tensors");
    }
    for (size_t i = 0; i < targets.size(); ++i) {
      MEDUNET_CHECK(targets[i].sizes() == sources[i].sizes(), kOutOfRange, "copyTensorsAsync: sources[", i,
                    "] must have the shape of targets[", i, "] ", targets[i].sizes(), "; got ", sources[i].sizes());
    }
    auto* worker = new CopyTensorsWorker(info.Env(), std::move(targets), std::move(sources));
    Napi::Promise promise = worker->Promise();
    worker->Queue();
    return promise;
  });
}

}  // namespace medunet
