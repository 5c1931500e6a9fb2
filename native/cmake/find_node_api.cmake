# SPDX-License-Identifier: MIT
#
# Sets MEDUNET_NODE_INCLUDE_DIRS to the Node-API headers (node_api.h) and node-addon-api
# (napi.h). Under cmake-js, CMAKE_JS_INC already lists both. With plain `cmake`, node_api.h is
# taken from NODE_API_HEADERS_DIR (a CMake or environment variable) or the system's Node.js
# headers, and napi.h from NODE_ADDON_API_DIR or `node -p "require('node-addon-api').include_dir"`.

if(CMAKE_JS_INC)
  set(MEDUNET_NODE_INCLUDE_DIRS ${CMAKE_JS_INC})
  return()
endif()

find_path(NODE_API_HEADERS_DIR node_api.h
  HINTS "$ENV{NODE_API_HEADERS_DIR}"
  PATHS /usr/include/node /usr/local/include/node "${CMAKE_CURRENT_SOURCE_DIR}/node_modules/node-api-headers/include"
  DOC "Folder holding node_api.h")
if(NOT NODE_API_HEADERS_DIR OR NOT EXISTS "${NODE_API_HEADERS_DIR}/node_api.h")
  message(FATAL_ERROR "node_api.h was not found. Build with `npx cmake-js compile`, install the Node.js \
headers (Debian: libnode-dev), or set NODE_API_HEADERS_DIR to the folder that holds node_api.h.")
endif()

if(NOT NODE_ADDON_API_DIR)
  find_program(MEDUNET_NODE NAMES node nodejs)
  if(MEDUNET_NODE)
    execute_process(
      COMMAND "${MEDUNET_NODE}" -p "require('node-addon-api').include_dir"
      WORKING_DIRECTORY "${CMAKE_CURRENT_SOURCE_DIR}"
      OUTPUT_VARIABLE _medunet_addon_api_dir
      OUTPUT_STRIP_TRAILING_WHITESPACE
      ERROR_QUIET
      RESULT_VARIABLE _medunet_node_status)
    # include_dir is relative to the working folder.
    get_filename_component(_medunet_addon_api_dir "${_medunet_addon_api_dir}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
    if(_medunet_node_status EQUAL 0 AND EXISTS "${_medunet_addon_api_dir}/napi.h")
      set(NODE_ADDON_API_DIR "${_medunet_addon_api_dir}" CACHE PATH "Folder holding napi.h (node-addon-api)")
    endif()
  endif()
endif()
if(NOT NODE_ADDON_API_DIR OR NOT EXISTS "${NODE_ADDON_API_DIR}/napi.h")
  message(FATAL_ERROR "napi.h (node-addon-api) was not found. Run `npm install` in ${CMAKE_CURRENT_SOURCE_DIR}, \
or set NODE_ADDON_API_DIR to the folder that holds napi.h.")
endif()

set(MEDUNET_NODE_INCLUDE_DIRS "${NODE_API_HEADERS_DIR}" "${NODE_ADDON_API_DIR}")
message(STATUS "medunet: node_api.h in ${NODE_API_HEADERS_DIR}, napi.h in ${NODE_ADDON_API_DIR}")
