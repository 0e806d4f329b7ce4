# Sourced by tools/build-aarch64 after the good build: each wrong combination
# of cross settings must stop at configure time (about a second each) with a
# message naming the setting, never build a mislabelled wheel.
# Uses from the caller: cache, ext_suffix, target_platform, tools_venv, repo.

guard_build_dir="$cache/guard-check"

# expect_refusal "what is wrong" "text the error must contain" [env VAR=...] -- [pip wheel args]
expect_refusal() {
  local what="$1" text="$2" log="$cache/guard-check.log"
  shift 2
  local envs=() 
  while [ "$1" != -- ]; do envs+=("$1"); shift; done
  shift
  rm -rf "$guard_build_dir" "$cache/guard-wheel"
  if env "${envs[@]}" "$tools_venv/bin/python" -m pip wheel --no-deps --no-build-isolation -w "$cache/guard-wheel" \
       "$repo" -C build-dir="$guard_build_dir" "$@" >"$log" 2>&1; then
    die "the build accepted $what (log: $log)"
  fi
  # CMake wraps messages: compare without line breaks and indentation.
  if ! tr -s ' \n' ' ' <"$log" | grep -qF -- "$text"; then
    die "the build failed on $what, but without '$text' (log: $log)"
  fi
  printf '  refused: %s\n' "$what"
}

toolchain=(-C cmake.toolchain-file="$repo/cmake/toolchains/aarch64-linux-gnu.cmake")
hints_off=(-C cmake.python-hints=false)
pybind_cross=(-C cmake.define.PYBIND11_USE_CROSSCOMPILING=ON)
good_env=(SETUPTOOLS_EXT_SUFFIX="$ext_suffix" _PYTHON_HOST_PLATFORM="$target_platform")

expect_refusal "the build host's Python hints" "set cmake.python-hints=false" \
  "${good_env[@]}" -- "${toolchain[@]}" "${pybind_cross[@]}"
expect_refusal "no SETUPTOOLS_EXT_SUFFIX" "SKBUILD_SOABI='cpython-3${python_minor}-x86_64-linux-gnu'" \
  _PYTHON_HOST_PLATFORM="$target_platform" -- "${toolchain[@]}" "${hints_off[@]}" "${pybind_cross[@]}"
expect_refusal "no _PYTHON_HOST_PLATFORM" "set _PYTHON_HOST_PLATFORM=linux-aarch64" \
  SETUPTOOLS_EXT_SUFFIX="$ext_suffix" -- "${toolchain[@]}" "${hints_off[@]}" "${pybind_cross[@]}"
expect_refusal "no PYBIND11_USE_CROSSCOMPILING" "PYBIND11_USE_CROSSCOMPILING is off" \
  "${good_env[@]}" -- "${toolchain[@]}" "${hints_off[@]}"
expect_refusal "a module suffix for another Python than the build host's" \
  "tagged cp3${python_minor} (the Python running the build) for a module built as cpython-399-aarch64-linux-gnu" \
  SETUPTOOLS_EXT_SUFFIX=.cpython-399-aarch64-linux-gnu.so _PYTHON_HOST_PLATFORM="$target_platform" \
  -- "${toolchain[@]}" "${hints_off[@]}" "${pybind_cross[@]}"
expect_refusal "the build host's headers" "are not the target's" \
  "${good_env[@]}" -- "${toolchain[@]}" "${hints_off[@]}" "${pybind_cross[@]}" \
  -C cmake.define.Python_INCLUDE_DIR="$("$tools_venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')"
expect_refusal "aarch64 names without the toolchain file" "_PYTHON_HOST_PLATFORM=linux-aarch64 would tag the wheel" \
  "${good_env[@]}" --
rm -rf "$guard_build_dir" "$cache/guard-wheel"
