// Everything a C++ host needs from litetrain.
#pragma once

#include "litetrain/callbacks.h"
#include "litetrain/checkpoint.h"
#include "litetrain/bake.h"
#include "litetrain/compatibility.h"
#include "litetrain/bare_step_loop.h"
#include "litetrain/dataset.h"
#include "litetrain/dtype.h"
#include "litetrain/errors.h"
#include "litetrain/model.h"
#include "litetrain/npy.h"
#include "litetrain/runtime.h"
#include "litetrain/signature_runner.h"
#include "litetrain/snapshot.h"
#include "litetrain/step_timing.h"
#include "litetrain/tensor.h"
#include "litetrain/trainer.h"
