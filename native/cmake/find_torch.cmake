# SPDX-License-Identifier: MIT
#
# Finds libtorch, trying in order:
#   1. the LIBTORCH environment variable (an unpacked libtorch folder), or Torch_DIR (a CMake
#      variable or environment variable naming the folder with TorchConfig.cmake);
#   2. CMAKE_PREFIX_PATH (the CMake variable or the environment variable);
#   3. the PyTorch that `python3` imports (torch.utils.cmake_prefix_path);
#   4. the system's CMake package folders (Debian's libtorch-dev puts TorchConfig.cmake in
#      /usr/lib/x86_64-linux-gnu/cmake/Torch).
# Sets MEDUNET_TORCH_SOURCE (which step found it), MEDUNET_TORCH_LIB_DIR (for the rpath) and
# MEDUNET_TORCH_HAS_CUDA.

set(_medunet_torch_help
    "medunet needs libtorch 1.13 or later and CMake found none. Point the build at one: set the \
LIBTORCH environment variable to an unpacked libtorch folder, set Torch_DIR to the folder that holds \
TorchConfig.cmake, add the libtorch prefix to CMAKE_PREFIX_PATH, or install PyTorch for python3. On \
Debian or Ubuntu, `sh scripts/setup.sh` installs libtorch-dev with apt-get.")

if(NOT Torch_FOUND AND DEFINED ENV{LIBTORCH} AND NOT "$ENV{LIBTORCH}" STREQUAL "")
  find_package(Torch CONFIG QUIET PATHS "$ENV{LIBTORCH}" NO_DEFAULT_PATH)
  if(NOT Torch_FOUND)
    message(FATAL_ERROR "LIBTORCH is set to '$ENV{LIBTORCH}', but that folder contains no \
share/cmake/Torch/TorchConfig.cmake. Set LIBTORCH to the folder unpacked from a libtorch archive.")
  endif()
  set(MEDUNET_TORCH_SOURCE "LIBTORCH ($ENV{LIBTORCH})")
endif()

if(NOT Torch_FOUND AND NOT Torch_DIR AND DEFINED ENV{Torch_DIR} AND NOT "$ENV{Torch_DIR}" STREQUAL "")
  set(Torch_DIR "$ENV{Torch_DIR}" CACHE PATH "Folder holding TorchConfig.cmake" FORCE)
endif()
if(NOT Torch_FOUND AND Torch_DIR)
  set(_medunet_torch_dir "${Torch_DIR}")
  find_package(Torch CONFIG QUIET PATHS "${_medunet_torch_dir}" NO_DEFAULT_PATH)
  if(NOT Torch_FOUND)
    message(FATAL_ERROR "Torch_DIR is set to '${_medunet_torch_dir}', but that folder contains no usable TorchConfig.cmake. \
Set Torch_DIR to the folder that holds TorchConfig.cmake, or unset it to search elsewhere.")
  endif()
  set(MEDUNET_TORCH_SOURCE "Torch_DIR")
endif()

if(NOT Torch_FOUND)
  find_package(Torch CONFIG QUIET NO_SYSTEM_ENVIRONMENT_PATH NO_CMAKE_SYSTEM_PATH NO_CMAKE_INSTALL_PREFIX
               NO_CMAKE_PACKAGE_REGISTRY NO_CMAKE_SYSTEM_PACKAGE_REGISTRY)
  set(MEDUNET_TORCH_SOURCE "CMAKE_PREFIX_PATH")
endif()

if(NOT Torch_FOUND)
  find_program(MEDUNET_PYTHON NAMES python3 python)
  if(MEDUNET_PYTHON)
    execute_process(
      COMMAND "${MEDUNET_PYTHON}" -c "import sys, torch; sys.stdout.write(torch.utils.cmake_prefix_path)"
      OUTPUT_VARIABLE _medunet_python_prefix
      ERROR_QUIET
      RESULT_VARIABLE _medunet_python_status)
    if(_medunet_python_status EQUAL 0 AND IS_DIRECTORY "${_medunet_python_prefix}")
      find_package(Torch CONFIG QUIET PATHS "${_medunet_python_prefix}" NO_DEFAULT_PATH)
      set(MEDUNET_TORCH_SOURCE "Python PyTorch (${_medunet_python_prefix})")
    endif()
  endif()
endif()

if(NOT Torch_FOUND)
  find_package(Torch CONFIG QUIET)
  set(MEDUNET_TORCH_SOURCE "system")
endif()

if(NOT Torch_FOUND)
  message(FATAL_ERROR "${_medunet_torch_help}")
endif()

if(DEFINED Torch_VERSION AND Torch_VERSION VERSION_LESS 1.13)
  message(FATAL_ERROR "medunet needs libtorch 1.13 or later; found ${Torch_VERSION} through ${MEDUNET_TORCH_SOURCE} \
(${Torch_DIR}). ${_medunet_torch_help}")
endif()

get_filename_component(MEDUNET_TORCH_LIB_DIR "${TORCH_LIBRARY}" DIRECTORY)

if(TARGET torch_cuda OR TORCH_CUDA_LIBRARIES OR CAFFE2_USE_CUDA)
  set(MEDUNET_TORCH_HAS_CUDA ON)
else()
  set(MEDUNET_TORCH_HAS_CUDA OFF)
endif()

message(STATUS "medunet: libtorch ${Torch_VERSION} from ${MEDUNET_TORCH_SOURCE}, libraries in ${MEDUNET_TORCH_LIB_DIR}, "
               "CUDA ${MEDUNET_TORCH_HAS_CUDA}")
