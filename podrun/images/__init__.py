"""The local image store and everything that fills it.

  reference.py  image references, normalised as Docker does (distribution/reference)
  store.py      ImageStore: tags and content-addressed root filesystems under images_dir
  load.py       `podrun image load`: docker save / OCI layout archives, verified, into the store
  build.py      `scripts/build-images`: the busybox and nginx images from Debian packages

Beside runtime/ in the layers (L2): it uses only errors and fsutil, and lifecycle, daemon and
cli use it.
"""
