// The exceptions litetrain throws. Every failure is one of these; none is a
// bare std::runtime_error. The Python module maps them one to one:
//
//   InvalidArgument  -> ValueError        bad user input (dtype, shape, name)
//   OutOfRange       -> IndexError        an index past the end
//   FileNotFound     -> FileNotFoundError a model path that does not exist
//   ModelFormatError -> litetrain.ModelFormatError  damaged / not a model
//   LibraryError     -> litetrain.LibraryError      libLiteRt.so missing/wrong
//   RuntimeFailure   -> litetrain.RuntimeFailure    LiteRT failed a call
//   Error            -> litetrain.Error             base of the last three
#pragma once

#include <stdexcept>
#include <string>

#include "litetrain/export.h"

namespace litetrain {

class LITETRAIN_API InvalidArgument : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

class LITETRAIN_API OutOfRange : public std::out_of_range {
 public:
  using std::out_of_range::out_of_range;
};

class LITETRAIN_API FileNotFound : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Base of the failures that are not the caller's arguments.
class LITETRAIN_API Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The bytes are not a usable TFLite model (truncated, corrupt, inconsistent).
class LITETRAIN_API ModelFormatError : public Error {
 public:
  using Error::Error;
};

// libLiteRt.so could not be found, loaded, or lacks a function we need.
class LITETRAIN_API LibraryError : public Error {
 public:
  using Error::Error;
};

// A LiteRT call failed. what() names the call, its status and the runtime's
// own message when it gave one.
class LITETRAIN_API RuntimeFailure : public Error {
 public:
  RuntimeFailure(const std::string& message, int status)
      : Error(message), status_(status) {}
  // The LiteRtStatus code the runtime returned.
  int status() const noexcept { return status_; }

 private:
  int status_;
};

}  // namespace litetrain
