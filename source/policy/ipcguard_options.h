/*
 * ipcguard: the smb.conf options, their defaults and their limits.
 * One table (ipcguard_options.c) defines them for the loader, the
 * messages, the tool and the man pages.
 *
 * Copyright (C) 2026 ipcguard developers
 *
 * This program is free software; you can redistribute it and/or modify
 * it under the terms of the GNU General Public License as published by
 * the Free Software Foundation; either version 3 of the License, or
 * (at your option) any later version.
 */

#ifndef IPCGUARD_OPTIONS_H
#define IPCGUARD_OPTIONS_H

/* The smb.conf options, all parametric options of the form "ipcguard:NAME"
 * in [global].  Their defaults are the secure ones. */
#define IPCGUARD_OPT_NULL_SESSION_SHARES "null session shares"
#define IPCGUARD_OPT_NULL_SESSION_PIPES "null session pipes"
#define IPCGUARD_OPT_RESTRICT_NULL_SESSION_ACCESS \
	"restrict null session access"
#define IPCGUARD_OPT_EVERYONE_INCLUDES_ANONYMOUS "everyone includes anonymous"
#define IPCGUARD_OPT_GUEST_IS_ANONYMOUS "guest is anonymous"
#define IPCGUARD_OPT_AUDIT_ALLOWED "audit allowed"
#define IPCGUARD_OPT_ANONYMOUS_NAME_TRANSLATION \
	"allow anonymous sid name translation"
#define IPCGUARD_OPT_RESTRICT_ANONYMOUS_SAM "restrict anonymous sam"
#define IPCGUARD_OPT_RESTRICT_ANONYMOUS "restrict anonymous"
#define IPCGUARD_OPT_RESTRICT_REMOTE_SAM "restrict remote sam"
#define IPCGUARD_OPT_MAX_PIPES_PER_ANONYMOUS_SESSION \
	"max pipes per anonymous session"
#define IPCGUARD_OPT_MAX_ANONYMOUS_PIPES_PER_ADDRESS \
	"max anonymous pipes per address"
#define IPCGUARD_OPT_MAX_PIPES_PER_SESSION "max pipes per session"
#define IPCGUARD_OPT_MAX_PIPES_PER_ADDRESS "max pipes per address"
#define IPCGUARD_OPT_REFUSED_PIPE_TIMEOUT "refused pipe timeout"
#define IPCGUARD_OPT_GATE_PROBE_TIMEOUT "gate probe timeout"
#define IPCGUARD_OPT_TCP_DOOR_PORT "tcp door port"

struct ipcguard_option_info {
	const char *name;
	const char *default_value;	/* as an admin would write it */
	const char *description;
};

/* All options, in documentation order, NULL-name terminated. */
extern const struct ipcguard_option_info ipcguard_options[];

/*
 * Pipe bounds above this are no bound: each pipe costs the gate one or
 * two file descriptors, and no system gives it millions.
 */
#define IPCGUARD_MAX_PIPE_BOUND 1000000

/*
 * Default bounds.  A legitimate anonymous client (name lookups over LSA,
 * a printer, a NAS) holds one or two pipes; hundreds from one session are
 * a hog.  Authenticated tools hold more, and many users may sit behind
 * one address (NAT, a terminal server), hence the higher figures.  With
 * each pipe costing the gate up to two descriptors, one anonymous address
 * can take at most 512 of the tens of thousands the gate has.
 */
#define IPCGUARD_DEFAULT_ANON_PER_SESSION 32
#define IPCGUARD_DEFAULT_ANON_PER_ADDRESS 256
#define IPCGUARD_DEFAULT_PER_SESSION 512
#define IPCGUARD_DEFAULT_PER_ADDRESS 2048
#define IPCGUARD_DEFAULT_REFUSED_PIPE_TIMEOUT 10
/* A gate answers its control socket in microseconds; one that takes
 * seconds is hung, and a tree connect should not wait on it longer. */
#define IPCGUARD_DEFAULT_GATE_PROBE_TIMEOUT 2000

/* The default value of an option, as an admin would write it. */
const char *ipcguard_option_default(const char *option);

#endif /* IPCGUARD_OPTIONS_H */
