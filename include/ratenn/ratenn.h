/* ratenn — training rate-based recurrent networks by BPTT on the CPU or an NVIDIA GPU.
 * The umbrella header: includes the whole public API (prefix rn_). */
#ifndef RATENN_H
#define RATENN_H

#include "ratenn/abi.h"
#include "ratenn/backend.h"
#include "ratenn/io.h"
#include "ratenn/net.h"
#include "ratenn/noise.h"
#include "ratenn/status.h"
#include "ratenn/tasks.h"
#include "ratenn/train.h"
#include "ratenn/version.h"

#endif
