// One function per bound class, each in its own file.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include "litetrain/dtype.h"

namespace litetrain::bindings {

void BindRuntime(pybind11::module_& m);
void BindModel(pybind11::module_& m);
void BindSignatureRunner(pybind11::module_& m);
void BindTrainer(pybind11::module_& m);
void BindBareStepLoop(pybind11::module_& m);
void BindStepTiming(pybind11::module_& m);

// numpy dtype <-> DType. ToDType returns kUnsupported for other dtypes.
DType ToDType(const pybind11::dtype& dtype);
pybind11::dtype ToNumpy(DType dtype);

}  // namespace litetrain::bindings
