#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include <pybind11/stl.h>

#include "bindings.h"
#include "litetrain/bare_step_loop.h"
#include "litetrain/errors.h"

namespace py = pybind11;

namespace litetrain::bindings {

void BindBareStepLoop(py::module_& m) {
  py::class_<BareStepLoop>(m, "BareStepLoop")
      .def(py::init([](const Model& model, const std::string& signature, const py::dict& batch) {
             // The loop copies every array once, here; `arrays` keeps any
             // converted copy alive until then.
             std::vector<py::array> arrays;
             std::vector<std::pair<std::string, ConstTensorView>> inputs;
             for (const auto& item : batch) {
               const std::string name = py::str(item.first);
               auto array = py::array::ensure(item.second, py::array::c_style);
               if (!array) throw InvalidArgument("input '" + name + "' is not an array");
               if (array.ndim() > Shape::kMaxRank) {
                 throw InvalidArgument("input '" + name + "' has too many dimensions");
               }
               int64_t dims[Shape::kMaxRank];
               for (py::ssize_t d = 0; d < array.ndim(); ++d) dims[d] = array.shape(d);
               inputs.emplace_back(name, ConstTensorView{ToDType(array.dtype()),
                                                         Shape(dims, static_cast<int>(array.ndim())), array.data()});
               arrays.push_back(std::move(array));
             }
             // Safe: `arrays` holds every input until the copies are made.
             py::gil_scoped_release release;
             return BareStepLoop(model, signature, inputs);
           }),
           py::arg("model"), py::arg("signature"), py::arg("batch"))
      .def(
          "run",
          [](BareStepLoop& loop, int64_t steps) {
            py::gil_scoped_release release;  // touches no Python object
            return loop.Run(steps);
          },
          py::arg("steps"), "Runs `steps` steps; returns their wall time in seconds, timed natively.")
      .def(
          "output",
          [](const BareStepLoop& loop, const std::string& name) {
            const ConstTensorView view = loop.output(name);
            py::array array(ToNumpy(view.dtype), view.shape.to_vector());
            std::memcpy(array.mutable_data(), view.data, view.byte_size());
            return array;
          },
          py::arg("name"), "A copy of an output after the last run.")
      .def_property_readonly("spec", &BareStepLoop::spec, py::return_value_policy::reference_internal);
}

}  // namespace litetrain::bindings
