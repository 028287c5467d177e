"""The worker MPM engine: parent (control process), children, listener and worker threads, scoreboard.

It is handed a connection-handler factory and knows nothing of HTTP (as Apache's MPMs and
gunicorn's workers). The only module other layers may import from here is `httpdw.mpm.api`.
"""
