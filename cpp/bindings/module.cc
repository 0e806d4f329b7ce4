// The extension module litetrain._core: registration only. Each bound class
// has its own file; errors are translated here, once.
#include <pybind11/pybind11.h>

#include "bindings.h"
#include "litetrain/errors.h"
#include "litetrain/trainer.h"

namespace py = pybind11;

namespace {

// The exception classes live in Python (litetrain/errors.py) so that they can
// inherit from both litetrain.Error and the matching builtin.
void RaiseAs(const char* class_name, const std::exception& e) {
  py::object cls = py::module_::import("litetrain.errors").attr(class_name);
  PyErr_SetString(cls.ptr(), e.what());
}

void TranslateErrors(std::exception_ptr pending) {
  try {
    if (pending) std::rethrow_exception(pending);
  } catch (const litetrain::ModelFormatError& e) {
    RaiseAs("ModelFormatError", e);
  } catch (const litetrain::LibraryError& e) {
    RaiseAs("LibraryError", e);
  } catch (const litetrain::CheckpointError& e) {
    RaiseAs("CheckpointError", e);
  } catch (const litetrain::IoError& e) {
    // OSError(errno, message) becomes the matching subclass
    // (PermissionError, IsADirectoryError, ...), as Python's own I/O would.
    py::object error = py::reinterpret_borrow<py::object>(PyExc_OSError)(e.error_number(), e.what());
    PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(error.ptr())), error.ptr());
  } catch (const litetrain::TrainerBusy& e) {
    RaiseAs("TrainerBusy", e);
  } catch (const litetrain::NonFiniteLoss& e) {
    RaiseAs("NonFiniteLoss", e);
  } catch (const litetrain::RuntimeFailure& e) {
    RaiseAs("RuntimeFailure", e);
  } catch (const litetrain::Error& e) {
    RaiseAs("Error", e);
  } catch (const litetrain::FileNotFound& e) {
    PyErr_SetString(PyExc_FileNotFoundError, e.what());
  } catch (const litetrain::WeightsMismatch& e) {
    RaiseAs("WeightsMismatch", e);
  }
  // InvalidArgument (std::invalid_argument) and OutOfRange (std::out_of_range)
  // fall through to pybind11's own ValueError and IndexError.
}

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "litetrain's native core (private: use the litetrain package).";
  py::register_exception_translator(&TranslateErrors);
  litetrain::bindings::BindRuntime(m);
  litetrain::bindings::BindModel(m);
  litetrain::bindings::BindSignatureRunner(m);
  litetrain::bindings::BindTrainer(m);
  litetrain::bindings::BindCheckpoint(m);
  litetrain::bindings::BindBake(m);
  litetrain::bindings::BindBareStepLoop(m);
  litetrain::bindings::BindStepTiming(m);
  litetrain::bindings::BindCallbacks(m);
}
