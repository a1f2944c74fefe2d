"""WSGI entry point for production servers: ``gunicorn -w 1 --threads 100 daydream.wsgi:app``.

Scaled out (``DAYDREAM_REDIS_URL`` set) this is only the web app: ``daydream worker``
processes run the tasks, and any number of web processes may import it. With the
in-process queue (the embedded default) the process that imports this module also runs
the worker thread and loads the model, so it must be the only one: a second process on
the same instance folder refuses to start (see ``daydream.embedded``). Do not use
gunicorn's ``--preload`` there: the worker thread would stay behind in the master.
"""

from daydream import create_app
from daydream.config import Config, default_instance_path, read_instance_file
from daydream.embedded import start_embedded_worker, uses_embedded_worker
from daydream.server import freeze_startup_objects

instance = default_instance_path()
app = create_app(Config.from_env(read_instance_file(instance)), instance_path=instance)

if uses_embedded_worker(app):
    # Fail at start, not at the first task, when the model cannot be loaded.
    start_embedded_worker(app).wait_ready()

freeze_startup_objects()
