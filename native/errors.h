// SPDX-License-Identifier: MIT
//
// The choke point where C++ exceptions become JavaScript errors. Every binding runs its body
// inside Guard(), so no exception reaches Node-API untranslated and bad input never aborts the
// process. Translation order: medunet::Error, then c10::Error (message's first line only,
// unless MEDUNET_DEBUG is set), then std::exception, then anything else.

#pragma once

#include <napi.h>

#include "core/error.h"

namespace medunet {

/// Builds the JavaScript error for `error`: a TypeError, RangeError or Error with `code` set.
Napi::Error ToJsError(Napi::Env env, const Error& error);

/// Converts the exception being handled into a JavaScript error. Call only inside a catch block.
Napi::Error TranslateCurrentException(Napi::Env env);

/// Runs `body` and rethrows any exception from it as the JavaScript error built by
/// TranslateCurrentException; node-addon-api then throws that error into JavaScript.
template <typename Body>
auto Guard(Napi::Env env, Body&& body) -> decltype(body()) {
  try {
    return body();
  } catch (...) {
    throw TranslateCurrentException(env);
  }
}

}  // namespace medunet
