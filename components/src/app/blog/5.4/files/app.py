"""blog 5.4: a WSGI application run by the python-3.11 runtime (wsgiref) behind the server."""
import platform
import sys


def application(environ, start_response):
    posts = ["Hello from a guest", "Components all the way down"]
    body = "blog 5.4\npython %s on %s\nposts: %d (%s)\npath: %s\n" % (
        platform.python_version(), sys.platform, len(posts), "; ".join(posts), environ.get("PATH_INFO", "/"))
    data = body.encode("utf-8")
    start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(data)))])
    return [data]
