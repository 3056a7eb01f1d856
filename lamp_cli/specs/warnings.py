"""What is valid but probably not meant: said as warnings, with the file and line, never refused.

A spec may name an image on an example AWS account (the one ``lamp spec init`` writes) or on a
registry other than ECR, where lamp cannot pin the digest CI pushed. Neither stops validation:
the first is fine in an example, the second in a platform that pins digests itself.
"""

from __future__ import annotations

from lamp_cli.errors import Problem
from lamp_cli.specs.common import MODEL_KIND
from lamp_cli.specs.image import ImageReferenceError, parse_image_ref, placeholder_account
from lamp_cli.specs.loader import LoadedSpec
from lamp_cli.specs.model_spec import ServingModelSpec

_REPOSITORY = ("spec", "image", "repository")
#: The account of the image in the specs `lamp spec init` writes (and of AWS's documentation).
TEMPLATE_ACCOUNT = "123456789012"


def placeholder_message(account: str, registry: str) -> str:
    """Why an image on ``account`` is not anyone's image: the words every command uses."""
    example = " (the example lamp spec init writes)" if account == TEMPLATE_ACCOUNT else ""
    return (
        f"the image registry {registry} has the placeholder AWS account {account}{example}; "
        "put your ECR registry's account there"
    )


def image_warnings(spec: LoadedSpec) -> list[Problem]:
    """The warnings about a model spec's image: a placeholder account, a registry not on ECR."""
    document = spec.document
    if spec.kind != MODEL_KIND or not isinstance(document, ServingModelSpec):
        return []
    image = document.spec.image
    try:
        ref = parse_image_ref(image.repository, need_tag_or_digest=False)
    except ImageReferenceError:
        return []  # the model refused it already
    if ref.account is not None and placeholder_account(ref.account):
        message = placeholder_message(ref.account, ref.registry)
    elif not ref.is_ecr and not image.digest:
        message = (
            f"the image registry {ref.registry} is not Amazon ECR: lamp pins digests only on ECR, "
            "so the tag is recorded as it is; pin spec.image.digest to deploy exactly this build"
        )
    else:
        return []
    if spec.source is not None:
        return [spec.source.problem(_REPOSITORY, message)]
    return [Problem(message, file=str(spec.path), field=".".join(_REPOSITORY))]


def spec_warnings(specs: list[LoadedSpec]) -> list[Problem]:
    """Every warning about ``specs``, in their order."""
    return [warning for spec in specs for warning in image_warnings(spec)]
