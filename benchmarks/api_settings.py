"""Settings of ``benchmarks/api.py`` only: the product's settings with a URL map that adds
the bare view (``benchmarks/api_urls.py``). Never used by the product."""

from chatadmin.settings import *  # noqa: F403

ROOT_URLCONF = "benchmarks.api_urls"
