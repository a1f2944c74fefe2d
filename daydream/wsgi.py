"""WSGI entry point for production servers: ``gunicorn 'daydream.wsgi:app'``."""

from daydream import create_app
from daydream.config import Config, default_instance_path, read_instance_file

instance = default_instance_path()
app = create_app(Config.from_env(read_instance_file(instance)), instance_path=instance)
