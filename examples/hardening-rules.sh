#!/bin/sh
# Ready-made ipcguard rules (see ipcguard(8), RULE EXAMPLES).
#
#   hardening-rules.sh EXAMPLE [ipcguard options, e.g. -s /etc/samba/smb.conf]
#
# EXAMPLE is one of
#   printer-bug          refuse RpcRemoteFindFirstPrinterChangeNotification
#                        and its Ex twin (MS-RPRN opnums 62 and 65; Samba
#                        names them RouterFindFirstPrinterChangeNotification
#                        and RemoteFindFirstPrinterChangeNotifyEx), the
#                        "printer bug" coercion, to everyone but
#                        administrators and Samba's own SYSTEM clients
#   own-interfaces       refuse binds and alter contexts to interfaces a pipe
#                        does not normally carry
#   anonymous-lsa-names  anonymous callers may only translate names to SIDs
#                        through LSA (\lsarpc, \lsass, \netlogon), nothing
#                        else: no SIDs to names, so no RID cycling
#   all                  the three together
#
# Rules are added to the rule database; apply them with
#   smbcontrol smbd reload-config; smbcontrol ipcguardd reload-config
# Set IPCGUARD to the tool's path if it is not on PATH.
# A rule's pipe names hold on their aliases (lsarpc: lsass; ntsvcs:
# plugplay), and its interfaces on every pipe that carries them (lsarpc on
# netlogon): see ipcguard(8), RULES.
set -eu

IPCGUARD=${IPCGUARD:-ipcguard}
example=${1:-}
[ $# -gt 0 ] && shift

add() {
	"$IPCGUARD" "$@" >/dev/null
}

printer_bug() {
	add "$@" rule add printer-bug action=deny order=100 \
		pipe=spoolss interface=spoolss \
		opnum=62,65 \
		'sddl=D:(A;;GA;;;BA)(A;;GA;;;SY)' \
		'description=printer bug: only administrators may make the spooler call back'
}

# pipe:interfaces it carries in Samba 4.17.  The aliases lsass and plugplay
# get the rules of lsarpc and ntsvcs, and netlogon lsarpc's rule for the
# LSA it carries on a classic domain controller.
own_interfaces() {
	for entry in lsarpc:lsarpc,dssetup samr:samr \
	    spoolss:spoolss srvsvc:srvsvc wkssvc:wkssvc winreg:winreg \
	    netlogon:netlogon epmapper:epmapper svcctl:svcctl \
	    eventlog:eventlog netdfs:netdfs ntsvcs:ntsvcs \
	    initshutdown:initshutdown fssagentrpc:FileServerVssAgent \
	    mdssvc:mdssvc; do
		pipe=${entry%%:*}
		add "$@" rule add "$pipe-own-interfaces" action=allow order=200 \
			"pipe=$pipe" "interface=${entry#*:}" \
			"description=interfaces \\$pipe carries"
	done
	add "$@" rule add other-interfaces action=deny order=210 'pipe=*' \
		'interface=*' \
		'description=no interface through a pipe that does not carry it'
}

anonymous_lsa_names() {
	add "$@" rule add anon-lsa-bind action=allow order=300 \
		session=anonymous pipe=lsarpc interface=lsarpc \
		'description=anonymous callers bind LSA (lsarpc, lsass, netlogon)'
	add "$@" rule add anon-lsa-no-other-interface action=deny order=305 \
		session=anonymous pipe=lsarpc 'interface=*' \
		'description=and no other interface'
	add "$@" rule add anon-lsa-translation action=allow order=310 \
		session=anonymous pipe=lsarpc interface=lsarpc \
		opnum=Close,OpenPolicy,OpenPolicy2,LookupNames,LookupNames2,LookupNames3,LookupNames4 \
		'description=anonymous name to SID translation; SIDs to names (RID cycling) stays refused'
	add "$@" rule add anon-lsa-nothing-else action=deny order=320 \
		session=anonymous pipe=lsarpc 'interface=*' 'opnum=*' \
		'description=no other LSA call for anonymous callers'
}

case "$example" in
printer-bug) printer_bug "$@" ;;
own-interfaces) own_interfaces "$@" ;;
anonymous-lsa-names) anonymous_lsa_names "$@" ;;
all)
	printer_bug "$@"
	own_interfaces "$@"
	anonymous_lsa_names "$@"
	;;
*)
	sed -n '2,24p' "$0" >&2
	exit 2
	;;
esac
echo "hardening-rules: added '$example'; apply with smbcontrol smbd" \
	"reload-config and smbcontrol ipcguardd reload-config"
