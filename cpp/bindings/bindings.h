// One function per bound class, each in its own file.
#pragma once

#include <string>
#include <vector>

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include "litetrain/dtype.h"
#include "litetrain/snapshot.h"
#include "litetrain/trainer.h"

namespace litetrain::bindings {

void BindRuntime(pybind11::module_& m);
void BindModel(pybind11::module_& m);
void BindSignatureRunner(pybind11::module_& m);
void BindTrainer(pybind11::module_& m);
void BindCheckpoint(pybind11::module_& m);
void BindBake(pybind11::module_& m);
void BindBareStepLoop(pybind11::module_& m);
void BindStepTiming(pybind11::module_& m);
void BindCallbacks(pybind11::module_& m);

// numpy dtype <-> DType. ToDType returns kUnsupported for other dtypes.
DType ToDType(const pybind11::dtype& dtype);
pybind11::dtype ToNumpy(DType dtype);

// Tensors -> {name: numpy array}; each array takes over its tensor's bytes
// (no copy). Call with the GIL held.
pybind11::dict ToDict(std::vector<NamedTensor>&& tensors);
// {name: array-like} -> owned tensors (copied: the result outlives the GIL).
// Other byte orders are converted; unsupported dtypes are refused with
// InvalidArgument naming the entry. `what` names the dict in messages.
std::vector<NamedTensor> FromDict(const pybind11::dict& arrays, const std::string& what);

}  // namespace litetrain::bindings
