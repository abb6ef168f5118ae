/*
 * ipcguard: reading the policy options from Samba's loaded configuration
 * (smb.conf or the registry), for the module, the gate and the tool.
 *
 * Copyright (C) 2026 ipcguard developers
 *
 * This program is free software; you can redistribute it and/or modify
 * it under the terms of the GNU General Public License as published by
 * the Free Software Foundation; either version 3 of the License, or
 * (at your option) any later version.
 */

#ifndef IPCGUARD_SMBCONF_H
#define IPCGUARD_SMBCONF_H

/* An ipcguard_option_getter: "ipcguard:OPTION" from [global], or NULL. */
const char *ipcguard_smbconf_option(void *private_data, const char *option);

#endif /* IPCGUARD_SMBCONF_H */
