#include <atomic>
#include <csignal>
#include <optional>
#include <string>
#include <vector>

#include <pybind11/functional.h>
#include <pybind11/stl.h>

#include "bindings.h"
#include "litetrain/errors.h"
#include "litetrain/trainer.h"

namespace py = pybind11;

namespace litetrain::bindings {
namespace {

// Training data by input name. Arrays are used in place (no copy of the data
// set), so they must already be C-contiguous and of the input's dtype;
// anything else is refused with the fix. `keep` holds them during the run.
Dataset ToDataset(const py::dict& arrays, std::vector<py::array>& keep) {
  std::vector<Dataset::Column> columns;
  for (const auto& item : arrays) {
    const std::string name = py::str(item.first);
    if (!py::isinstance<py::array>(item.second)) {
      throw InvalidArgument("training array '" + name + "' must be a numpy array, got " +
                            std::string(py::str(py::type::of(item.second).attr("__name__"))));
    }
    auto array = py::reinterpret_borrow<py::array>(item.second);
    if (!(array.flags() & py::array::c_style)) {
      throw InvalidArgument("training array '" + name +
                            "' must be C-contiguous: it is read in place, not copied "
                            "(use numpy.ascontiguousarray once before fit)");
    }
    const DType dtype = ToDType(array.dtype());
    if (dtype == DType::kUnsupported) {
      throw InvalidArgument("training array '" + name + "' has unsupported dtype " +
                            std::string(py::str(array.dtype())));
    }
    if (array.ndim() < 1 || array.ndim() > Shape::kMaxRank) {
      throw InvalidArgument("training array '" + name + "' must have 1 to " + std::to_string(Shape::kMaxRank) +
                            " dimensions, it has " + std::to_string(array.ndim()));
    }
    int64_t dims[Shape::kMaxRank];
    for (py::ssize_t d = 0; d < array.ndim(); ++d) dims[d] = array.shape(d);
    columns.push_back({name, ConstTensorView{dtype, Shape(dims, static_cast<int>(array.ndim())), array.data()}});
    keep.push_back(array);
  }
  return Dataset(std::move(columns));
}

// Ctrl-C during fit: Python's own handler only sets a flag that Python code
// would look at between bytecodes, and none runs while the GIL is released.
// So while a fit runs on the main thread (and SIGINT has Python's default
// handler), SIGINT sets that fit's own stop flag instead, the loop stops
// after the current step, and KeyboardInterrupt is raised here.
std::atomic<std::atomic<bool>*> g_sigint_target{nullptr};
extern "C" void OnSigint(int) {
  if (std::atomic<bool>* flag = g_sigint_target.load()) flag->store(true);
}

class SigintGuard {
 public:
  explicit SigintGuard(bool active) : active_(active) {
    if (!active_) return;
    g_sigint_target.store(&flag_);
    struct sigaction ours{};
    ours.sa_handler = OnSigint;
    sigemptyset(&ours.sa_mask);
    active_ = sigaction(SIGINT, &ours, &previous_) == 0;
    if (!active_) g_sigint_target.store(nullptr);
  }
  ~SigintGuard() {
    if (!active_) return;
    sigaction(SIGINT, &previous_, nullptr);
    g_sigint_target.store(nullptr);
  }
  // The flag for FitOptions::stop, or null when Ctrl-C is not ours to handle.
  const std::atomic<bool>* stop_flag() const { return active_ ? &flag_ : nullptr; }
  bool interrupted() const { return active_ && flag_.load(); }

 private:
  bool active_;
  std::atomic<bool> flag_{false};
  struct sigaction previous_{};
};

FitResult Fit(Trainer& trainer, const py::dict& arrays, FitOptions options, const py::object& validation,
              const py::object& callback, const py::object& on_epoch_end, bool handle_sigint) {
  std::vector<py::array> keep;
  const Dataset data = ToDataset(arrays, keep);
  std::optional<Dataset> validation_data;
  if (!validation.is_none()) {
    validation_data.emplace(ToDataset(validation.cast<py::dict>(), keep));
    options.validation_data = &*validation_data;
  }
  if (!callback.is_none()) {
    options.callback = [&callback](const FitProgress& p) {
      py::gil_scoped_acquire gil;
      return callback(p.step, p.epoch, p.loss).cast<bool>();
    };
  }
  if (!on_epoch_end.is_none()) {
    options.on_epoch_end = [&on_epoch_end](const EpochLogs& logs) {
      py::gil_scoped_acquire gil;
      return on_epoch_end(logs).cast<bool>();
    };
  }
  SigintGuard sigint(handle_sigint);
  options.stop = sigint.stop_flag();
  FitResult result;
  {
    // Safe: `keep` holds every array, and the callbacks take the GIL back
    // before they touch Python.
    py::gil_scoped_release release;
    result = trainer.Fit(data, options);
  }
  if (sigint.interrupted()) {
    PyErr_SetNone(PyExc_KeyboardInterrupt);
    throw py::error_already_set();
  }
  return result;
}

py::dict PairsToDict(const std::vector<std::pair<std::string, double>>& pairs) {
  py::dict out;
  for (const auto& [name, value] : pairs) out[py::str(name)] = value;
  return out;
}

void BindResults(py::module_& m) {
  py::enum_<OnNonFinite>(m, "OnNonFinite")
      .value("RAISE", OnNonFinite::kRaise)
      .value("STOP", OnNonFinite::kStop)
      .value("ROLLBACK", OnNonFinite::kRollback);

  py::class_<FitOptions>(m, "FitOptions")
      .def(py::init<>())
      .def_readwrite("batch_size", &FitOptions::batch_size)
      .def_readwrite("epochs", &FitOptions::epochs)
      .def_readwrite("initial_epoch", &FitOptions::initial_epoch)
      .def_readwrite("initial_step", &FitOptions::initial_step)
      .def_readwrite("shuffle", &FitOptions::shuffle)
      .def_readwrite("seed", &FitOptions::seed)
      .def_readwrite("drop_remainder", &FitOptions::drop_remainder)
      .def_readwrite("on_nonfinite", &FitOptions::on_nonfinite)
      .def_readwrite("callback_every", &FitOptions::callback_every)
      .def_readwrite("validation_signature", &FitOptions::validation_signature);

  py::class_<FitResult>(m, "FitResult")
      .def_property_readonly("losses",
                             [](const FitResult& r) {
                               return py::array_t<float>(static_cast<py::ssize_t>(r.losses.size()), r.losses.data());
                             })
      .def_readonly("epoch_losses", &FitResult::epoch_losses)
      .def_readonly("metric_names", &FitResult::metric_names)
      .def_readonly("epoch_metrics", &FitResult::epoch_metrics)
      .def_readonly("steps", &FitResult::steps)
      .def_readonly("runs", &FitResult::runs)
      .def_readonly("epochs_completed", &FitResult::epochs_completed)
      .def_readonly("seconds", &FitResult::seconds)
      .def_readonly("stopped", &FitResult::stopped)
      .def_readonly("stop_reason", &FitResult::stop_reason);

  py::class_<EpochLogs>(m, "EpochLogs")
      .def_readonly("epoch", &EpochLogs::epoch)
      .def_readonly("steps", &EpochLogs::steps)
      .def_readonly("loss", &EpochLogs::loss)
      .def_property_readonly("metrics", [](const EpochLogs& l) { return PairsToDict(l.metrics); })
      .def_property_readonly("validation", [](const EpochLogs& l) { return PairsToDict(l.validation); });

  py::class_<TrainingState>(m, "TrainingState")
      .def_readonly("epochs_done", &TrainingState::epochs_done)
      .def_readonly("steps_done", &TrainingState::steps_done)
      .def_readonly("seed", &TrainingState::seed)
      .def_readonly("batch_size", &TrainingState::batch_size)
      .def_readonly("shuffle", &TrainingState::shuffle)
      .def_readonly("drop_remainder", &TrainingState::drop_remainder)
      .def_readonly("learning_rate", &TrainingState::learning_rate)
      .def("__repr__", [](const TrainingState& t) {
        return "TrainingState(epochs_done=" + std::to_string(t.epochs_done) +
               ", steps_done=" + std::to_string(t.steps_done) + ", seed=" + std::to_string(t.seed) +
               ", batch_size=" + std::to_string(t.batch_size) + ")";
      });
}

}  // namespace

void BindTrainer(py::module_& m) {
  BindResults(m);
  m.attr("STEPS_SIGNATURE_SUFFIX") = kStepsSignatureSuffix;
  py::class_<Trainer>(m, "Trainer")
      .def(py::init([](const Model& model, const std::string& train, const std::string& save,
                       const std::string& restore, const std::string& loss, bool multi_step) {
             return Trainer(model, TrainerOptions{train, save, restore, loss, multi_step});
           }),
           py::arg("model"), py::arg("train") = "train", py::arg("save") = "", py::arg("restore") = "",
           py::arg("loss") = "loss", py::arg("multi_step") = true)
      .def("fit", &Fit, py::arg("arrays"), py::arg("options"), py::kw_only(), py::arg("validation"),
           py::arg("callback"), py::arg("on_epoch_end"), py::arg("handle_sigint"))
      .def(
          "resume",
          [](Trainer& t, const std::string& path, int64_t total_epochs, FitOptions& options) {
            py::gil_scoped_release release;
            t.Resume(path, total_epochs, options);
          },
          py::arg("path"), py::arg("total_epochs"), py::arg("options"))
      .def(
          "predict",
          [](Trainer& t, const py::dict& arrays, int64_t batch_size, const std::string& signature) {
            std::vector<py::array> keep;
            const Dataset data = ToDataset(arrays, keep);
            std::vector<NamedTensor> outputs;
            {
              py::gil_scoped_release release;  // `keep` holds the arrays
              outputs = t.Predict(data, batch_size, signature);
            }
            return ToDict(std::move(outputs));
          },
          py::arg("arrays"), py::arg("batch_size"), py::arg("signature"))
      .def(
          "evaluate",
          [](Trainer& t, const py::dict& arrays, int64_t batch_size, const std::string& signature) {
            std::vector<py::array> keep;
            const Dataset data = ToDataset(arrays, keep);
            py::gil_scoped_release release;  // `keep` holds the arrays
            return t.Evaluate(data, batch_size, signature);
          },
          py::arg("arrays"), py::arg("batch_size"), py::arg("signature"))
      .def("snapshot",
           [](Trainer& t) {
             Snapshot snapshot;
             {
               py::gil_scoped_release release;
               snapshot = t.TakeSnapshot();
             }
             return ToDict(std::move(snapshot));
           })
      .def(
          "restore",
          [](Trainer& t, const py::dict& arrays) {
            const Snapshot snapshot = FromDict(arrays, "snapshot");
            py::gil_scoped_release release;  // the snapshot is our own copy
            t.Restore(snapshot);
          },
          py::arg("arrays"))
      .def("save_checkpoint", &Trainer::SaveCheckpoint, py::arg("path"), py::call_guard<py::gil_scoped_release>())
      .def("load_checkpoint", &Trainer::LoadCheckpoint, py::arg("path"), py::call_guard<py::gil_scoped_release>())
      .def_property_readonly("training_state", &Trainer::training_state)
      .def("learning_rate", &Trainer::LearningRate, py::call_guard<py::gil_scoped_release>())
      .def("set_learning_rate", &Trainer::SetLearningRate, py::arg("value"), py::call_guard<py::gil_scoped_release>());

  m.def("epoch_order", &EpochOrder, py::arg("n"), py::arg("seed"), py::arg("epoch"), py::arg("shuffle") = true);
}

}  // namespace litetrain::bindings
