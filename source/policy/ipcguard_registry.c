/*
 * ipcguard: remotely accessible registry paths.  See ipcguard_registry.h.
 *
 * Copyright (C) 2026 ipcguard developers
 *
 * This program is free software; you can redistribute it and/or modify
 * it under the terms of the GNU General Public License as published by
 * the Free Software Foundation; either version 3 of the License, or
 * (at your option) any later version.
 */

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "ipcguard_registry.h"

#define WHY_HIVE "only HKEY_LOCAL_MACHINE is remotely accessible to callers " \
	"ipcguard:remote registry access does not grant"
#define WHY_OPERATION "callers ipcguard:remote registry access does not " \
	"grant may only open and read remotely accessible registry paths"
#define WHY_UNDECODABLE "the gate could not read the winreg request " \
	"(sealed, signed, fragmented or malformed), so its key is unknown"
#define WHY_UNKNOWN_HANDLE "the request's key handle is unknown to the gate"
#define WHY_PATH "the registry key is not a remotely accessible registry " \
	"path"
#define WHY_ALLOWED "the registry key is a remotely accessible registry path"
#define WHY_ALWAYS "opening HKLM, closing a key and asking the version " \
	"are always allowed"

/* Why a path is refused, or NULL when it is fine. */
static const char *path_problem(const char *path, size_t len)
{
	size_t start = 0, i;

	if (len == 0) {
		return "is empty";
	}
	if (len > IPCGUARD_REGISTRY_MAX_PATH) {
		return "is too long";
	}
	for (i = 0; i <= len; i++) {
		unsigned char c = i < len ? (unsigned char)path[i] : '\\';

		if (c < 0x20 || c == 0x7f) {
			return "contains a control character";
		}
		if (c == '/') {
			return "contains \"/\"; components are separated by "
			       "\"\\\"";
		}
		if (c != '\\') {
			continue;
		}
		if (i == start) {
			return "has an empty component";
		}
		if ((i - start == 1 && path[start] == '.') ||
		    (i - start == 2 && path[start] == '.' &&
		     path[start + 1] == '.')) {
			return "has a \".\" or \"..\" component";
		}
		start = i + 1;
	}
	return NULL;
}

bool ipcguard_registry_is_winreg(const uint8_t uuid[16])
{
	/* IPCGUARD_WINREG_UUID, byte for byte: asked on every request. */
	static const uint8_t winreg[16] = {
		0x33, 0x8c, 0xd0, 0x01, 0x22, 0x44, 0x31, 0xf1,
		0xaa, 0xaa, 0x90, 0x00, 0x38, 0x00, 0x10, 0x03,
	};

	return memcmp(uuid, winreg, sizeof(winreg)) == 0;
}

bool ipcguard_registry_path_valid(const char *path)
{
	if (path == NULL) {
		return false;
	}
	return path[0] == '\0' || path_problem(path, strlen(path)) == NULL;
}

bool ipcguard_parse_registry_paths(TALLOC_CTX *mem_ctx, const char *option,
				   const char *value, const char ***result,
				   char **error)
{
	const char **list = NULL;
	const char *p = value;
	size_t count = 0;

	*error = NULL;
	*result = NULL;
	list = talloc_zero_array(mem_ctx, const char *, 1);
	if (list == NULL) {
		goto nomem;
	}
	while (p != NULL && *p != '\0') {
		const char *end = strchr(p, ',');
		size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
		const char *why = NULL;
		const char **tmp = NULL;

		while (len > 0 && isspace((unsigned char)*p)) {
			p++;
			len--;
		}
		while (len > 0 && isspace((unsigned char)p[len - 1])) {
			len--;
		}
		/* "a, b," and "" are lists; only an entry must be a path. */
		if (len == 0) {
			p = end != NULL ? end + 1 : NULL;
			continue;
		}
		why = path_problem(p, len);
		if (why != NULL) {
			*error = talloc_asprintf(
				mem_ctx, "ipcguard:%s: registry path "
				"\"%.*s\" %s", option,
				(int)(len > 200 ? 200 : len), p, why);
			goto fail;
		}
		if (count >= IPCGUARD_REGISTRY_MAX_PATHS) {
			*error = talloc_asprintf(
				mem_ctx, "ipcguard:%s has more than %d paths",
				option, IPCGUARD_REGISTRY_MAX_PATHS);
			goto fail;
		}
		tmp = talloc_realloc(mem_ctx, list, const char *, count + 2);
		if (tmp == NULL) {
			goto nomem;
		}
		list = tmp;
		list[count] = talloc_strndup(list, p, len);
		if (list[count] == NULL) {
			goto nomem;
		}
		list[++count] = NULL;
		p = end != NULL ? end + 1 : NULL;
	}
	*result = list;
	return true;
nomem:
	*error = talloc_strdup(mem_ctx, "out of memory");
fail:
	TALLOC_FREE(list);
	return false;
}

char *ipcguard_registry_join(TALLOC_CTX *mem_ctx, const char *parent,
			     const char *keyname)
{
	size_t len;
	char *path = NULL;

	if (parent == NULL || keyname == NULL) {
		return NULL;
	}
	len = strlen(keyname);
	/* reg_openkey() drops one trailing backslash. */
	if (len > 0 && keyname[len - 1] == '\\') {
		len--;
	}
	if (len == 0) {
		/* A second handle to the parent's key. */
		path = talloc_strdup(mem_ctx, parent);
	} else if (parent[0] == '\0') {
		path = talloc_strndup(mem_ctx, keyname, len);
	} else {
		path = talloc_asprintf(mem_ctx, "%s\\%.*s", parent, (int)len,
				       keyname);
	}
	if (path != NULL && !ipcguard_registry_path_valid(path)) {
		TALLOC_FREE(path);
	}
	return path;
}

bool ipcguard_registry_path_allowed(const struct ipcguard_remote_registry *r,
				    const char *path)
{
	size_t i;

	if (r == NULL || path == NULL || path[0] == '\0' ||
	    !ipcguard_registry_path_valid(path)) {
		return false;
	}
	for (i = 0; r->exact_paths != NULL && r->exact_paths[i] != NULL;
	     i++) {
		if (strcasecmp(r->exact_paths[i], path) == 0) {
			return true;
		}
	}
	for (i = 0; r->subpaths != NULL && r->subpaths[i] != NULL; i++) {
		size_t len = strlen(r->subpaths[i]);

		/* Below means below a component: not "...\EventlogX". */
		if (strncasecmp(r->subpaths[i], path, len) == 0 &&
		    (path[len] == '\0' || path[len] == '\\')) {
			return true;
		}
	}
	return false;
}

bool ipcguard_registry_allows(const struct ipcguard_remote_registry *r,
			      uint16_t opnum, const char *path,
			      bool undecodable, const char **reason)
{
	bool needs_path = false;

	switch (opnum) {
	case IPCGUARD_WINREG_CLOSE_KEY:
	case IPCGUARD_WINREG_GET_VERSION:
	case IPCGUARD_WINREG_OPEN_HKLM:
		break;
	case IPCGUARD_WINREG_OPEN_KEY:
	case IPCGUARD_WINREG_ENUM_KEY:
	case IPCGUARD_WINREG_ENUM_VALUE:
	case IPCGUARD_WINREG_FLUSH_KEY:
	case IPCGUARD_WINREG_GET_KEY_SECURITY:
	case IPCGUARD_WINREG_NOTIFY_CHANGE_KEY_VALUE:
	case IPCGUARD_WINREG_QUERY_INFO_KEY:
	case IPCGUARD_WINREG_QUERY_VALUE:
	case IPCGUARD_WINREG_QUERY_MULTIPLE_VALUES:
	case IPCGUARD_WINREG_QUERY_MULTIPLE_VALUES2:
		needs_path = true;
		break;
	case IPCGUARD_WINREG_OPEN_HKCR:
	case 1:		/* OpenHKCU */
	case 3:		/* OpenHKPD */
	case 4:		/* OpenHKU */
	case 27:	/* OpenHKCC */
	case 28:	/* OpenHKDD */
	case 32:	/* OpenHKPT */
	case 33:	/* OpenHKPN */
		*reason = WHY_HIVE;
		return false;
	default:
		*reason = WHY_OPERATION;
		return false;
	}
	/* The server must act on what was judged. */
	if (undecodable) {
		*reason = WHY_UNDECODABLE;
		return false;
	}
	if (!needs_path) {
		*reason = WHY_ALWAYS;
		return true;
	}
	if (path == NULL) {
		*reason = WHY_UNKNOWN_HANDLE;
		return false;
	}
	if (!ipcguard_registry_path_allowed(r, path)) {
		*reason = WHY_PATH;
		return false;
	}
	*reason = WHY_ALLOWED;
	return true;
}
