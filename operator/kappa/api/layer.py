"""The ``Layer`` resource (``kappa.dev/v1alpha1``): code or dependencies shared by Functions.

As Lambda's layers: a zip whose contents the function pods unpack under ``/opt`` before
the function's own code, so ``/opt/python`` (Python) and ``/opt/nodejs/node_modules``
(Node.js) are on the runtimes' module paths. A Function names up to five
(``spec.layers``), unpacked in that order, a later one's file replacing an earlier
one's. A Layer's versions are its generations: changing its code rolls every Function
that names it. The zip is in a ConfigMap key (``configMap: {name, archive}``, what
``kappa deploy`` writes) or at a URL with its sha256.

Pure: no I/O, no kopf, no kubernetes client, no clock.
"""

from typing import Annotated, ClassVar, Final, Literal

from pydantic import Field

from kappa.api.function import UrlCode
from kappa.api.meta import (
    ApiVersion,
    ConfigMapKey,
    KappaModel,
    ObjectMeta,
    ObjectName,
)
from kappa.api.rules import exactly_one

KIND: Final = "Layer"
PLURAL: Final = "layers"
SINGULAR: Final = "layer"
SHORT_NAMES: Final = ()
CATEGORIES: Final = ("kappa",)
DESCRIPTION_MAX_LENGTH: Final = 256


class LayerConfigMap(KappaModel):
    """A zip in a ConfigMap of the Layer's namespace."""

    name: ObjectName = Field(description="Name of the ConfigMap, in the Layer's namespace.")
    archive: ConfigMapKey = Field(description="The key (binaryData) that holds the zip.")


class LayerCode(KappaModel):
    """Where the layer's zip is: exactly one of configMap, url."""

    rules: ClassVar = (
        exactly_one(("configMap", "url"), "spec.code must set exactly one of configMap, url"),
    )

    config_map: LayerConfigMap | None = Field(
        default=None, description="A zip in a ConfigMap key (binaryData)."
    )
    url: UrlCode | None = Field(
        default=None, description="A zip archive downloaded by the pods and checked by sha256."
    )


class LayerSpec(KappaModel):
    """The layer's zip and what it is for."""

    code: LayerCode = Field(description="The zip unpacked under /opt.")
    description: Annotated[str, Field(max_length=DESCRIPTION_MAX_LENGTH)] | None = Field(
        default=None, description="What the layer holds."
    )


class Layer(KappaModel):
    """Code or dependencies shared by Functions, unpacked under /opt as Lambda's layers are."""

    api_version: ApiVersion = "kappa.dev/v1alpha1"
    kind: Literal["Layer"] = Field(default=KIND, description="Layer.")
    metadata: ObjectMeta = Field(description="Standard object metadata.")
    spec: LayerSpec = Field(description="The layer's zip.")
