#!/usr/bin/env python3
#
# ipcguard is built by the waf of a Samba source tree prepared to match the
# installed Samba exactly (tools/prepare-samba-tree.sh).  tools/build.sh
# links this clone into that tree as ./ipcguard and the tree's top-level
# wscript_build recurses here, so everything below uses Samba's own build
# rules, headers, configure results and library names.  Run `make`, not
# waf, from the clone.

IPCGUARD_VERSION = '0.1.0'


def build(bld):
    import os
    # tools/build.sh sets a fresh id per build; the module and the gate log
    # it, so a test can prove smbd loaded the module it just built.
    build_id = os.environ.get('IPCGUARD_BUILD_ID', 'unknown')
    # A string: SAMBA_MODULE appends its own -D with "+=".
    # The Debian version of the samba package the tree was prepared from.
    samba_package = os.environ.get('IPCGUARD_SAMBA_PACKAGE', 'unknown')
    version_cflags = ('-DIPCGUARD_VERSION="%s" -DIPCGUARD_BUILD_ID="%s" '
                      '-DIPCGUARD_SAMBA_PACKAGE="%s"' % (
                          IPCGUARD_VERSION, build_id, samba_package))

    # Source lists shared by the normal targets and the sanitized gate.
    policy_source = '''source/policy/ipcguard_parse.c
                       source/policy/ipcguard_parse_names.c
                       source/policy/ipcguard_rule.c
                       source/policy/ipcguard_rule_values.c
                       source/policy/ipcguard_rule_match.c
                       source/policy/ipcguard_contexts.c
                       source/policy/ipcguard_calls.c
                       source/policy/ipcguard_network_access.c
                       source/policy/ipcguard_registry.c
                       source/policy/ipcguard_options.c
                       source/policy/ipcguard_policy.c
                       source/policy/ipcguard_decide.c
                       source/policy/ipcguard_tcp.c'''
    policy_deps = 'talloc'
    common_source = '''source/common/ipcguard_session.c
                       source/common/ipcguard_gate_probe.c
                       source/common/ipcguard_audit.c
                       source/common/ipcguard_smbconf.c
                       source/common/ipcguard_samba_hooks.c
                       source/common/ipcguard_ruledb.c
                       source/common/ipcguard_last_valid.c
                       source/common/ipcguard_load.c
                       source/common/ipcguard_nft.c'''
    common_deps = 'samba-security smbconf common_auth jansson ldb ndr-samba4'
    gate_source = '''source/gate/gate_main.c
                     source/gate/gate_policy.c
                     source/gate/gate_listener.c
                     source/gate/gate_accept.c
                     source/gate/gate_control.c
                     source/gate/gate_conn.c
                     source/gate/gate_bounds.c
                     source/gate/gate_refuse.c
                     source/gate/gate_relay.c
                     source/gate/gate_relay_io.c
                     source/gate/gate_winreg.c
                     source/gate/gate_tcp.c
                     source/gate/gate_tcp_auth.c
                     source/gate/gate_tcp_ports.c'''
    gate_deps = '''talloc tevent CMDLINE_S3 samba3core smbconf msrpc3
                   npa_tstream dcerpc-binding ndr-samba ndr-standard
                   samba-security
                   server_id_db samba-sockets cliauth'''
    # Find the distribution's private Samba libraries the way Debian's own
    # binaries do.
    rpath_ldflags = '-Wl,--enable-new-dtags,-rpath,%s' % bld.env.PRIVATELIBDIR

    # The policy engine: pure logic, talloc only, no Samba library.
    bld.SAMBA_SUBSYSTEM('ipcguard_policy',
                        source=policy_source,
                        includes='source/policy',
                        deps=policy_deps)

    # What the module, the gate and the tool share on Samba's side:
    # session classification, the gate probe, the rule database and the
    # policy loader, the last valid policy store, and the hooks rules use.
    bld.SAMBA3_SUBSYSTEM('ipcguard_samba',
                         source=common_source,
                         includes='source/policy source/common',
                         deps='ipcguard_policy ' + common_deps)

    bld.SAMBA3_MODULE('vfs_ipcguard',
                      subsystem='vfs',
                      source='source/module/vfs_ipcguard.c',
                      includes='source/policy source/common',
                      deps='ipcguard_samba smbd_base samba-debug',
                      cflags=version_cflags,
                      init_function='vfs_ipcguard_init',
                      internal_module=False,
                      enabled=True,
                      install=False)

    bld.SAMBA3_BINARY('ipcguardd',
                      source=gate_source,
                      includes='source/policy source/common',
                      cflags=version_cflags,
                      deps='ipcguard_samba ' + gate_deps,
                      ldflags=rpath_ldflags,
                      install=False)

    # The gate under gcc's AddressSanitizer and UndefinedBehaviorSanitizer,
    # for the tests only (tests/run.sh, make asan-gate).  Our own code, the
    # gate, the shared Samba-side code and the policy engine, is compiled
    # into it instrumented; Samba's libraries stay as Debian built them
    # (ASan still replaces malloc for them, so an overrun of a talloc chunk
    # by our code is caught at the chunk's end).
    sanitize = ('-fsanitize=address,undefined -fno-omit-frame-pointer '
                '-fno-sanitize-recover=undefined')
    bld.SAMBA3_BINARY('ipcguardd_asan',
                      source=' '.join([gate_source, common_source,
                                       policy_source]),
                      includes='source/policy source/common',
                      cflags='%s -g -O1 %s' % (version_cflags, sanitize),
                      deps=' '.join([gate_deps, common_deps, policy_deps]),
                      ldflags='%s %s' % (rpath_ldflags, sanitize),
                      install=False)

    bld.SAMBA3_BINARY('ipcguard',
                      source='''source/tool/ipcguard.c
                                source/tool/tool_check.c
                                source/tool/tool_rule.c
                                source/tool/tool_explain.c''',
                      includes='source/policy source/common',
                      cflags=version_cflags,
                      deps='ipcguard_samba talloc CMDLINE_S3 smbconf',
                      ldflags=rpath_ldflags,
                      install=False)

    for name in ('policy', 'rules', 'contexts'):
        bld.SAMBA_BINARY('ipcguard_test_%s' % name,
                         source='tests/unit/test_%s.c' % name,
                         includes='source/policy tests/unit',
                         deps='ipcguard_policy cmocka',
                         install=False)

    # The benchmark's client: Samba's own C client libraries, as rpcclient
    # links them, so the client's time does not hide the gate's.
    bld.SAMBA3_BINARY('ipcguard_bench_client',
                      source='tests/bench/bench_client.c',
                      includes='source/common',
                      deps='''talloc libsmb msrpc3 RPC_NDR_SRVSVC
                              RPC_NDR_SAMR RPC_NDR_EPMAPPER
                              samba-credentials smbconf''',
                      ldflags=rpath_ldflags,
                      install=False)

    # The floor under any relay: one more process passing bytes on.
    bld.SAMBA_BINARY('ipcguard_bench_hop',
                     source='tests/bench/bench_hop.c',
                     cflags='-O2',
                     install=False)

    # The policy engine's decision time with 100 rules.  The engine is
    # compiled into it again with -O2, whatever flags the tree was
    # configured with: a timing of unoptimised code says little.
    bld.SAMBA_BINARY('ipcguard_bench_decide',
                     source='tests/bench/bench_decide.c ' + policy_source,
                     includes='source/policy tests/unit',
                     cflags='-O2',
                     deps=policy_deps,
                     install=False)
