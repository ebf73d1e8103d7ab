/* SPDX-License-Identifier: MIT */
#include "mptcp_opt.h"
