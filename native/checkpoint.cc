// SPDX-License-Identifier: MIT
//
// saveCheckpoint and loadCheckpoint; the file format is in core/checkpoint_io.h.

#include "args.h"
#include "bindings.h"
#include "core/checkpoint_io.h"
#include "errors.h"
#include "tensor_wrap.h"

namespace medunet {

Napi::Value SaveCheckpoint(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    ArgReader args(info, "saveCheckpoint");
    const std::string path = args.String(0, "path");
    if (path.empty()) args.FailRange("path", "a non-empty string", "\"\"");
    const Napi::Object tensors = args.Object(1, "tensors");
    const std::string metadata = args.String(2, "metadata");
    NamedTensors named;
    const Napi::Array names = tensors.GetPropertyNames();
    for (uint32_t i = 0; i < names.Length(); ++i) {
      const std::string name = names.Get(i).ToString().Utf8Value();
      named.emplace_back(name, args.TensorValue(tensors.Get(name), "tensors['" + name + "']"));
    }
    WriteCheckpointFile(path, named, metadata);
    return info.Env().Undefined();
  });
}

Napi::Value LoadCheckpoint(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), [&]() -> Napi::Value {
    ArgReader args(info, "loadCheckpoint");
    const std::string path = args.String(0, "path");
    if (path.empty()) args.FailRange("path", "a non-empty string", "\"\"");
    Checkpoint checkpoint = ReadCheckpointFile(path);
    Napi::Object tensors = Napi::Object::New(info.Env());
    for (auto& [name, tensor] : checkpoint.tensors) {
      // DefineProperty, unlike Set, makes a key such as "__proto__" an ordinary own property.
      Napi::Object handle = TensorWrap::NewHandle(info.Env(), std::move(tensor));
      tensors.DefineProperty(Napi::PropertyDescriptor::Value(name, handle, napi_default_jsproperty));
    }
    Napi::Object result = Napi::Object::New(info.Env());
    result.Set("metadata",
               checkpoint.metadata ? Napi::String::New(info.Env(), *checkpoint.metadata) : info.Env().Null());
    result.Set("tensors", tensors);
    return result;
  });
}

}  // namespace medunet
