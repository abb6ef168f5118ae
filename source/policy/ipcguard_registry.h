/*
 * ipcguard: Windows' remote registry restriction as a built-in rule.
 *
 * On Windows the ACL of HKLM\SYSTEM\CurrentControlSet\Control\
 * SecurePipeServers\winreg says who may use the remote registry at all;
 * everybody else may still open the keys of two lists, AllowedExactPaths
 * ("Network access: Remotely accessible registry paths") and AllowedPaths
 * ("... paths and subpaths"), and read them.  Here the ACL is an SDDL
 * option checked with Samba's code (hooks), and the lists are options.
 *
 * The gate decodes winreg requests and tracks which key each handle is
 * (source/gate/gate_winreg.c); what it learns reaches the engine as the
 * request's registry path, and everything it could not learn as
 * "undecodable", which is refused.  The decisions are made here.
 *
 * Copyright (C) 2026 ipcguard developers
 *
 * This program is free software; you can redistribute it and/or modify
 * it under the terms of the GNU General Public License as published by
 * the Free Software Foundation; either version 3 of the License, or
 * (at your option) any later version.
 */

#ifndef IPCGUARD_REGISTRY_H
#define IPCGUARD_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <talloc.h>

#define IPCGUARD_OPT_REMOTE_REGISTRY_ACCESS "remote registry access"
#define IPCGUARD_OPT_REGISTRY_EXACT_PATHS "remotely accessible registry paths"
#define IPCGUARD_OPT_REGISTRY_PATHS \
	"remotely accessible registry paths and subpaths"

/* The ACL Windows puts on SecurePipeServers\winreg: Administrators,
 * Backup Operators, Local Service. */
#define IPCGUARD_REMOTE_REGISTRY_ACCESS_DEFAULT \
	"O:BAG:BAD:(A;;RC;;;BA)(A;;RC;;;BO)(A;;RC;;;LS)"

/* Windows' AllowedExactPaths and AllowedPaths, relative to HKLM. */
#define IPCGUARD_REGISTRY_EXACT_PATHS_DEFAULT \
	"System\\CurrentControlSet\\Control\\ProductOptions, " \
	"System\\CurrentControlSet\\Control\\Server Applications, " \
	"Software\\Microsoft\\Windows NT\\CurrentVersion"
#define IPCGUARD_REGISTRY_PATHS_DEFAULT \
	"System\\CurrentControlSet\\Control\\Print\\Printers, " \
	"System\\CurrentControlSet\\Services\\Eventlog, " \
	"Software\\Microsoft\\OLAP Server, " \
	"Software\\Microsoft\\Windows NT\\CurrentVersion\\Print, " \
	"Software\\Microsoft\\Windows NT\\CurrentVersion\\Windows, " \
	"System\\CurrentControlSet\\Control\\ContentIndex, " \
	"System\\CurrentControlSet\\Control\\Terminal Server, " \
	"System\\CurrentControlSet\\Control\\Terminal Server\\UserConfig, " \
	"System\\CurrentControlSet\\Control\\Terminal Server\\" \
	"DefaultUserConfiguration, " \
	"Software\\Microsoft\\Windows NT\\CurrentVersion\\Perflib, " \
	"System\\CurrentControlSet\\Services\\SysmonLog"

#define IPCGUARD_RULE_REMOTE_REGISTRY_PATHS "remote-registry-paths"

/* [MS-RRP] / Samba's winreg.idl. */
#define IPCGUARD_WINREG_UUID "338cd001-2244-31f1-aaaa-900038001003"

enum ipcguard_winreg_opnum {
	IPCGUARD_WINREG_OPEN_HKCR = 0,
	IPCGUARD_WINREG_OPEN_HKLM = 2,
	IPCGUARD_WINREG_CLOSE_KEY = 5,
	IPCGUARD_WINREG_ENUM_KEY = 9,
	IPCGUARD_WINREG_ENUM_VALUE = 10,
	IPCGUARD_WINREG_FLUSH_KEY = 11,
	IPCGUARD_WINREG_GET_KEY_SECURITY = 12,
	IPCGUARD_WINREG_NOTIFY_CHANGE_KEY_VALUE = 14,
	IPCGUARD_WINREG_OPEN_KEY = 15,
	IPCGUARD_WINREG_QUERY_INFO_KEY = 16,
	IPCGUARD_WINREG_QUERY_VALUE = 17,
	IPCGUARD_WINREG_GET_VERSION = 26,
	IPCGUARD_WINREG_QUERY_MULTIPLE_VALUES = 29,
	IPCGUARD_WINREG_QUERY_MULTIPLE_VALUES2 = 34,
};

/* Longest path and list accepted. */
#define IPCGUARD_REGISTRY_MAX_PATH 2048
#define IPCGUARD_REGISTRY_MAX_PATHS 1024

struct ipcguard_remote_registry {
	/* Who has the whole remote registry; NULL: no restriction. */
	char *access_sddl;
	/* access_sddl compiled by the hooks.  NULL with access_sddl set
	 * (no hooks, or it did not parse): nobody is granted. */
	void *sd;
	const char **exact_paths;	/* NULL terminated */
	const char **subpaths;		/* NULL terminated */
};

/*
 * A list option: paths separated by commas, spaces inside a path kept,
 * spaces around it dropped.  Components are separated by one backslash;
 * "/", empty components, "." and ".." and control characters are refused
 * with a message naming the option.
 */
bool ipcguard_parse_registry_paths(TALLOC_CTX *mem_ctx, const char *option,
				   const char *value, const char ***result,
				   char **error);

/* Whether an interface UUID (text order) is winreg's. */
bool ipcguard_registry_is_winreg(const uint8_t uuid[16]);

/* Whether path is a well-formed key path ("" is HKLM itself). */
bool ipcguard_registry_path_valid(const char *path);

/*
 * The key winreg_OpenKey opens: keyname relative to the parent's path,
 * with one trailing backslash dropped, as Samba's reg_openkey() does.
 * NULL when out of memory or when the result is no well-formed path.
 */
char *ipcguard_registry_join(TALLOC_CTX *mem_ctx, const char *parent,
			     const char *keyname);

/* Whether path is listed exactly or is, or is below, a subpaths entry;
 * ASCII case is ignored. */
bool ipcguard_registry_path_allowed(const struct ipcguard_remote_registry *r,
				    const char *path);

/*
 * Whether a caller the access SDDL does not grant may make this winreg
 * call.  path: for OpenKey the key it opens, for other calls the key of
 * their handle, NULL when the gate does not know it; undecodable: the gate
 * could not read the request.  *reason is a static sentence.
 */
bool ipcguard_registry_allows(const struct ipcguard_remote_registry *r,
			      uint16_t opnum, const char *path,
			      bool undecodable, const char **reason);

#endif /* IPCGUARD_REGISTRY_H */
