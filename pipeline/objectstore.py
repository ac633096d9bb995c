"""``--out s3://bucket/prefix``: OUT on object storage.

What is written where (see docs/scale.md, "Object storage"):

- the tables: Delta Lake tables at ``<uri>/<table>``, written by ``deltalake`` straight to
  the bucket (``--format delta`` is required: S3 has no rename and no lock, which the local
  Parquet/CSV writer's atomic publish and one-writer guarantees rest on);
- a local working folder (:func:`work_dir`, under ``$XDG_CACHE_HOME/bkjob-export/``) holds
  the staging for ``--resume``, ``manifest.json``, ``_runs/`` and the report; after the
  run, :func:`publish` uploads ``manifest.json``, the run's ``_runs/<run_id>.json`` and
  ``report.html`` to the bucket, each object whole (one PUT each).

Credentials come the usual AWS ways (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``/
``AWS_SESSION_TOKEN``, ``AWS_PROFILE``, instance roles), read by deltalake and pyarrow
themselves; nothing here stores or logs them, and :func:`public_uri` is what manifests and
logs show. ``AWS_ENDPOINT_URL`` points at an S3-compatible server (MinIO, Ceph); an
``http://`` endpoint sets ``AWS_ALLOW_HTTP``.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit, urlunsplit

from pipeline.errors import OutputError

SCHEMES: Final = ("s3",)
NEEDS_DELTA: Final = (
    "object storage needs --format delta "
    "(S3 has no rename or lock for the Parquet/CSV writer; see docs/scale.md)"
)
#: Delta commits on S3 use conditional PUT (If-None-Match), which AWS S3 has had since
#: 2024-11 and MinIO supports: concurrent writers are safe without a DynamoDB lock
DEFAULT_DELTA_OPTIONS: Final = {"conditional_put": "etag"}


def is_uri(text: str) -> bool:
    return urlsplit(text).scheme in SCHEMES and "://" in text


def public_uri(uri: str) -> str:
    """The URI without user info, query or fragment (what logs and manifests show)."""
    parts = urlsplit(uri)
    return urlunsplit((parts.scheme, parts.hostname or "", parts.path.rstrip("/"), "", ""))


def work_dir(uri: str, env: Mapping[str, str] = os.environ) -> Path:
    """The local working folder of an object-storage OUT (one per URI)."""
    cache = Path(env.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    digest = hashlib.sha256(public_uri(uri).encode()).hexdigest()[:16]
    return cache / "bkjob-export" / "out" / digest


def delta_options(env: Mapping[str, str] = os.environ) -> dict[str, str]:
    """deltalake storage options; credentials are left to deltalake's own AWS chain."""
    options = dict(DEFAULT_DELTA_OPTIONS)
    endpoint = env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL")
    if endpoint:
        options["AWS_ENDPOINT_URL"] = endpoint
        if endpoint.startswith("http://"):
            options["AWS_ALLOW_HTTP"] = "true"
    return options


def _filesystem(uri: str, env: Mapping[str, str]) -> tuple[object, str]:
    from pyarrow import fs

    endpoint = env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL")
    parts = urlsplit(uri)
    kwargs: dict[str, object] = {}
    if endpoint:
        ep = urlsplit(endpoint)
        kwargs = {"endpoint_override": ep.netloc, "scheme": ep.scheme or "https"}
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
    if region:
        kwargs["region"] = region
    return fs.S3FileSystem(**kwargs), f"{parts.netloc}{parts.path.rstrip('/')}"


def publish(uri: str, local: Path, names: list[str], env: Mapping[str, str] = os.environ) -> None:
    """Upload ``names`` (paths relative to ``local``) under ``uri``, each object whole."""
    from pyarrow import fs as pafs

    filesystem, root = _filesystem(uri, env)
    assert isinstance(filesystem, pafs.FileSystem)
    for name in names:
        src = local / name
        if not src.is_file():
            continue
        try:
            with filesystem.open_output_stream(f"{root}/{name}") as out:
                out.write(src.read_bytes())
        except OSError as exc:
            raise OutputError(f"{public_uri(uri)}/{name}: cannot upload ({exc})") from exc
