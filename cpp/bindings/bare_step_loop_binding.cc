#include <cstring>
#include <string>
#include <vector>

#include <pybind11/stl.h>

#include "bench/bare_step_loop.h"
#include "bindings.h"
#include "litetrain/errors.h"

namespace py = pybind11;

namespace litetrain::bindings {

void BindBareStepLoop(py::module_& m) {
  py::class_<BareStepLoop>(m, "BareStepLoop")
      .def(py::init([](const Model& model, const std::string& signature, const py::dict& data, int64_t batch_size) {
             // The loop copies every array once, here; `arrays` keeps any
             // converted copy alive until then.
             std::vector<py::array> arrays;
             std::vector<Dataset::Column> columns;
             for (const auto& item : data) {
               const std::string name = py::str(item.first);
               auto array = py::array::ensure(item.second, py::array::c_style);
               if (!array) throw InvalidArgument("data for input '" + name + "' is not an array");
               if (array.ndim() < 1 || array.ndim() > Shape::kMaxRank) {
                 throw InvalidArgument("data for input '" + name + "' must have 1 to " +
                                       std::to_string(Shape::kMaxRank) + " dimensions");
               }
               int64_t dims[Shape::kMaxRank];
               for (py::ssize_t d = 0; d < array.ndim(); ++d) dims[d] = array.shape(d);
               columns.push_back({name, ConstTensorView{ToDType(array.dtype()),
                                                        Shape(dims, static_cast<int>(array.ndim())), array.data()}});
               arrays.push_back(std::move(array));
             }
             const Dataset dataset(std::move(columns));
             // Safe: `arrays` holds every input until the copies are made.
             py::gil_scoped_release release;
             return BareStepLoop(model, signature, dataset, batch_size);
           }),
           py::arg("model"), py::arg("signature"), py::arg("data"), py::arg("batch_size"))
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
      .def_property_readonly("num_batches", &BareStepLoop::num_batches)
      .def_property_readonly("spec", &BareStepLoop::spec, py::return_value_policy::reference_internal);
}

}  // namespace litetrain::bindings
