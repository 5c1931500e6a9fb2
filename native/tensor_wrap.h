// SPDX-License-Identifier: MIT
//
// The JavaScript Tensor class (NativeTensor in lib/native.ts): a handle owning one at::Tensor.
// Handles register with the environment's ScopeRegistry and StorageLedger; the finalizer or
// dispose() releases the tensor and the external-memory report.

#pragma once

#include <ATen/core/Tensor.h>
#include <napi.h>

#include "core/scope_registry.h"

namespace medunet {

struct AddonData;

class TensorWrap : public Napi::ObjectWrap<TensorWrap>, public ScopedHandle {
 public:
  /// Defines the JavaScript class and stores it in `data`.
  static Napi::Function DefineClass(Napi::Env env, AddonData& data);
  /// Creates a new handle owning `tensor`.
  static Napi::Object NewHandle(Napi::Env env, at::Tensor tensor);
  /// Returns the handle behind `value`, or null when `value` is not a Tensor.
  static TensorWrap* FromValue(const Napi::Value& value);

  /// Fails unless constructed from C++ (NewHandle); JavaScript cannot call `new Tensor()`.
  explicit TensorWrap(const Napi::CallbackInfo& info);
  ~TensorWrap() override;

  bool disposed() const { return disposed_; }
  /// A new reference to the tensor; throws kTensorDisposed naming `function` after dispose(), and
  /// kTensorBusy while this environment has lent the tensor to another thread. Returning a
  /// reference-counted copy, not a reference to the member, keeps the tensor alive for the rest of
  /// a native call even if JavaScript that the call runs (an array getter, a Proxy trap) disposes
  /// this handle.
  at::Tensor tensor(const char* function) const;
  /// Points the handle at `tensor` in place of its own, keeping its scope membership; the
  /// handles of a model rebuilt on another thread adopt shared tensors this way.
  void Rebind(at::Tensor tensor);
  /// Releases the tensor now; later calls do nothing.
  void Dispose();
  void DisposeFromScope() override { Dispose(); }

 private:
  void Attach(at::Tensor tensor);
  void Release();

  // Properties.
  Napi::Value GetShape(const Napi::CallbackInfo& info);
  Napi::Value GetDType(const Napi::CallbackInfo& info);
  Napi::Value GetDevice(const Napi::CallbackInfo& info);
  Napi::Value GetDisposed(const Napi::CallbackInfo& info);
  Napi::Value GetRequiresGrad(const Napi::CallbackInfo& info);
  void SetRequiresGrad(const Napi::CallbackInfo& info, const Napi::Value& value);
  Napi::Value GetGrad(const Napi::CallbackInfo& info);
  Napi::Value GetIsLeaf(const Napi::CallbackInfo& info);

  // Element access, autograd, conversion and lifetime (tensor_wrap.cc).
  Napi::Value Numel(const Napi::CallbackInfo& info);
  Napi::Value Dim(const Napi::CallbackInfo& info);
  Napi::Value Item(const Napi::CallbackInfo& info);
  Napi::Value Data(const Napi::CallbackInfo& info);
  Napi::Value Backward(const Napi::CallbackInfo& info);
  Napi::Value SetGrad(const Napi::CallbackInfo& info);
  Napi::Value To(const Napi::CallbackInfo& info);
  Napi::Value DisposeMethod(const Napi::CallbackInfo& info);
  Napi::Value ToString(const Napi::CallbackInfo& info);

  // Operations (tensor_ops.cc). The table-driven ones read their operation from info.Data().
  Napi::Value Unary(const Napi::CallbackInfo& info);
  Napi::Value WithDim(const Napi::CallbackInfo& info);
  Napi::Value Binary(const Napi::CallbackInfo& info);
  Napi::Value TensorBinary(const Napi::CallbackInfo& info);
  Napi::Value Reduction(const Napi::CallbackInfo& info);
  Napi::Value AddOrSub(const Napi::CallbackInfo& info);
  Napi::Value Reshape(const Napi::CallbackInfo& info);
  Napi::Value Permute(const Napi::CallbackInfo& info);
  Napi::Value Transpose(const Napi::CallbackInfo& info);
  Napi::Value Squeeze(const Napi::CallbackInfo& info);
  Napi::Value Flatten(const Napi::CallbackInfo& info);
  Napi::Value Narrow(const Napi::CallbackInfo& info);
  Napi::Value Select(const Napi::CallbackInfo& info);
  Napi::Value IndexSelect(const Napi::CallbackInfo& info);
  Napi::Value Expand(const Napi::CallbackInfo& info);
  Napi::Value Clamp(const Napi::CallbackInfo& info);
  Napi::Value Argmax(const Napi::CallbackInfo& info);
  Napi::Value InPlaceAdd(const Napi::CallbackInfo& info);
  Napi::Value InPlaceMul(const Napi::CallbackInfo& info);
  Napi::Value InPlaceCopy(const Napi::CallbackInfo& info);
  Napi::Value InPlaceFill(const Napi::CallbackInfo& info);
  Napi::Value InPlaceZero(const Napi::CallbackInfo& info);
  Napi::Value InPlaceUniform(const Napi::CallbackInfo& info);
  Napi::Value InPlaceNormal(const Napi::CallbackInfo& info);

  /// Property descriptors of the operations, defined next to them in tensor_ops.cc.
  static std::vector<PropertyDescriptor> OperationProperties();

  at::Tensor tensor_;
  AddonData* data_ = nullptr;
  const void* storage_key_ = nullptr;
  bool disposed_ = true;
};

}  // namespace medunet
