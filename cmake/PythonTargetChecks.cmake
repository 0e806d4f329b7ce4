# Checks that every Python setting of a build describes the machine CMake
# compiles for, so that a cross build with one setting missing stops at
# configure time instead of producing a wheel whose name, tag or module does
# not match its code (scikit-build-core exits 0 in each of those cases).
#
# What decides what, in a scikit-build-core build:
#   - the compiler (toolchain file): the machine code of the module;
#   - Python_INCLUDE_DIR: the pyconfig.h compiled in (cmake.python-hints=true
#     passes the build host's);
#   - SETUPTOOLS_EXT_SUFFIX: SKBUILD_SOABI, hence the module's file name;
#   - _PYTHON_HOST_PLATFORM: the wheel's platform tag;
#   - the interpreter running scikit-build-core: the wheel's cp3XY tag;
#   - PYBIND11_USE_CROSSCOMPILING: whether pybind11 asks the host interpreter.
#
# litetrain_check_python_settings() runs before find_package(Python);
# litetrain_check_python_module(<target>) after the module is defined.

# The processor name as used in module suffixes and platform tags.
function(_litetrain_python_arch out_var)
  string(TOLOWER "${CMAKE_SYSTEM_PROCESSOR}" _arch)
  if(_arch STREQUAL "arm64")
    set(_arch aarch64)
  elseif(_arch STREQUAL "amd64")
    set(_arch x86_64)
  endif()
  set(${out_var} "${_arch}" PARENT_SCOPE)
endfunction()

function(_litetrain_python_fail)
  string(JOIN "" _text ${ARGN})
  message(FATAL_ERROR "Python settings do not match the target (${CMAKE_SYSTEM_PROCESSOR}): ${_text}\n"
    "For an aarch64 wheel use tools/build-aarch64, which sets all of them.")
endfunction()

macro(litetrain_check_python_settings)
  _litetrain_python_arch(_lt_arch)
  if(CMAKE_CROSSCOMPILING)
    # Hints are the build host's interpreter and headers: wrong for the target.
    if(DEFINED CACHE{Python_EXECUTABLE} OR DEFINED CACHE{Python_ROOT_DIR})
      _litetrain_python_fail("scikit-build-core passed the build host's Python "
        "(Python_EXECUTABLE=${Python_EXECUTABLE}): set cmake.python-hints=false.")
    endif()
    if(NOT PYBIND11_USE_CROSSCOMPILING)
      _litetrain_python_fail("PYBIND11_USE_CROSSCOMPILING is off, so pybind11 would ask the build "
        "host's interpreter for module settings: pass -DPYBIND11_USE_CROSSCOMPILING=ON.")
    endif()
  endif()
  if(SKBUILD)
    set(_lt_platform "$ENV{_PYTHON_HOST_PLATFORM}")
    if(CMAKE_CROSSCOMPILING AND NOT _lt_platform STREQUAL "linux-${_lt_arch}")
      _litetrain_python_fail("the wheel would be tagged for the build host: set "
        "_PYTHON_HOST_PLATFORM=linux-${_lt_arch} (it is '${_lt_platform}').")
    elseif(_lt_platform AND NOT _lt_platform MATCHES "[-_]${_lt_arch}$")
      _litetrain_python_fail("_PYTHON_HOST_PLATFORM=${_lt_platform} would tag the wheel for "
        "another machine than the compiler's.")
    endif()
    if(NOT SKBUILD_SOABI MATCHES "^cpython-3([0-9]+)t?-${_lt_arch}-linux-gnu$")
      if(CMAKE_CROSSCOMPILING)
        set(_lt_fix "set SETUPTOOLS_EXT_SUFFIX=.cpython-3XY-${_lt_arch}-linux-gnu.so")
      else()
        set(_lt_fix "unset SETUPTOOLS_EXT_SUFFIX or cross-compile with a toolchain file")
      endif()
      _litetrain_python_fail("the module would be named for another machine (SKBUILD_SOABI="
        "'${SKBUILD_SOABI}'): ${_lt_fix}.")
    endif()
    set(_lt_soabi_minor "${CMAKE_MATCH_1}")
    # The wheel's cp3XY tag is the minor version of the interpreter running
    # scikit-build-core, seen here only in the path of its site-packages.
    set(_lt_host_minor "")
    foreach(_lt_prefix IN LISTS CMAKE_PREFIX_PATH)
      if(_lt_prefix MATCHES "/python3\\.([0-9]+)/(site|dist)-packages$")
        set(_lt_host_minor "${CMAKE_MATCH_1}")
        break()
      endif()
    endforeach()
    if(CMAKE_CROSSCOMPILING AND _lt_host_minor STREQUAL "")
      _litetrain_python_fail("cannot tell the version of the Python running scikit-build-core (no "
        ".../python3.X/site-packages in CMAKE_PREFIX_PATH), which gives the wheel its cp3XY tag.")
    endif()
    if(_lt_host_minor AND NOT _lt_host_minor STREQUAL _lt_soabi_minor)
      _litetrain_python_fail("the wheel would be tagged cp3${_lt_host_minor} (the Python running the "
        "build) for a module built as ${SKBUILD_SOABI}: build with a Python 3.${_lt_soabi_minor}.")
    endif()
  endif()
endmacro()

# Reads pyconfig.h and patchlevel.h of the headers FindPython chose.
function(litetrain_check_python_module target)
  _litetrain_python_arch(_arch)
  list(GET Python_INCLUDE_DIRS 0 _include)
  set(_pyconfig "${_include}/pyconfig.h")
  if(NOT EXISTS "${_pyconfig}" OR NOT EXISTS "${_include}/patchlevel.h")
    _litetrain_python_fail("no pyconfig.h / patchlevel.h in ${_include}.")
  endif()
  file(STRINGS "${_include}/patchlevel.h" _minor_line REGEX "^#define PY_MINOR_VERSION[ \t]+[0-9]+")
  string(REGEX MATCH "[0-9]+$" _headers_minor "${_minor_line}")

  # Debian's multiarch pyconfig.h includes the real one by the compiler's
  # architecture macros; check the one it would pick for the target.
  file(STRINGS "${_pyconfig}" _wrapped REGEX "#[ \t]*include <${_arch}-linux-gnu/python3[.0-9]*/pyconfig.h>")
  if(_wrapped)
    string(REGEX MATCH "${_arch}-linux-gnu/python3[.0-9]*/pyconfig.h" _wrapped "${_wrapped}")
    get_filename_component(_pyconfig "${_include}/../${_wrapped}" ABSOLUTE)
    if(NOT EXISTS "${_pyconfig}")
      _litetrain_python_fail("the headers in ${_include} are not the target's: their pyconfig.h is "
        "Debian's multiarch wrapper and ${_pyconfig} does not exist.")
    endif()
  endif()
  # A generated pyconfig.h was configured for one machine.
  file(STRINGS "${_pyconfig}" _sizeof_void_p REGEX "^#define SIZEOF_VOID_P[ \t]+[0-9]+")
  string(REGEX MATCH "[0-9]+$" _sizeof_void_p "${_sizeof_void_p}")
  file(STRINGS "${_pyconfig}" _x86_asm REGEX "^#define HAVE_GCC_ASM_FOR_X(64|87) ")
  if(_arch STREQUAL "x86_64")
    set(_expect_x86 TRUE)
  else()
    set(_expect_x86 FALSE)
  endif()
  if(NOT _sizeof_void_p EQUAL CMAKE_SIZEOF_VOID_P OR (_x86_asm AND NOT _expect_x86)
     OR (_expect_x86 AND NOT _x86_asm))
    _litetrain_python_fail("the headers in ${_include} are not the target's: ${_pyconfig} was "
      "configured for another machine (the build host's? set cmake.python-hints=false and "
      "Python_INCLUDE_DIR to the target's).")
  endif()

  if(SKBUILD)
    if(NOT SKBUILD_SOABI MATCHES "^cpython-3${_headers_minor}t?-")
      _litetrain_python_fail("the headers in ${_include} are Python 3.${_headers_minor}, "
        "the module suffix says ${SKBUILD_SOABI}.")
    endif()
    get_target_property(_suffix ${target} SUFFIX)
    if(NOT _suffix STREQUAL ".${SKBUILD_SOABI}.so")
      _litetrain_python_fail("module ${target} would be named *${_suffix}, not *.${SKBUILD_SOABI}.so.")
    endif()
  endif()
  message(STATUS "Python module ${target}: headers 3.${_headers_minor} (${_include}), "
    "suffix ${_suffix}, wheel platform '$ENV{_PYTHON_HOST_PLATFORM}'")
endfunction()
