/* SPDX-License-Identifier: MIT */
/* "mplb advert": advertise address attributes next to the kernel's ADD_ADDRs. */
#ifndef MPLB_ADVERT_CMD_H
#define MPLB_ADVERT_CMD_H
int cmd_advert(int argc, char **argv);
#endif
