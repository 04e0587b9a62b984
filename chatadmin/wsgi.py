"""The WSGI application (gunicorn ``chatadmin.wsgi``; ``manage.py runserver`` loads it too
through ``WSGI_APPLICATION``): Django, behind the chunked-body reader of
apps.core.bodies (a chunked body gets a Content-Length, or a 411/413, before Django)."""

import os

from django.core.wsgi import get_wsgi_application

from apps.core.bodies import ChunkedBodyMiddleware

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatadmin.settings")
application = ChunkedBodyMiddleware(get_wsgi_application())
