// SPDX-License-Identifier: MIT

#include "tensor_wrap.h"

#include <cstring>
#include <sstream>

#include "addon_data.h"
#include "args.h"
#include "core/buffer.h"
#include "core/dtype.h"
#include "core/error.h"
#include "core/torch_error.h"
#include "errors.h"

namespace medunet {

namespace {

// Marks objects created by NewHandle, so that FromValue never unwraps a look-alike object.
constexpr napi_type_tag kTensorTypeTag = {0x6d6564756e657431ULL, 0x9b3c2f1e5a7d4c60ULL};

template <typename Element>
Napi::Value CopyToTypedArray(Napi::Env env, const at::Tensor& host) {
  const size_t length = static_cast<size_t>(host.numel());
  auto array = Napi::TypedArrayOf<Element>::New(env, length);
  if (length > 0) std::memcpy(array.Data(), host.data_ptr(), length * sizeof(Element));
  return array;
}

// Copies a tensor from HostCopy into the typed array that lib/native.ts lists for its dtype.
Napi::Value HostTensorToTypedArray(Napi::Env env, const at::Tensor& host) {
  switch (host.scalar_type()) {
    case c10::ScalarType::Float:
      return CopyToTypedArray<float>(env, host);
    case c10::ScalarType::Double:
      return CopyToTypedArray<double>(env, host);
    case c10::ScalarType::Long:
      return CopyToTypedArray<int64_t>(env, host);
    case c10::ScalarType::Int:
      return CopyToTypedArray<int32_t>(env, host);
    case c10::ScalarType::Short:
      return CopyToTypedArray<int16_t>(env, host);
    case c10::ScalarType::Char:
      return CopyToTypedArray<int8_t>(env, host);
    case c10::ScalarType::Byte:
      return CopyToTypedArray<uint8_t>(env, host);
    default:
      MEDUNET_THROW(kOutOfRange, "Tensor.data: dtype ", DTypeName(host.scalar_type()), " has no typed array");
  }
}

Napi::Array ShapeArray(Napi::Env env, c10::IntArrayRef sizes) {
  Napi::Array array = Napi::Array::New(env, sizes.size());
  for (size_t i = 0; i < sizes.size(); ++i) array.Set(static_cast<uint32_t>(i), static_cast<double>(sizes[i]));
  return array;
}

}  // namespace

Napi::Function TensorWrap::DefineClass(Napi::Env env, AddonData& data) {
  std::vector<PropertyDescriptor> properties = {
      InstanceAccessor<&TensorWrap::GetShape>("shape"),
      InstanceAccessor<&TensorWrap::GetDType>("dtype"),
      InstanceAccessor<&TensorWrap::GetDevice>("device"),
      InstanceAccessor<&TensorWrap::GetDisposed>("disposed"),
      InstanceAccessor<&TensorWrap::GetRequiresGrad, &TensorWrap::SetRequiresGrad>("requiresGrad"),
      InstanceAccessor<&TensorWrap::GetGrad>("grad"),
      InstanceAccessor<&TensorWrap::GetIsLeaf>("isLeaf"),
      InstanceMethod<&TensorWrap::Numel>("numel"),
      InstanceMethod<&TensorWrap::Dim>("dim"),
      InstanceMethod<&TensorWrap::Item>("item"),
      InstanceMethod<&TensorWrap::Data>("data"),
      InstanceMethod<&TensorWrap::Backward>("backward"),
      InstanceMethod<&TensorWrap::SetGrad>("setGrad"),
      InstanceMethod<&TensorWrap::To>("to"),
      InstanceMethod<&TensorWrap::DisposeMethod>("dispose"),
      InstanceMethod<&TensorWrap::ToString>("toString"),
  };
  std::vector<PropertyDescriptor> operations = OperationProperties();
  properties.insert(properties.end(), operations.begin(), operations.end());
  Napi::Function tensor_class = ObjectWrap<TensorWrap>::DefineClass(env, "Tensor", properties);
  data.tensor_class = Napi::Persistent(tensor_class);
  return tensor_class;
}

Napi::Object TensorWrap::NewHandle(Napi::Env env, at::Tensor tensor) {
  AddonData& data = GetAddonData(env);
  data.constructing_tensor = true;
  Napi::Object object;
  try {
    object = data.tensor_class.New({});
  } catch (...) {
    data.constructing_tensor = false;
    throw;
  }
  data.constructing_tensor = false;
  object.TypeTag(&kTensorTypeTag);
  Unwrap(object)->Attach(std::move(tensor));
  return object;
}

TensorWrap* TensorWrap::FromValue(const Napi::Value& value) {
  if (!value.IsObject()) return nullptr;
  Napi::Object object = value.As<Napi::Object>();
  if (!object.CheckTypeTag(&kTensorTypeTag)) return nullptr;
  return Unwrap(object);
}

TensorWrap::TensorWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TensorWrap>(info) {
  Guard(info.Env(), [&] {
    MEDUNET_CHECK(GetAddonData(info.Env()).constructing_tensor, kInvalidArgType,
                  "Tensor cannot be constructed with `new`; create tensors with tensor(), zeros() or another "
                  "creation function");
  });
}

TensorWrap::~TensorWrap() { Release(); }

void TensorWrap::Attach(at::Tensor tensor) {
  data_ = &GetAddonData(Env());
  tensor_ = std::move(tensor);
  disposed_ = false;
  const int64_t before = data_->ledger.cpu_bytes();
  storage_key_ = data_->ledger.Retain(tensor_);
  const int64_t added = data_->ledger.cpu_bytes() - before;
  if (added != 0) Napi::MemoryManagement::AdjustExternalMemory(Env(), added);
  data_->scopes.Add(this);
}

void TensorWrap::Release() {
  if (disposed_) return;
  disposed_ = true;
  if (registry() != nullptr) registry()->Remove(this);
  const int64_t before = data_->ledger.cpu_bytes();
  data_->ledger.Release(storage_key_);
  storage_key_ = nullptr;
  const int64_t freed = before - data_->ledger.cpu_bytes();
  if (freed != 0 && !data_->shutting_down) {
    // The C call, because Release also runs in the destructor (a finalizer), where the
    // exception that the Napi:: form throws on failure would abort the process.
    int64_t adjusted = 0;
    napi_adjust_external_memory(Env(), -freed, &adjusted);
  }
  tensor_.reset();
}

void TensorWrap::Dispose() { Release(); }

void TensorWrap::Rebind(at::Tensor tensor) {
  this->tensor("Tensor.rebind");
  const int64_t before = data_->ledger.cpu_bytes();
  const void* key = data_->ledger.Retain(tensor);
  data_->ledger.Release(storage_key_);
  storage_key_ = key;
  const int64_t added = data_->ledger.cpu_bytes() - before;
  if (added != 0) Napi::MemoryManagement::AdjustExternalMemory(Env(), added);
  tensor_ = std::move(tensor);
}

at::Tensor TensorWrap::tensor(const char* function) const {
  MEDUNET_CHECK(!disposed_, kTensorDisposed, function, ": the tensor was disposed; it can no longer be used");
  MEDUNET_CHECK(data_->lent.empty() || data_->lent.count(tensor_.unsafeGetTensorImpl()) == 0, kTensorBusy, function,
                ": the tensor is in use by an off-thread step (trainStepAsync, trainModel or predictVolume); "
                "await that call before using the tensor");
  return tensor_;
}

Napi::Value TensorWrap::GetShape(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value { return ShapeArray(info.Env(), tensor("Tensor.shape").sizes()); });
}

Napi::Value TensorWrap::GetDType(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    return Napi::String::New(info.Env(), DTypeName(tensor("Tensor.dtype").scalar_type()));
  });
}

Napi::Value TensorWrap::GetDevice(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    return Napi::String::New(info.Env(), DeviceName(tensor("Tensor.device").device()));
  });
}

Napi::Value TensorWrap::GetDisposed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), disposed_);
}

Napi::Value TensorWrap::GetRequiresGrad(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    return Napi::Boolean::New(info.Env(), tensor("Tensor.requiresGrad").requires_grad());
  });
}

void TensorWrap::SetRequiresGrad(const Napi::CallbackInfo& info, const Napi::Value& value) {
  Guard(info.Env(), [&] {
    const at::Tensor& self = tensor("Tensor.requiresGrad");
    const bool requires_grad = ArgReader(info, "Tensor.requiresGrad").BoolValue(value, "value");
    RunOp("requires_grad_", {{"input", self}}, [&] { self.set_requires_grad(requires_grad); });
  });
}

Napi::Value TensorWrap::GetGrad(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    const at::Tensor& grad = tensor("Tensor.grad").grad();
    if (!grad.defined()) return info.Env().Null();
    return NewHandle(info.Env(), grad);
  });
}

Napi::Value TensorWrap::GetIsLeaf(const Napi::CallbackInfo& info) {
  return Guard(info.Env(),
               [&]() -> Napi::Value { return Napi::Boolean::New(info.Env(), tensor("Tensor.isLeaf").is_leaf()); });
}

Napi::Value TensorWrap::Numel(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    return Napi::Number::New(info.Env(), static_cast<double>(tensor("Tensor.numel").numel()));
  });
}

Napi::Value TensorWrap::Dim(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    return Napi::Number::New(info.Env(), static_cast<double>(tensor("Tensor.dim").dim()));
  });
}

Napi::Value TensorWrap::Item(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    const at::Tensor& self = tensor("Tensor.item");
    MEDUNET_CHECK(self.numel() == 1, kOutOfRange, "Tensor.item: the tensor must have exactly one element; got shape ",
                  FormatShape(self.sizes()));
    return Napi::Number::New(info.Env(), RunOp("item", {{"input", self}}, [&] { return self.item<double>(); }));
  });
}

Napi::Value TensorWrap::Data(const Napi::CallbackInfo& info) {
  return Guard(info.Env(),
               [&]() -> Napi::Value { return HostTensorToTypedArray(info.Env(), HostCopy(tensor("Tensor.data"))); });
}

Napi::Value TensorWrap::Backward(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    ArgReader args(info, "Tensor.backward");
    const at::Tensor& self = tensor(args.function());
    const at::Tensor gradient = args.OptionalTensor(0, "gradient");
    const bool retain_graph = args.BoolOr(1, "retainGraph", false);
    RunOp("backward", {{"input", self}, {"gradient", gradient}}, [&] { self.backward(gradient, retain_graph); });
    return info.Env().Undefined();
  });
}

Napi::Value TensorWrap::SetGrad(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    ArgReader args(info, "Tensor.setGrad");
    const at::Tensor& self = tensor(args.function());
    const at::Tensor grad = args.OptionalTensor(0, "grad");
    if (grad.defined()) {
      const bool matches =
          grad.sizes() == self.sizes() && grad.scalar_type() == self.scalar_type() && grad.device() == self.device();
      MEDUNET_CHECK(matches, kOutOfRange, "Tensor.setGrad: grad must match the tensor's shape, dtype and device ",
                    DescribeTensor(self), "; got ", DescribeTensor(grad));
    }
    // Assigning an undefined tensor clears the gradient, as `tensor.grad = None` does.
    self.mutable_grad() = grad;
    return info.Env().Undefined();
  });
}

Napi::Value TensorWrap::To(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    ArgReader args(info, "Tensor.to");
    const at::Tensor& self = tensor(args.function());
    const std::string target = args.String(0, "deviceOrDType");
    if (std::optional<c10::ScalarType> dtype = DTypeFromName(target)) {
      return NewHandle(info.Env(), RunOp("to", {{"input", self}}, [&] { return self.to(*dtype); }));
    }
    const c10::Device device = ParseDevice(target, "Tensor.to: deviceOrDType (a dtype name or a device)");
    return NewHandle(info.Env(), RunOp("to", {{"input", self}}, [&] { return self.to(device); }));
  });
}

Napi::Value TensorWrap::DisposeMethod(const Napi::CallbackInfo& info) {
  Dispose();
  return info.Env().Undefined();
}

Napi::Value TensorWrap::ToString(const Napi::CallbackInfo& info) {
  if (disposed_) return Napi::String::New(info.Env(), "Tensor (disposed)");
  std::ostringstream text;
  text << "Tensor" << FormatShape(tensor_.sizes()) << ' ' << DTypeName(tensor_.scalar_type()) << ' '
       << DeviceName(tensor_.device());
  return Napi::String::New(info.Env(), text.str());
}

}  // namespace medunet
