"""Documentation generated from the registry: the man page httpdw.conf(5) and `httpdw -L`.

Both read the one table of declarations, so they cannot drift from what httpdw checks. The
committed man page is kept in sync by a test; regenerate it with:

    python -m httpdw.config.manpage > man/httpdw.conf.5
"""
from __future__ import annotations

import sys
from itertools import groupby

from httpdw import __version__ as VERSION
from httpdw.config.diagnostics import CODES
from httpdw.config.directives.apache_known import apache_facts
from httpdw.config.registry import Context, DirectiveSpec, Status, Syntax, registry

STATUS_TEXT = {
    Status.IMPLEMENTED: "implemented",
    Status.REMOVED: "Apache 2.0/2.2 directive removed in 2.4; accepted by httpdw",
    Status.IGNORED: "not implemented: ignored with a warning (HDW0105)",
    Status.REFUSED: "not implemented: refused with an error (HDW0106)",
    Status.NOT_APPLICABLE: "another MPM's directive: ignored with a warning (HDW0109)",
}

SYNTAX_TEXT = {
    Syntax.TAKE1: "one argument", Syntax.TAKE2: "two arguments", Syntax.TAKE3: "three arguments",
    Syntax.TAKE12: "one or two arguments", Syntax.TAKE23: "two or three arguments",
    Syntax.TAKE123: "one to three arguments", Syntax.TAKE13: "one or three arguments",
    Syntax.NO_ARGS: "no arguments", Syntax.FLAG: "On|Off", Syntax.ITERATE: "one or more arguments",
    Syntax.ITERATE2: "two or more arguments", Syntax.TAKE_ARGV: "a list of arguments (checked by the directive)",
    Syntax.RAW_ARGS: "free-form arguments (checked by the directive)",
}

OUTSIDE = "only outside <Directory>, <Files>, <Location>, or <If>"
INSIDE = "only inside <Directory>, <Files>, <Location>, or <If>"


# --------------------------------------------------------------------------- shared facts

def source_file(spec: DirectiveSpec) -> str:
    """The Apache source file `-L` shows in parentheses: from the data when known, else derived."""
    facts = apache_facts(spec.name)
    if facts is not None and facts.module.replace("core_module", "core") == spec.module:
        return facts.source
    if spec.module in ("core", "core_module"):
        return "core.c"
    if spec.module.startswith("mpm_"):
        return spec.module[4:-len("_module")] + ".c"
    return "mod_" + spec.module.removesuffix("_module") + ".c"


def module_title(module: str) -> str:
    if module in ("core", "core_module"):
        return "core"
    if module.startswith("mpm_"):
        return f"{module[4:-len('_module')]} MPM"
    return "mod_" + module.removesuffix("_module")


def allowed_text(spec: DirectiveSpec) -> str:
    """Apache -L's "Allowed in *.conf ..." sentence for a declaration's contexts."""
    ctx = spec.contexts
    if ctx & Context.DIRECTORY and ctx & (Context.SERVER | Context.VHOST):
        where = "anywhere"
    elif ctx & Context.DIRECTORY:
        where = INSIDE
    else:
        where = OUTSIDE
    text = f"Allowed in *.conf {where}"
    if ctx & Context.HTACCESS:
        facts = apache_facts(spec.name)
        override = facts.override if facts is not None and facts.override else "when AllowOverride isn't None"
        text += f" and in .htaccess\n\t{override}"
    return text


def contexts_text(spec: DirectiveSpec) -> str:
    names = [("server config", Context.SERVER), ("virtual host", Context.VHOST),
             ("directory", Context.DIRECTORY), (".htaccess", Context.HTACCESS)]
    parts = [label for label, flag in names if spec.contexts & flag]
    if spec.global_only:
        parts = [p for p in parts if p != "virtual host"]
    text = ", ".join(parts)
    if spec.exec_on_read:
        text += " (acted on while the file is read, so accepted inside any section, as in Apache)"
    return text


def default_text(spec: DirectiveSpec) -> str:
    if spec.default_doc:
        return spec.default_doc
    if spec.default is None:
        return "none"
    if isinstance(spec.default, bool):
        return "On" if spec.default else "Off"
    return str(spec.default)


def _module_order(spec: DirectiveSpec) -> tuple[int, str, str]:
    rank = 0 if spec.module in ("core", "core_module") else 1
    return (rank, module_title(spec.module), spec.key)


# --------------------------------------------------------------------------- httpdw -L

def list_directives_text() -> str:
    """`httpdw -L`: every directive httpdw accepts, in Apache's -L layout:

        Name (source.c)
        <TAB>one-line description
        <TAB>Allowed in *.conf ...
    """
    out: list[str] = []
    for spec in sorted(registry(), key=_module_order):
        if spec.status not in (Status.IMPLEMENTED, Status.REMOVED):
            continue
        shown = spec.name if not spec.section else f"<{spec.name.lstrip('<')}"
        out.append(f"{shown} ({source_file(spec)})")
        out.append(f"\t{spec.doc}")
        if spec.status is Status.REMOVED:
            out.append(f"\t{spec.note or STATUS_TEXT[spec.status]}")
        elif spec.alias_of:
            out.append(f"\tSame as {spec.alias_of} (older name)")
        out.append(f"\t{allowed_text(spec)}")
        if spec.global_only:
            out.append("\tNot allowed in <VirtualHost>")
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------- man page

def roff_escape(text: str) -> str:
    """Text safe in a roff line: backslashes, leading dots/quotes, hyphens in words."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    if text.startswith((".", "'")):
        text = "\\&" + text
    return text


def _section_header(title: str) -> list[str]:
    return [f".SS \"{roff_escape(title)}\""]


def _implemented_entry(spec: DirectiveSpec) -> list[str]:
    shown = spec.name if not spec.section else f"<{spec.name.lstrip('<')}> ... </{spec.name.lstrip('<')}>"
    lines = [".TP", f".B {roff_escape(shown)}", roff_escape(spec.doc), ".br"]
    fields = [("Syntax", SYNTAX_TEXT[spec.syntax]), ("Context", contexts_text(spec)),
              ("Default", default_text(spec)), ("Status", STATUS_TEXT[spec.status])]
    if spec.alias_of:
        fields.append(("Alias of", spec.alias_of))
    if spec.since:
        fields.append(("Since", spec.since))
    if spec.note:
        fields.append(("Note", spec.note))
    for label, value in fields:
        lines += [f"\\fI{label}:\\fR {roff_escape(value)}", ".br"]
    lines.pop()   # no break after the last field
    return lines


def _unimplemented_module(specs: list[DirectiveSpec]) -> list[str]:
    """One paragraph per verdict of a module: "refused (reason): A, B, C." — a long list stays short."""
    verdicts = {Status.IGNORED: "ignored", Status.REFUSED: "refused", Status.NOT_APPLICABLE: "not applicable"}
    lines: list[str] = []
    key = lambda s: (verdicts[s.status], s.note if s.status is not Status.IGNORED else "")
    for (verdict, reason), group in groupby(sorted(specs, key=key), key=key):
        names = ", ".join(s.name if not s.section else f"<{s.name.lstrip('<')}>" for s in group)
        head = f"{verdict} ({reason})" if reason else verdict
        lines += [".PP", f"\\fI{roff_escape(head)}:\\fR {roff_escape(names)}."]
    return lines


HEADER = r""".\" Generated by `python -m httpdw.config.manpage` from httpdw's directive registry: do not edit.
.TH HTTPDW.CONF 5 "" "httpdw {version}" "File Formats"
.SH NAME
httpdw.conf \- configuration file of httpdw, Apache httpd's worker MPM in Python
.SH DESCRIPTION
httpdw reads Apache httpd configuration files (\fIhttpd.conf\fR, Debian's \fI/etc/apache2\fR tree) with
Apache's own rules: one directive per line, names case\-insensitive, \fB#\fR starts a comment only as
the first non\-blank character of a line, a trailing backslash joins the next line, arguments may be
quoted with double or single quotes (an empty \fB""\fR is no argument),
sections are written \fB<Name args>\fR ... \fB</Name>\fR.
\fBInclude\fR, \fBIncludeOptional\fR, \fBDefine\fR, \fB${VAR}\fR and the conditional sections
(\fB<IfModule>\fR, \fB<IfDefine>\fR, \fB<IfVersion>\fR, \fB<IfDirective>\fR, \fB<IfSection>\fR,
\fB<IfFile>\fR) are processed while reading.
.PP
Every directive below is checked for its name, the place it appears in (its context), its number
of arguments and its value, with Apache's wording for each error; \fBhttpdw configtest\fR reports every
problem, not only the first.
.PP
Directives of Apache modules httpdw does not implement are listed at the end. Most are ignored with a
warning. Those that decide who may reach what or how (authentication, access control, TLS, rewriting,
proxying, URL\-to\-application mappings) are refused with an error, because starting without them
would serve what Apache would have refused. Directives of the prefork and event MPMs are ignored with
a warning: httpdw always runs the worker MPM. As in Apache, a directive whose module is not loaded
(no \fBLoadModule\fR) is an unknown command (HDW0107); the modules httpdw implements are always loaded.
.PP
Contexts: \fIserver config\fR is the main configuration outside any section; \fIvirtual host\fR is
inside \fB<VirtualHost>\fR; \fIdirectory\fR is inside \fB<Directory>\fR, \fB<Location>\fR,
\fB<Files>\fR, their \fB*Match\fR forms, \fB<If>\fR and \fB<Limit>\fR.
"""


def render_man() -> str:
    """The whole httpdw.conf(5) page, in roff."""
    specs = sorted(registry(), key=_module_order)
    out = [HEADER.replace("{version}", VERSION).rstrip("\n")]
    out.append(".SH DIRECTIVES")
    implemented = [s for s in specs if s.status in (Status.IMPLEMENTED, Status.REMOVED)]
    for module, group in groupby(implemented, key=lambda s: module_title(s.module)):
        out += _section_header(module)
        for spec in group:
            out += _implemented_entry(spec)
    out.append(".SH \"DIRECTIVES HTTPDW DOES NOT IMPLEMENT\"")
    others = [s for s in specs if s.status not in (Status.IMPLEMENTED, Status.REMOVED)]
    for module, group in groupby(others, key=lambda s: module_title(s.module)):
        out += _section_header(module)
        out += _unimplemented_module(list(group))
    out.append(".SH DIAGNOSTICS")
    out.append("Apache's own AH codes are used where Apache has one for the same condition. httpdw's own codes:")
    for code, meaning in sorted(CODES.items()):
        out += [".TP", f".B {code}", roff_escape(meaning)]
    out += [".SH \"SEE ALSO\"", ".BR httpdw (1),", ".BR apache2 (8)"]
    return "\n".join(out) + "\n"


def main() -> None:
    sys.stdout.write(render_man())


if __name__ == "__main__":
    main()
