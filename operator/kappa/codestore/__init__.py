"""The code store: zips up to Lambda's 50 MB, kept by namespace and sha256 (``kappa codestore``).

The gateway uploads a package too large for a ConfigMap (CreateFunction,
UpdateFunctionCode) and puts the capability URL the store answers into the Function's
``spec.code.url``; function pods download it by that URL and check its sha256 as any
URL code. Nothing else is kept: the Function's spec is the source of truth, and a
package no Function or FunctionVersion names is deleted after a grace period.

Layers, top to bottom: ``main`` (the process); ``server`` (HTTP) | ``collector`` (the
periodic garbage collection); ``blobs`` (the volume) | ``bucket`` (an S3-compatible
bucket instead) | ``cluster`` (the Functions and
FunctionVersions that name packages) | ``metrics`` | ``settings``; ``storage`` (what
keeps packages, as the server and the collector use it); the pure core ``garbage``
(what to delete) over ``capability`` (keys, paths and signed URLs).
"""
