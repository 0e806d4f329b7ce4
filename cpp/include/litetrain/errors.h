// The exceptions litetrain throws. Every failure is one of these; none is a
// bare std::runtime_error. The Python module maps them one to one:
//
//   InvalidArgument  -> ValueError        bad user input (dtype, shape, name)
//   WeightsMismatch  -> litetrain.WeightsMismatch (ValueError)  weights of another model
//   OutOfRange       -> IndexError        an index past the end
//   FileNotFound     -> FileNotFoundError a file (or its folder) that does not exist
//   IoError          -> OSError           reading or writing a file failed (errno kept)
//   ModelFormatError -> litetrain.ModelFormatError  damaged / not a model
//   FileFormatError  -> litetrain.Error             damaged / unreadable .npy file
//                                                   (Python reads .npy with numpy)
//   CheckpointError  -> litetrain.CheckpointError   damaged / foreign checkpoint
//   LibraryError     -> litetrain.LibraryError      libLiteRt.so missing/wrong
//   RuntimeFailure   -> litetrain.RuntimeFailure    LiteRT failed a call
//   Error            -> litetrain.Error             base of those above
#pragma once

#include <stdexcept>
#include <string>

#include "litetrain/export.h"

namespace litetrain {

class LITETRAIN_API InvalidArgument : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// Weights (a snapshot, a checkpoint's variables) that do not fit the model:
// names, dtypes or shapes. Python: litetrain.WeightsMismatch (a ValueError).
class LITETRAIN_API WeightsMismatch : public InvalidArgument {
 public:
  using InvalidArgument::InvalidArgument;
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

// A data file (.npy) is damaged, or holds something litetrain does not read
// (another dtype, Fortran order, another byte order).
class LITETRAIN_API FileFormatError : public Error {
 public:
  using Error::Error;
};

// A checkpoint file is damaged, not a litetrain checkpoint, or of another
// model. what() names the file and the problem.
class LITETRAIN_API CheckpointError : public Error {
 public:
  using Error::Error;
};

// The operating system refused to read or write a file (permissions, a full
// disk, a directory where a file was expected). what() names the path.
class LITETRAIN_API IoError : public Error {
 public:
  IoError(const std::string& message, int error_number) : Error(message), error_number_(error_number) {}
  // The errno value of the failed call.
  int error_number() const noexcept { return error_number_; }

 private:
  int error_number_;
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
  RuntimeFailure(const std::string& message, int status) : Error(message), status_(status) {}
  // The LiteRtStatus code the runtime returned.
  int status() const noexcept { return status_; }

 private:
  int status_;
};

}  // namespace litetrain
