"""Status lines and the default error pages, byte for byte as Apache 2.4 writes them
(modules/http/http_protocol.c: status_lines, get_canned_error_string, ap_send_error_response)."""
from __future__ import annotations


STATUS_LINES: dict[int, str] = {
    100: "Continue", 101: "Switching Protocols", 102: "Processing", 103: "Early Hints",
    200: "OK", 201: "Created", 202: "Accepted", 203: "Non-Authoritative Information", 204: "No Content",
    205: "Reset Content", 206: "Partial Content", 207: "Multi-Status", 208: "Already Reported", 226: "IM Used",
    300: "Multiple Choices", 301: "Moved Permanently", 302: "Found", 303: "See Other", 304: "Not Modified",
    305: "Use Proxy", 307: "Temporary Redirect", 308: "Permanent Redirect",
    400: "Bad Request", 401: "Unauthorized", 402: "Payment Required", 403: "Forbidden", 404: "Not Found",
    405: "Method Not Allowed", 406: "Not Acceptable", 407: "Proxy Authentication Required",
    408: "Request Timeout", 409: "Conflict", 410: "Gone", 411: "Length Required", 412: "Precondition Failed",
    413: "Request Entity Too Large", 414: "Request-URI Too Long", 415: "Unsupported Media Type",
    416: "Requested Range Not Satisfiable", 417: "Expectation Failed", 418: "I'm A Teapot",
    421: "Misdirected Request", 422: "Unprocessable Entity", 423: "Locked", 424: "Failed Dependency",
    425: "Too Early", 426: "Upgrade Required", 428: "Precondition Required", 429: "Too Many Requests",
    431: "Request Header Fields Too Large", 451: "Unavailable For Legal Reasons",
    500: "Internal Server Error", 501: "Not Implemented", 502: "Bad Gateway", 503: "Service Unavailable",
    504: "Gateway Timeout", 505: "HTTP Version Not Supported", 506: "Variant Also Negotiates",
    507: "Insufficient Storage", 508: "Loop Detected", 510: "Not Extended", 511: "Network Authentication Required",
}

#: ap_status_drops_connection: after these the connection is closed
DROPS_CONNECTION = frozenset({400, 408, 411, 413, 414, 417, 500, 501, 503})

DOCTYPE = '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN" "http://www.w3.org/TR/html4/strict.dtd">\n'

#: error-notes texts Apache sets for protocol errors (shown inside the 400 page)
NOTE_FIELD_SIZE = "Size of a request header field exceeds server limit."
NOTE_FIELD_COUNT = "The number of request header fields exceeds this server's limit."


def status_line(status: int) -> str:
    """'404 Not Found'; unknown codes get Apache's fallback (the 500 line)."""
    reason = STATUS_LINES.get(status)
    return f"{status} {reason}" if reason else "500 Internal Server Error"


def esc(text: str) -> str:
    """ap_escape_html: & < > and double quote. (Not html.escape: the html module brings its ~2,200-entry
    entity table into every serving process, for four replacements.)"""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def canned_text(status: int, method: str, location: str, notes: str, expect: str | None,
                server_admin: str) -> str:
    """get_canned_error_string for the statuses a static server produces."""
    if status in (301, 302, 307, 308):
        return f'<p>The document has moved <a href="{esc(location)}">here</a>.</p>\n'
    if status == 303:
        return f'<p>The answer to your request is located <a href="{esc(location)}">here</a>.</p>\n'
    if status == 400:
        return f"<p>Your browser sent a request that this server could not understand.<br />\n{notes}</p>\n"
    if status == 403:
        return f"<p>You don't have permission to access this resource.{notes}</p>\n"
    if status == 404:
        return "<p>The requested URL was not found on this server.</p>\n"
    if status == 405:
        return f"<p>The requested method {esc(method)} is not allowed for this URL.</p>\n"
    if status == 408:
        return "<p>Server timeout waiting for the HTTP request from the client.</p>\n"
    if status == 410:
        return ("<p>The requested resource is no longer available on this server and there is no forwarding "
                "address.\nPlease remove all references to this resource.</p>\n")
    if status == 411:
        return f"<p>A request of the requested method {esc(method)} requires a valid Content-length.<br />\n{notes}</p>\n"
    if status == 412:
        return "<p>The precondition on the request for this URL evaluated to false.</p>\n"
    if status == 413:
        return (f"The requested resource does not allow request data with {esc(method)} requests, or the amount "
                "of data provided in\nthe request exceeds the capacity limit.\n")
    if status == 414:
        return f"<p>The requested URL's length exceeds the capacity\nlimit for this server.<br />\n{notes}</p>\n"
    if status == 416:
        return ("<p>None of the range-specifier values in the Range\nrequest-header field overlap the current "
                "extent\nof the selected resource.</p>\n")
    if status == 417:
        if expect is not None:
            first = ("<p>The expectation given in the Expect request-header\nfield could not be met by this "
                     f"server.\nThe client sent<pre>\n    Expect: {esc(expect)}\n</pre>\n")
        else:
            first = ("<p>No expectation was seen, the Expect request-header \nfield was not presented by the "
                     "client.\n")
        return first + notes + "</p><p>Only the 100-continue expectation is supported.</p>\n"
    if status == 501:
        return f"<p>{esc(method)} not supported for current URL.<br />\n{notes}</p>\n"
    if status == 503:
        return ("<p>The server is temporarily unable to service your\nrequest due to maintenance downtime or "
                "capacity\nproblems. Please try again later.</p>\n")
    return ("<p>The server encountered an internal error or\nmisconfiguration and was unable to complete\n"
            "your request.</p>\n<p>Please contact the server administrator at \n "
            f"{esc(server_admin)} to inform them of the time this error occurred,\n and the actions you "
            "performed just before this error.</p>\n<p>More information about this error may be available\n"
            "in the server error log.</p>\n")


def error_page(status: int, *, method: str = "GET", location: str = "", notes: str = "",
               expect: str | None = None, server_admin: str = "[no address given]", signature: str = "",
               recursive: int = 0) -> bytes:
    """The whole HTML page of ap_send_error_response (`signature` is ap_psignature's text or "")."""
    title = status_line(status)
    body = [DOCTYPE, "<html><head>\n<title>", title, "</title>\n</head><body>\n<h1>", title[4:], "</h1>\n",
            canned_text(status, method, location, notes, expect, server_admin)]
    if recursive:
        body.append(f"<p>Additionally, a {status_line(recursive)}\nerror was encountered while trying to use "
                    "an ErrorDocument to handle the request.</p>\n")
    body.append(signature)
    body.append("</body></html>\n")
    return "".join(body).encode("latin-1", "replace")


def signature(mode: str, banner: str, server_name: str, port: int, server_admin: str) -> str:
    """ap_psignature("<hr>\\n", r) for ServerSignature On/EMail; "" for Off."""
    if mode == "on":
        return f"<hr>\n<address>{banner} Server at {esc(server_name)} Port {port}</address>\n"
    if mode == "email":
        return (f'<hr>\n<address>{banner} Server at <a href="mailto:{esc(server_admin)}">{esc(server_name)}</a> '
                f"Port {port}</address>\n")
    return ""
