# Cross-compiling for aarch64 Linux (glibc) with Debian's GCC cross toolchain
# (g++-aarch64-linux-gnu). tools/build-aarch64 uses it; by hand:
#
#   LITETRAIN_AARCH64_ROOTFS=/path/to/rootfs cmake -S cpp -B build/cpp-aarch64 \
#     --toolchain cmake/toolchains/aarch64-linux-gnu.cmake
#
# The root file system (an aarch64 Debian made by tools/build-aarch64) holds
# what the target links against beyond libc and libstdc++: GoogleTest for the
# C++ tests, CPython's headers for the extension. The compilers' own aarch64
# libc and libstdc++ (from the cross toolchain) are used, not the root's.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)

if(NOT LITETRAIN_AARCH64_ROOTFS)
  set(LITETRAIN_AARCH64_ROOTFS "$ENV{LITETRAIN_AARCH64_ROOTFS}")
endif()
if(NOT LITETRAIN_AARCH64_ROOTFS OR NOT IS_DIRECTORY "${LITETRAIN_AARCH64_ROOTFS}/usr")
  message(FATAL_ERROR
    "aarch64 toolchain: set LITETRAIN_AARCH64_ROOTFS (environment or -D) to an aarch64 root file "
    "system (tools/build-aarch64 makes one); got '${LITETRAIN_AARCH64_ROOTFS}'.")
endif()
# try_compile projects re-read this file; pass the root on to them.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES LITETRAIN_AARCH64_ROOTFS)

# Libraries, headers and packages of the target come from the root; programs
# (flatc, the code generator) from the build host. Packages also from the host
# prefix path, where header-only pybind11 lives in a scikit-build environment.
set(CMAKE_FIND_ROOT_PATH "${LITETRAIN_AARCH64_ROOTFS}")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)

# The target's CPython headers. tools/build-aarch64 puts the aarch64
# pyconfig.h in place of Debian's multiarch wrapper, which a cross compiler
# cannot resolve; cmake/CrossCompilePython.cmake checks it.
if(NOT DEFINED Python_INCLUDE_DIR)
  set(Python_INCLUDE_DIR "${LITETRAIN_AARCH64_ROOTFS}/usr/include/python3.11")
endif()

# Target programs (the C++ tests, gtest_discover_tests) run under qemu-user,
# which reads the target's shared libraries from the root.
find_program(LITETRAIN_QEMU_AARCH64 NAMES qemu-aarch64-static qemu-aarch64)
if(LITETRAIN_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR "${LITETRAIN_QEMU_AARCH64};-L;${LITETRAIN_AARCH64_ROOTFS};-cpu;neoverse-n1")
endif()
