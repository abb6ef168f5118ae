/*
 * ipcguard: --version for the gate and the tool.  Samba's own
 * POPT_COMMON_VERSION prints only Samba's version; an admin deciding
 * whether a build fits the installed Samba needs ours and the Samba it was
 * built for (IPCGUARD_BUILT_FOR, ipcguard_compat.h).
 *
 * This program is free software; you can redistribute it and/or modify
 * it under the terms of the GNU General Public License as published by
 * the Free Software Foundation; either version 3 of the License, or
 * (at your option) any later version.
 */

#ifndef IPCGUARD_VERSION_H
#define IPCGUARD_VERSION_H

#include "ipcguard_compat.h"

#define IPCGUARD_POPT_VERSION_VAL 'V'
#define IPCGUARD_POPT_VERSION                                           \
	{                                                               \
		.longName = "version",                                  \
		.shortName = 'V',                                       \
		.argInfo = POPT_ARG_NONE,                               \
		.val = IPCGUARD_POPT_VERSION_VAL,                       \
		.descrip = "Print the version and the Samba it was "    \
			   "built for",                                 \
	},

static inline void ipcguard_print_version(const char *program)
{
	printf("%s %s (build %s) for %s\n", program, IPCGUARD_VERSION,
	       IPCGUARD_BUILD_ID, IPCGUARD_BUILT_FOR);
}

#endif /* IPCGUARD_VERSION_H */
