"""The names of everything lamp writes to MLflow: artifact files and tags.

The platform's operator and every earlier lamp release read these names, so they are a
compatibility contract (DESIGN.md, "What lamp writes to MLflow"): change none of them lightly.

Run tags use dotted keys (``lamp.git.commit``). Unity Catalog refuses ``. - / = : ,`` in the keys
of model-version tags, so a version carries each run tag under :func:`version_tag_key`
(``lamp_git_commit``) on every registry; versions registered by releases before that scheme carry
the dotted keys, which :func:`read_version_tag` still reads.
"""

from __future__ import annotations

from collections.abc import Mapping

# --- artifacts -----------------------------------------------------------------------------

#: The folder of a run's artifacts that holds lamp's files: an MLflow model directory.
ARTIFACT_DIR = "lamp"
MODEL_FILE = "serving-model-spec.yaml"
ENDPOINT_FILE = "serving-endpoint-spec.yaml"
MANIFEST_FILE = "lamp.json"
MLMODEL_FILE = "MLmodel"
OPENAPI_FILE = "openapi.json"
#: What every run lamp logged carries (``MLmodel`` since 0.2, ``openapi.json`` when the app is
#: known).
SPEC_FILES = (MODEL_FILE, ENDPOINT_FILE, MANIFEST_FILE)
#: The flavor of ``MLmodel`` that names lamp's files.
FLAVOR = "lamp"

# --- run tags ------------------------------------------------------------------------------

TAG_MODEL_SHA = "lamp.spec.model.sha256"
TAG_ENDPOINT_SHA = "lamp.spec.endpoint.sha256"
TAG_API_SHA = "lamp.api.sha256"
TAG_IMAGE = "lamp.image"
#: Why a run ended FAILED.
TAG_ERROR = "lamp.error"

# Where a release comes from (services/provenance.py).
TAG_COMMIT = "lamp.git.commit"
TAG_REF = "lamp.git.ref"
TAG_REPO = "lamp.git.repo"
TAG_DIRTY = "lamp.git.dirty"
TAG_RUN_URL = "lamp.ci.run_url"
TAG_ACTOR = "lamp.ci.actor"

# The record of a release (services/release.py).
TAG_RELEASE_KEY = "lamp.release.key"
TAG_PROJECT = "lamp.project"
#: ``<model sha256>:<endpoint sha256>`` from the run's creation on, while the hash tags are
#: written only once the files are: a run's specs are known while it is written.
TAG_SPECS = "lamp.release.specs"
TAG_SUPERSEDED_BY = "lamp.release.superseded_by"
TAG_ABANDONED = "lamp.release.abandoned"

#: Run tags that are bookkeeping of the run and say nothing about a version made from it.
RUN_ONLY_TAGS = frozenset({TAG_ERROR, TAG_SPECS, TAG_SUPERSEDED_BY, TAG_ABANDONED})

# MLflow's own run tags, which its UI shows as the run's source, commit and creator.
MLFLOW_USER = "mlflow.user"
MLFLOW_SOURCE_NAME = "mlflow.source.name"
MLFLOW_SOURCE_TYPE = "mlflow.source.type"
MLFLOW_GIT_COMMIT = "mlflow.source.git.commit"
MLFLOW_GIT_BRANCH = "mlflow.source.git.branch"
MLFLOW_GIT_REPO_URL = "mlflow.source.git.repoURL"

# --- model-version tags ----------------------------------------------------------------------


def version_tag_key(key: str) -> str:
    """The key a run tag gets on a model version: ``lamp.git.commit`` -> ``lamp_git_commit``."""
    return key.replace(".", "_") if key.startswith("lamp.") else key


def version_tags(tags: Mapping[str, str]) -> dict[str, str]:
    """Run tags as a version carries them."""
    return {version_tag_key(k): v for k, v in tags.items()}


def read_version_tag(tags: Mapping[str, str], key: str) -> str | None:
    """A lamp tag of a version, under the current key or the dotted one of earlier releases."""
    return tags.get(version_tag_key(key), tags.get(key))


#: The release key as a version tag.
VERSION_TAG_RELEASE_KEY = version_tag_key(TAG_RELEASE_KEY)
