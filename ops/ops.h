// Every op, for code that wants them all.
#pragma once

#include "autograd/tape.h"
#include "ops/batch.h"
#include "ops/bmm.h"
#include "ops/conv.h"
#include "ops/depthwise_conv.h"
#include "ops/dropout.h"
#include "ops/elementwise.h"
#include "ops/linear.h"
#include "ops/loss.h"
#include "ops/norm.h"
#include "ops/pad.h"
#include "ops/reduce.h"
#include "ops/shape.h"
#include "ops/softmax.h"
#include "tensor/tensor.h"
