"""The Apache 2.4 modules httpdw knows, and what httpdw does with each.

One table: module identifier (`mime_module`, what LoadModule and <IfModule> name), the source file
Apache records for it (`mod_mime.c`, the other name <IfModule> accepts), the Debian .so file
(`mod_mime.so`) and httpdw's status:

* BUILTIN   - compiled into Apache itself (and into httpdw): always loaded;
* PROVIDED  - implemented by httpdw and treated as statically compiled in: always loaded, and a
              `LoadModule` of it is accepted silently (configs written for Apache load them);
* KNOWN     - a real Apache module httpdw does not implement: `LoadModule` of it is accepted with
              warning HDW0108, and it then counts as loaded, so <IfModule> is true and its
              directives are checked (and reported as not implemented);
* OTHER_MPM - event or prefork: `LoadModule` warns HDW0110 (httpdw runs worker); the module counts
              as loaded so <IfModule mpm_event_module> settings apply, and prefork's directives are
              reported as not applicable by validation.

`PROVIDED_MODULES` below is the one list to edit when httpdw implements another module.
"""
from __future__ import annotations

import enum
import functools
import os
from dataclasses import dataclass
from typing import Collection, Iterable

from httpdw.config.tree import split_words


class ModuleStatus(enum.Enum):
    BUILTIN = "built-in"
    PROVIDED = "provided"
    KNOWN = "known, not implemented"
    OTHER_MPM = "other MPM"


@dataclass(frozen=True)
class Module:
    identifier: str          #: "mime_module"
    source: str              #: "mod_mime.c" (what Apache records; <IfModule mod_mime.c>)
    so_file: str | None      #: "mod_mime.so" (None for core, which is never a shared object)
    status: ModuleStatus
    third_party: bool = False   #: not part of the Apache httpd distribution

    @property
    def always_loaded(self) -> bool:
        return self.status in (ModuleStatus.BUILTIN, ModuleStatus.PROVIDED)


#: Compiled into Apache itself (Debian's `apache2 -l`) plus the worker MPM, which httpdw *is*.
BUILTIN_MODULES = ("core_module", "http_module", "so_module", "watchdog_module", "log_config_module",
                   "logio_module", "version_module", "unixd_module", "mpm_worker_module")

#: Implemented by httpdw (the HTTP issue's list): core serving, mod_mime, mod_dir, mod_alias,
#: mod_autoindex, mod_status, mod_authz_core, mod_authz_host, mod_access_compat (mod_log_config is
#: built in). Add a module here when httpdw implements it.
PROVIDED_MODULES = ("mime_module", "dir_module", "alias_module", "autoindex_module", "status_module",
                    "authz_core_module", "authz_host_module", "access_compat_module")

#: The MPMs httpdw does not run (it runs worker, whatever LoadModule says).
OTHER_MPMS = ("mpm_event_module", "mpm_prefork_module")

# The modules of Apache 2.4.71 as Debian ships them: every .so file in /usr/lib/apache2/modules,
# identifier = its exported *_module symbol, source = the module's recorded file name. Generated once
# (Debian apache2 2.4.71) with:
#   for f in /usr/lib/apache2/modules/mod_*.so; do
#     nm -D --defined-only $f | awk '$3 ~ /_module$/ {print $3}'; strings $f | grep -x '[a-z_0-9]*\.c'
#   done
# (the source is mod_x.c for mod_x.so, except the MPMs' event.c/prefork.c/worker.c and util_ldap.c).
_DEBIAN_SHARED_MODULES: tuple[tuple[str, str, str], ...] = (
    ("access_compat_module", "mod_access_compat.c", "mod_access_compat.so"),
    ("actions_module", "mod_actions.c", "mod_actions.so"),
    ("alias_module", "mod_alias.c", "mod_alias.so"),
    ("allowmethods_module", "mod_allowmethods.c", "mod_allowmethods.so"),
    ("asis_module", "mod_asis.c", "mod_asis.so"),
    ("auth_basic_module", "mod_auth_basic.c", "mod_auth_basic.so"),
    ("auth_digest_module", "mod_auth_digest.c", "mod_auth_digest.so"),
    ("auth_form_module", "mod_auth_form.c", "mod_auth_form.so"),
    ("authn_anon_module", "mod_authn_anon.c", "mod_authn_anon.so"),
    ("authn_core_module", "mod_authn_core.c", "mod_authn_core.so"),
    ("authn_dbd_module", "mod_authn_dbd.c", "mod_authn_dbd.so"),
    ("authn_dbm_module", "mod_authn_dbm.c", "mod_authn_dbm.so"),
    ("authn_file_module", "mod_authn_file.c", "mod_authn_file.so"),
    ("authn_socache_module", "mod_authn_socache.c", "mod_authn_socache.so"),
    ("authnz_fcgi_module", "mod_authnz_fcgi.c", "mod_authnz_fcgi.so"),
    ("authnz_ldap_module", "mod_authnz_ldap.c", "mod_authnz_ldap.so"),
    ("authz_core_module", "mod_authz_core.c", "mod_authz_core.so"),
    ("authz_dbd_module", "mod_authz_dbd.c", "mod_authz_dbd.so"),
    ("authz_dbm_module", "mod_authz_dbm.c", "mod_authz_dbm.so"),
    ("authz_groupfile_module", "mod_authz_groupfile.c", "mod_authz_groupfile.so"),
    ("authz_host_module", "mod_authz_host.c", "mod_authz_host.so"),
    ("authz_owner_module", "mod_authz_owner.c", "mod_authz_owner.so"),
    ("authz_user_module", "mod_authz_user.c", "mod_authz_user.so"),
    ("autoindex_module", "mod_autoindex.c", "mod_autoindex.so"),
    ("brotli_module", "mod_brotli.c", "mod_brotli.so"),
    ("bucketeer_module", "mod_bucketeer.c", "mod_bucketeer.so"),
    ("buffer_module", "mod_buffer.c", "mod_buffer.so"),
    ("cache_module", "mod_cache.c", "mod_cache.so"),
    ("cache_disk_module", "mod_cache_disk.c", "mod_cache_disk.so"),
    ("cache_socache_module", "mod_cache_socache.c", "mod_cache_socache.so"),
    ("case_filter_module", "mod_case_filter.c", "mod_case_filter.so"),
    ("case_filter_in_module", "mod_case_filter_in.c", "mod_case_filter_in.so"),
    ("cern_meta_module", "mod_cern_meta.c", "mod_cern_meta.so"),
    ("cgi_module", "mod_cgi.c", "mod_cgi.so"),
    ("cgid_module", "mod_cgid.c", "mod_cgid.so"),
    ("charset_lite_module", "mod_charset_lite.c", "mod_charset_lite.so"),
    ("data_module", "mod_data.c", "mod_data.so"),
    ("dav_module", "mod_dav.c", "mod_dav.so"),
    ("dav_fs_module", "mod_dav_fs.c", "mod_dav_fs.so"),
    ("dav_lock_module", "mod_dav_lock.c", "mod_dav_lock.so"),
    ("dbd_module", "mod_dbd.c", "mod_dbd.so"),
    ("deflate_module", "mod_deflate.c", "mod_deflate.so"),
    ("dialup_module", "mod_dialup.c", "mod_dialup.so"),
    ("dir_module", "mod_dir.c", "mod_dir.so"),
    ("dumpio_module", "mod_dumpio.c", "mod_dumpio.so"),
    ("echo_module", "mod_echo.c", "mod_echo.so"),
    ("env_module", "mod_env.c", "mod_env.so"),
    ("expires_module", "mod_expires.c", "mod_expires.so"),
    ("ext_filter_module", "mod_ext_filter.c", "mod_ext_filter.so"),
    ("file_cache_module", "mod_file_cache.c", "mod_file_cache.so"),
    ("filter_module", "mod_filter.c", "mod_filter.so"),
    ("headers_module", "mod_headers.c", "mod_headers.so"),
    ("heartbeat_module", "mod_heartbeat.c", "mod_heartbeat.so"),
    ("heartmonitor_module", "mod_heartmonitor.c", "mod_heartmonitor.so"),
    ("http2_module", "mod_http2.c", "mod_http2.so"),
    ("ident_module", "mod_ident.c", "mod_ident.so"),
    ("imagemap_module", "mod_imagemap.c", "mod_imagemap.so"),
    ("include_module", "mod_include.c", "mod_include.so"),
    ("info_module", "mod_info.c", "mod_info.so"),
    ("lbmethod_bybusyness_module", "mod_lbmethod_bybusyness.c", "mod_lbmethod_bybusyness.so"),
    ("lbmethod_byrequests_module", "mod_lbmethod_byrequests.c", "mod_lbmethod_byrequests.so"),
    ("lbmethod_bytraffic_module", "mod_lbmethod_bytraffic.c", "mod_lbmethod_bytraffic.so"),
    ("lbmethod_heartbeat_module", "mod_lbmethod_heartbeat.c", "mod_lbmethod_heartbeat.so"),
    ("ldap_module", "util_ldap.c", "mod_ldap.so"),
    ("log_debug_module", "mod_log_debug.c", "mod_log_debug.so"),
    ("log_forensic_module", "mod_log_forensic.c", "mod_log_forensic.so"),
    ("lua_module", "mod_lua.c", "mod_lua.so"),
    ("macro_module", "mod_macro.c", "mod_macro.so"),
    ("md_module", "mod_md.c", "mod_md.so"),
    ("mime_module", "mod_mime.c", "mod_mime.so"),
    ("mime_magic_module", "mod_mime_magic.c", "mod_mime_magic.so"),
    ("mpm_event_module", "event.c", "mod_mpm_event.so"),
    ("mpm_prefork_module", "prefork.c", "mod_mpm_prefork.so"),
    ("mpm_worker_module", "worker.c", "mod_mpm_worker.so"),
    ("negotiation_module", "mod_negotiation.c", "mod_negotiation.so"),
    ("proxy_module", "mod_proxy.c", "mod_proxy.so"),
    ("proxy_ajp_module", "mod_proxy_ajp.c", "mod_proxy_ajp.so"),
    ("proxy_balancer_module", "mod_proxy_balancer.c", "mod_proxy_balancer.so"),
    ("proxy_connect_module", "mod_proxy_connect.c", "mod_proxy_connect.so"),
    ("proxy_express_module", "mod_proxy_express.c", "mod_proxy_express.so"),
    ("proxy_fcgi_module", "mod_proxy_fcgi.c", "mod_proxy_fcgi.so"),
    ("proxy_fdpass_module", "mod_proxy_fdpass.c", "mod_proxy_fdpass.so"),
    ("proxy_ftp_module", "mod_proxy_ftp.c", "mod_proxy_ftp.so"),
    ("proxy_hcheck_module", "mod_proxy_hcheck.c", "mod_proxy_hcheck.so"),
    ("proxy_html_module", "mod_proxy_html.c", "mod_proxy_html.so"),
    ("proxy_http_module", "mod_proxy_http.c", "mod_proxy_http.so"),
    ("proxy_http2_module", "mod_proxy_http2.c", "mod_proxy_http2.so"),
    ("proxy_scgi_module", "mod_proxy_scgi.c", "mod_proxy_scgi.so"),
    ("proxy_uwsgi_module", "mod_proxy_uwsgi.c", "mod_proxy_uwsgi.so"),
    ("proxy_wstunnel_module", "mod_proxy_wstunnel.c", "mod_proxy_wstunnel.so"),
    ("ratelimit_module", "mod_ratelimit.c", "mod_ratelimit.so"),
    ("reflector_module", "mod_reflector.c", "mod_reflector.so"),
    ("remoteip_module", "mod_remoteip.c", "mod_remoteip.so"),
    ("reqtimeout_module", "mod_reqtimeout.c", "mod_reqtimeout.so"),
    ("request_module", "mod_request.c", "mod_request.so"),
    ("rewrite_module", "mod_rewrite.c", "mod_rewrite.so"),
    ("sed_module", "mod_sed.c", "mod_sed.so"),
    ("session_module", "mod_session.c", "mod_session.so"),
    ("session_cookie_module", "mod_session_cookie.c", "mod_session_cookie.so"),
    ("session_crypto_module", "mod_session_crypto.c", "mod_session_crypto.so"),
    ("session_dbd_module", "mod_session_dbd.c", "mod_session_dbd.so"),
    ("setenvif_module", "mod_setenvif.c", "mod_setenvif.so"),
    ("slotmem_plain_module", "mod_slotmem_plain.c", "mod_slotmem_plain.so"),
    ("slotmem_shm_module", "mod_slotmem_shm.c", "mod_slotmem_shm.so"),
    ("socache_dbm_module", "mod_socache_dbm.c", "mod_socache_dbm.so"),
    ("socache_memcache_module", "mod_socache_memcache.c", "mod_socache_memcache.so"),
    ("socache_redis_module", "mod_socache_redis.c", "mod_socache_redis.so"),
    ("socache_shmcb_module", "mod_socache_shmcb.c", "mod_socache_shmcb.so"),
    ("speling_module", "mod_speling.c", "mod_speling.so"),
    ("ssl_module", "mod_ssl.c", "mod_ssl.so"),
    ("status_module", "mod_status.c", "mod_status.so"),
    ("substitute_module", "mod_substitute.c", "mod_substitute.so"),
    ("suexec_module", "mod_suexec.c", "mod_suexec.so"),
    ("unique_id_module", "mod_unique_id.c", "mod_unique_id.so"),
    ("userdir_module", "mod_userdir.c", "mod_userdir.so"),
    ("usertrack_module", "mod_usertrack.c", "mod_usertrack.so"),
    ("vhost_alias_module", "mod_vhost_alias.c", "mod_vhost_alias.so"),
    ("xml2enc_module", "mod_xml2enc.c", "mod_xml2enc.so"),
)

#: Compiled into Debian's apache2 (`apache2 -l`); RHEL and upstream builds load some as .so files.
_COMPILED_IN: tuple[tuple[str, str, str | None], ...] = (
    ("core_module", "core.c", None),
    ("http_module", "http_core.c", None),
    ("so_module", "mod_so.c", None),
    ("watchdog_module", "mod_watchdog.c", "mod_watchdog.so"),
    ("log_config_module", "mod_log_config.c", "mod_log_config.so"),
    ("logio_module", "mod_logio.c", "mod_logio.so"),
    ("version_module", "mod_version.c", "mod_version.so"),
    ("unixd_module", "mod_unixd.c", "mod_unixd.so"),
)

#: Apache modules other distributions build that Debian does not ship, and Apache 2.0/2.2 modules
#: that old configs still load.
_OTHER_APACHE_MODULES: tuple[tuple[str, str, str], ...] = (
    ("systemd_module", "mod_systemd.c", "mod_systemd.so"),
    ("privileges_module", "mod_privileges.c", "mod_privileges.so"),
    ("optional_hook_export_module", "mod_optional_hook_export.c", "mod_optional_hook_export.so"),
    ("authz_default_module", "mod_authz_default.c", "mod_authz_default.so"),
    ("authn_alias_module", "mod_authn_alias.c", "mod_authn_alias.so"),
    ("authn_default_module", "mod_authn_default.c", "mod_authn_default.so"),
    ("disk_cache_module", "mod_disk_cache.c", "mod_disk_cache.so"),
    ("mem_cache_module", "mod_mem_cache.c", "mod_mem_cache.so"),
)

#: Well-known third-party modules seen in real configs.
_THIRD_PARTY_MODULES: tuple[tuple[str, str, str], ...] = (
    ("php_module", "mod_php.c", "libphp.so"),
    ("php7_module", "mod_php7.c", "libphp7.so"),
    ("php5_module", "mod_php5.c", "libphp5.so"),
    ("php4_module", "mod_php4.c", "libphp4.so"),
    ("wsgi_module", "mod_wsgi.c", "mod_wsgi.so"),
    ("perl_module", "mod_perl.c", "mod_perl.so"),
    ("python_module", "mod_python.c", "mod_python.so"),
    ("security2_module", "mod_security2.c", "mod_security2.so"),
    ("fcgid_module", "mod_fcgid.c", "mod_fcgid.so"),
    ("fastcgi_module", "mod_fastcgi.c", "mod_fastcgi.so"),
    ("rpaf_module", "mod_rpaf.c", "mod_rpaf.so"),
    ("auth_pubtkt_module", "mod_auth_pubtkt.c", "mod_auth_pubtkt.so"),
    ("auth_openidc_module", "mod_auth_openidc.c", "mod_auth_openidc.so"),
    ("auth_mellon_module", "auth_mellon_config.c", "mod_auth_mellon.so"),
    ("auth_kerb_module", "mod_auth_kerb.c", "mod_auth_kerb.so"),
    ("auth_gssapi_module", "mod_auth_gssapi.c", "mod_auth_gssapi.so"),
    ("auth_tkt_module", "mod_auth_tkt.c", "mod_auth_tkt.so"),
    ("authnz_external_module", "mod_authnz_external.c", "mod_authnz_external.so"),
    ("authnz_pam_module", "mod_authnz_pam.c", "mod_authnz_pam.so"),
    ("mpm_itk_module", "mpm_itk.c", "mpm_itk.so"),
    ("ruid2_module", "mod_ruid2.c", "mod_ruid2.so"),
    ("passenger_module", "mod_passenger.c", "mod_passenger.so"),
    ("jk_module", "mod_jk.c", "mod_jk.so"),
    ("dav_svn_module", "mod_dav_svn.c", "mod_dav_svn.so"),
    ("authz_svn_module", "mod_authz_svn.c", "mod_authz_svn.so"),
    ("evasive20_module", "mod_evasive20.c", "mod_evasive20.so"),
    ("evasive_module", "mod_evasive.c", "mod_evasive.so"),
    ("qos_module", "mod_qos.c", "mod_qos.so"),
    ("geoip_module", "mod_geoip.c", "mod_geoip.so"),
    ("maxminddb_module", "mod_maxminddb.c", "mod_maxminddb.so"),
    ("xsendfile_module", "mod_xsendfile.c", "mod_xsendfile.so"),
    ("upload_progress_module", "mod_upload_progress.c", "mod_upload_progress.so"),
    ("pagespeed_module", "mod_instaweb.c", "mod_pagespeed.so"),
    ("cloudflare_module", "mod_cloudflare.c", "mod_cloudflare.so"),
    ("gnutls_module", "mod_gnutls.c", "mod_gnutls.so"),
    ("nss_module", "mod_nss.c", "libmodnss.so"),
    ("shib_module", "mod_shib.cpp", "mod_shib.so"),
    ("mapcache_module", "mod_mapcache.c", "mod_mapcache.so"),
    ("tile_module", "mod_tile.c", "mod_tile.so"),
    ("bw_module", "mod_bw.c", "mod_bw.so"),
    ("cband_module", "mod_cband.c", "mod_cband.so"),
    ("limitipconn_module", "mod_limitipconn.c", "mod_limitipconn.so"),
    ("musicindex_module", "mod_musicindex.c", "mod_musicindex.so"),
    ("dnssd_module", "mod_dnssd.c", "mod_dnssd.so"),
    ("encoding_module", "mod_encoding.c", "mod_encoding.so"),
)


def _status_of(identifier: str) -> ModuleStatus:
    if identifier in BUILTIN_MODULES:
        return ModuleStatus.BUILTIN
    if identifier in PROVIDED_MODULES:
        return ModuleStatus.PROVIDED
    if identifier in OTHER_MPMS:
        return ModuleStatus.OTHER_MPM
    return ModuleStatus.KNOWN


def _build_table() -> dict[str, Module]:
    table: dict[str, Module] = {}
    groups = ((_COMPILED_IN, False), (_DEBIAN_SHARED_MODULES, False), (_OTHER_APACHE_MODULES, False),
              (_THIRD_PARTY_MODULES, True))
    for rows, third_party in groups:
        for identifier, source, so_file in rows:
            if identifier not in table:   # first listing wins (compiled-in before Debian's .so)
                table[identifier] = Module(identifier, source, so_file, _status_of(identifier), third_party)
    return table


#: identifier -> Module, for every module httpdw knows.
MODULES: dict[str, Module] = _build_table()
_BY_SOURCE = {m.source: m for m in MODULES.values()}
_BY_SO_FILE = {m.so_file: m for m in MODULES.values() if m.so_file}


def lookup(name: str) -> Module | None:
    """The module named by its identifier (`mime_module`), source file (`mod_mime.c`) or .so file
    (`mod_mime.so`, or a path to it); None if httpdw does not know it. Case-sensitive, as Apache."""
    if name in MODULES:
        return MODULES[name]
    if name in _BY_SOURCE:
        return _BY_SOURCE[name]
    return _BY_SO_FILE.get(os.path.basename(name))


def source_of(identifier: str) -> str:
    """The source-file name Apache would record for a module: from the table, else the usual
    `mod_<name>.c` (what `<IfModule mod_x.c>` tests for a module httpdw does not know)."""
    module = MODULES.get(identifier)
    if module is not None:
        return module.source
    return "mod_" + identifier.removesuffix("_module") + ".c"


@functools.cache
def always_loaded() -> frozenset[str]:
    """Identifiers of the modules loaded whatever the config says (built in or provided)."""
    return frozenset(m.identifier for m in MODULES.values() if m.always_loaded)


def builtin_modules() -> frozenset[str]:
    """Same as always_loaded() (the name the rules helper's check.py asks for)."""
    return always_loaded()


def parse_ifmodule_arg(arg: str) -> tuple[bool, str]:
    """<IfModule> argument -> (negated, module name), as Apache 2.4.71 reads it.

    Only the first word counts (extra words are ignored), quotes are stripped, and a leading `!`
    negates, blanks allowed after it (`! mpm_worker_module`). The name is "" when missing
    (`<IfModule !>`), which Apache reports as "directive requires additional arguments"."""
    text = arg.strip(" \t\r\f\v")
    negated = text.startswith("!")
    if negated:
        text = text[1:]
    words = split_words(text)
    return negated, (words[0] if words else "")


def is_loaded(ifmodule_arg: str, loaded: Collection[str]) -> bool:
    """Apache's <IfModule> test: is the module named by `ifmodule_arg` (which may start with `!`)
    among `loaded` (identifiers)? The name matches, case-sensitively, a loaded module's identifier
    or its source file name: `mpm_worker_module` and `worker.c` match, `mod_mpm_worker.c`,
    `mpm_worker`, `worker` and `WORKER.C` do not."""
    negated, name = parse_ifmodule_arg(ifmodule_arg)
    return _named_module_loaded(name, loaded) != negated


def _named_module_loaded(name: str, loaded: Collection[str]) -> bool:
    if not name:
        return False
    if name in loaded:
        return True
    by_source = _BY_SOURCE.get(name)
    if by_source is not None:
        return by_source.identifier in loaded
    # a module the table does not know, loaded by LoadModule: Apache would see mod_<name>.c
    if name.startswith("mod_") and name.endswith(".c"):
        guess = name[4:-2] + "_module"
        return guess in loaded and guess not in MODULES
    return False


def modules_provided() -> list[Module]:
    """The modules httpdw has (built in and provided), for `httpdw -M`, in table order."""
    return [m for m in MODULES.values() if m.always_loaded]


def modules_with_status(status: ModuleStatus) -> Iterable[Module]:
    """Every known module with the given status, in table order."""
    return (m for m in MODULES.values() if m.status is status)
