/* SPDX-License-Identifier: MIT */
/* The version of mplb: one definition for the CLI, the metrics and the package. */
#ifndef MPLB_VERSION_H
#define MPLB_VERSION_H

#define MPLB_VERSION "0.2.0"

#endif /* MPLB_VERSION_H */
