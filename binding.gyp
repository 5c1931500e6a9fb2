# SPDX-License-Identifier: MIT
#
# node-gyp build of the same sources that CMakeLists.txt (the build of record) compiles, for
# tool chains that expect binding.gyp. libtorch is located by scripts/find-torch.mjs in the
# same order as native/cmake/find_torch.cmake. Keep the source list in step with CMakeLists.txt.
{
  "targets": [
    {
      "target_name": "medunet",
      "sources": [
        "native/addon.cc",
        "native/args.cc",
        "native/checkpoint.cc",
        "native/errors.cc",
        "native/functional.cc",
        "native/optim_wrap.cc",
        "native/runtime.cc",
        "native/scope.cc",
        "native/share.cc",
        "native/tensor_ops.cc",
        "native/tensor_wrap.cc",
        "native/unet_inference.cc",
        "native/core/buffer.cc",
        "native/core/checkpoint_io.cc",
        "native/core/dtype.cc",
        "native/core/error.cc",
        "native/core/pickle_reader.cc",
        "native/core/scope_registry.cc",
        "native/core/storage_ledger.cc",
        "native/core/threads.cc",
        "native/core/torch_error.cc"
      ],
      "include_dirs": [
        "native",
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<!@(node scripts/find-torch.mjs include)"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_CPP_EXCEPTIONS",
        "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS",
        "NODE_ADDON_API_DISABLE_DEPRECATED",
        "MEDUNET_VERSION=\"<!(node -p \"require('./package.json').version\")\"",
        "<!@(node scripts/find-torch.mjs defines)"
      ],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-frtti", "-fvisibility=hidden", "-Wall", "-Werror=return-type"],
      "libraries": ["<!@(node scripts/find-torch.mjs libraries)", "-ldl"]
    }
  ]
}
