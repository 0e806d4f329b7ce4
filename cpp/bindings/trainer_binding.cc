#include <atomic>
#include <csignal>
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
      throw InvalidArgument("training array '" + name + "' must have 1 to " +
                            std::to_string(Shape::kMaxRank) + " dimensions, it has " +
                            std::to_string(array.ndim()));
    }
    int64_t dims[Shape::kMaxRank];
    for (py::ssize_t d = 0; d < array.ndim(); ++d) dims[d] = array.shape(d);
    columns.push_back({name, ConstTensorView{dtype, Shape(dims, static_cast<int>(array.ndim())), array.data()}});
    keep.push_back(array);
  }
  return Dataset(std::move(columns));
}

OnNonFinite ParseOnNonFinite(const std::string& policy) {
  if (policy == "raise") return OnNonFinite::kRaise;
  if (policy == "stop") return OnNonFinite::kStop;
  if (policy == "rollback") return OnNonFinite::kRollback;
  throw InvalidArgument("on_nonfinite must be 'raise', 'stop' or 'rollback', got '" + policy + "'");
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
    struct sigaction ours {};
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
  struct sigaction previous_ {};
};

py::dict Fit(Trainer& trainer, const py::dict& arrays, int64_t batch_size, int64_t epochs,
             int64_t initial_epoch, int64_t initial_step, bool shuffle, uint64_t seed, bool drop_remainder,
             const std::string& on_nonfinite, int64_t callback_every, const py::object& callback,
             bool handle_sigint) {
  std::vector<py::array> keep;
  const Dataset data = ToDataset(arrays, keep);
  FitOptions options;
  options.batch_size = batch_size;
  options.epochs = epochs;
  options.initial_epoch = initial_epoch;
  options.initial_step = initial_step;
  options.shuffle = shuffle;
  options.seed = seed;
  options.drop_remainder = drop_remainder;
  options.on_nonfinite = ParseOnNonFinite(on_nonfinite);
  options.callback_every = callback_every;
  if (!callback.is_none()) {
    options.callback = [&callback](const FitProgress& p) {
      py::gil_scoped_acquire gil;
      return callback(p.step, p.epoch, p.loss).cast<bool>();
    };
  }
  SigintGuard sigint(handle_sigint);
  options.stop = sigint.stop_flag();
  FitResult result;
  {
    // Safe: `keep` holds every training array, and the callback takes the
    // GIL back before it touches Python.
    py::gil_scoped_release release;
    result = trainer.Fit(data, options);
  }
  if (sigint.interrupted()) {
    PyErr_SetNone(PyExc_KeyboardInterrupt);
    throw py::error_already_set();
  }
  py::dict out;
  out["losses"] = py::array_t<float>(static_cast<py::ssize_t>(result.losses.size()), result.losses.data());
  out["epoch_losses"] = result.epoch_losses;
  py::list epoch_metrics;
  for (const auto& means : result.epoch_metrics) {
    py::dict metrics;
    for (std::size_t m = 0; m < means.size(); ++m) metrics[py::str(result.metric_names[m])] = means[m];
    epoch_metrics.append(metrics);
  }
  out["epoch_metrics"] = epoch_metrics;
  out["steps"] = result.steps;
  out["epochs_completed"] = result.epochs_completed;
  out["seconds"] = result.seconds;
  out["stopped"] = result.stopped;
  out["stop_reason"] = result.stop_reason;
  return out;
}

}  // namespace

void BindTrainer(py::module_& m) {
  py::class_<Trainer>(m, "Trainer")
      .def(py::init([](const Model& model, const std::string& train, const std::string& save,
                       const std::string& restore, const std::string& loss) {
             return Trainer(model, TrainerOptions{train, save, restore, loss});
           }),
           py::arg("model"), py::arg("train") = "train", py::arg("save") = "save",
           py::arg("restore") = "restore", py::arg("loss") = "loss")
      .def("fit", &Fit, py::arg("arrays"), py::arg("batch_size"), py::arg("epochs"),
           py::arg("initial_epoch"), py::arg("initial_step"), py::arg("shuffle"), py::arg("seed"), py::arg("drop_remainder"),
           py::arg("on_nonfinite"), py::arg("callback_every"), py::arg("callback"),
           py::arg("handle_sigint"))
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
      .def("save_checkpoint", &Trainer::SaveCheckpoint, py::arg("path"),
           py::call_guard<py::gil_scoped_release>())
      .def("load_checkpoint", &Trainer::LoadCheckpoint, py::arg("path"),
           py::call_guard<py::gil_scoped_release>());

  m.def("epoch_order", &EpochOrder, py::arg("n"), py::arg("seed"), py::arg("epoch"),
        py::arg("shuffle") = true);
}

}  // namespace litetrain::bindings
