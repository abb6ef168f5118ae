/*
 * ipcguard: reading the policy options from Samba's loaded configuration.
 *
 * Copyright (C) 2026 ipcguard developers
 *
 * This program is free software; you can redistribute it and/or modify
 * it under the terms of the GNU General Public License as published by
 * the Free Software Foundation; either version 3 of the License, or
 * (at your option) any later version.
 */

#include "includes.h"

#include "ipcguard_smbconf.h"

const char *ipcguard_smbconf_option(void *private_data, const char *option)
{
	return lp_parm_const_string(GLOBAL_SECTION_SNUM, "ipcguard", option,
				    NULL);
}
