// Everything a C++ host needs from litetrain.
#pragma once

#include "litetrain/bake.h"
#include "litetrain/compatibility.h"
#include "litetrain/dataset.h"
#include "litetrain/dtype.h"
#include "litetrain/errors.h"
#include "litetrain/model.h"
#include "litetrain/runtime.h"
#include "litetrain/signature_runner.h"
#include "litetrain/tensor.h"
#include "litetrain/trainer.h"
