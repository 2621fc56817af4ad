// Every op, for code that wants them all.
#pragma once

#include "autograd/tape.h"
#include "autograd/tensor.h"
#include "ops/elementwise.h"
#include "ops/loss.h"
#include "ops/reduce.h"
