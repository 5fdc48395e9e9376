"""ServiceFarm python runtime: serves APP_DIR/app.py's WSGI `application` on 127.0.0.1:PORT."""
import importlib.util
import os
import sys
from wsgiref.simple_server import WSGIRequestHandler, make_server

app_dir, port = sys.argv[1], int(sys.argv[2])
spec = importlib.util.spec_from_file_location("app", app_dir + "/app.py")
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)


class QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):
        pass


server = make_server("127.0.0.1", port, module.application, handler_class=QuietHandler)
if os.getuid() == 0:  # bound: now drop to www-data (busybox has no chpst/setpriv here)
    os.setgroups([])
    os.setgid(33)
    os.setuid(33)
server.serve_forever()
