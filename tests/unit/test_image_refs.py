"""Image references normalised as Docker does, and the local store's tag/resolve/remove/list on a
tiny fake rootfs (no root, no network): podrun/images/, and the `podrun images` columns."""
from __future__ import annotations

import json
import os

import pytest

from podrun.errors import Conflict, ImageError, NotFound
from podrun.images.reference import InvalidReference, familiar, normalize, parse_reference
from podrun.images.store import Image, ImageStore, tree_digest
from podrun.printers.duration import docker_human_duration
from podrun.printers.images import human_size, image_rows

HEX = "a" * 64


@pytest.mark.parametrize("ref,want", [
    ("busybox", "docker.io/library/busybox:latest"),
    ("busybox:1.35", "docker.io/library/busybox:1.35"),
    ("library/busybox", "docker.io/library/busybox:latest"),
    ("docker.io/library/busybox:latest", "docker.io/library/busybox:latest"),
    ("docker.io/busybox", "docker.io/library/busybox:latest"),
    ("index.docker.io/library/busybox", "docker.io/library/busybox:latest"),
    ("someuser/app:v2", "docker.io/someuser/app:v2"),
    ("habor-repo.com/library/busybox:v1", "habor-repo.com/library/busybox:v1"),
    ("localhost/busybox", "localhost/busybox:latest"),
    ("localhost:5000/team/app", "localhost:5000/team/app:latest"),
    ("registry:5000/app:1.0", "registry:5000/app:1.0"),
    ("quay.io/a/b/c:tag_1.2-x", "quay.io/a/b/c:tag_1.2-x"),
    (f"busybox@sha256:{HEX}", f"docker.io/library/busybox@sha256:{HEX}"),
    (f"busybox:1.35@sha256:{HEX}", f"docker.io/library/busybox:1.35@sha256:{HEX}"),
])
def test_reference_is_normalised_like_docker(ref, want):
    assert normalize(ref) == want


@pytest.mark.parametrize("ref", ["", "BusyBox", "busybox:", "busybox:-x", "busybox@sha256:abc",
                                 "busy box", "/busybox", "busybox/", "a..b", " busybox"])
def test_invalid_reference_is_refused(ref):
    with pytest.raises(InvalidReference) as exc:
        parse_reference(ref)
    assert "invalid reference format" in str(exc.value)
    assert isinstance(exc.value, ImageError) and isinstance(exc.value, NotFound)


def test_reference_parts():
    r = parse_reference("habor-repo.com/library/busybox:v1")
    assert (r.domain, r.path, r.tag, r.digest, r.name) == (
        "habor-repo.com", "library/busybox", "v1", None, "habor-repo.com/library/busybox")


@pytest.mark.parametrize("name,want", [
    ("docker.io/library/busybox", "busybox"),
    ("docker.io/library/busybox:1.35", "busybox:1.35"),
    ("docker.io/someuser/app:v2", "someuser/app:v2"),
    ("habor-repo.com/library/busybox:v1", "habor-repo.com/library/busybox:v1"),
])
def test_familiar_name_is_what_docker_shows(name, want):
    assert familiar(name) == want


# -- the store on a fake rootfs ---------------------------------------------------------------

def fake_rootfs(path, content: str = "hello") -> str:
    os.makedirs(os.path.join(path, "bin"))
    os.makedirs(os.path.join(path, "etc"))
    with open(os.path.join(path, "bin", "tool"), "w") as f:
        f.write("#!/bin/sh\necho " + content + "\n")
    os.chmod(os.path.join(path, "bin", "tool"), 0o755)
    os.symlink("tool", os.path.join(path, "bin", "sh"))
    return str(path)


@pytest.fixture
def store(tmp_path) -> ImageStore:
    return ImageStore(str(tmp_path / "images"))


@pytest.fixture
def busybox(store, tmp_path) -> Image:
    return store.add_rootfs(fake_rootfs(tmp_path / "src"), {"Cmd": ["sh"], "Ignored": 1},
                            ["busybox:latest", "busybox:1.35"])


def test_added_rootfs_is_resolved_by_every_form_of_its_tag(store, busybox):
    for ref in ("busybox", "busybox:latest", "library/busybox", "docker.io/library/busybox:latest"):
        img = store.resolve(ref)
        assert img.id == busybox.id and img.ref == "docker.io/library/busybox:latest"
    assert store.resolve("busybox:1.35").ref == "docker.io/library/busybox:1.35"
    assert busybox.tags == ("docker.io/library/busybox:1.35", "docker.io/library/busybox:latest")
    assert busybox.config == {"Cmd": ["sh"]}
    assert busybox.repo_digest == f"docker.io/library/busybox@{busybox.id}"


def test_store_layout_is_blobs_by_id_and_tags_json(store, busybox):
    hexid = busybox.id.removeprefix("sha256:")
    assert busybox.rootfs == os.path.join(store.dir, "blobs", hexid, "rootfs")
    assert os.readlink(os.path.join(busybox.rootfs, "bin", "sh")) == "tool"
    with open(os.path.join(store.dir, "blobs", hexid, "image.json")) as f:
        meta = json.load(f)
    assert meta["id"] == busybox.id and meta["size"] == busybox.size > 0 and meta["created"].endswith("Z")
    with open(os.path.join(store.dir, "tags.json")) as f:
        assert json.load(f)["docker.io/library/busybox:latest"] == busybox.id
    assert os.listdir(store.tmp_dir) == []


def test_digest_reference_and_id_prefix_resolve_by_id(store, busybox):
    assert store.resolve(f"busybox@{busybox.id}").id == busybox.id
    assert store.resolve(busybox.id).id == busybox.id
    assert store.resolve(busybox.short_id).id == busybox.id


def test_same_content_gets_the_same_id_and_one_blob(store, busybox, tmp_path):
    again = store.add_rootfs(fake_rootfs(tmp_path / "src2"), {}, ["other:1"], move=True)
    assert again.id == busybox.id
    assert not os.path.exists(tmp_path / "src2")
    assert len(store.list()) == 1
    assert store.resolve("other:1").id == busybox.id


def test_digest_changes_with_content_and_mode(tmp_path):
    a = tree_digest(fake_rootfs(tmp_path / "a"))[0]
    b = tree_digest(fake_rootfs(tmp_path / "b", content="bye"))[0]
    c_path = fake_rootfs(tmp_path / "c")
    os.chmod(os.path.join(c_path, "etc"), 0o700)
    assert len({a, b, tree_digest(c_path)[0]}) == 3
    assert tree_digest(fake_rootfs(tmp_path / "d"))[0] == a


def test_unknown_image_names_the_reference_and_what_the_store_has(store, busybox):
    with pytest.raises(NotFound) as exc:
        store.resolve("nginx")
    assert str(exc.value) == ('image "docker.io/library/nginx:latest" not found in the local store '
                              "(have: busybox:1.35, busybox:latest)")


def test_empty_store_says_how_to_fill_it(store):
    with pytest.raises(NotFound, match="the store is empty: build it with scripts/build-images"):
        store.resolve("busybox")


def test_unknown_digest_is_not_found(store, busybox):
    with pytest.raises(NotFound, match=f'"docker.io/library/busybox@sha256:{HEX}" not found'):
        store.resolve(f"busybox@sha256:{HEX}")


def test_tag_points_a_new_reference_at_the_image(store, busybox):
    store.tag("busybox", "habor-repo.com/library/busybox:v1")
    img = store.resolve("habor-repo.com/library/busybox:v1")
    assert img.id == busybox.id
    assert "habor-repo.com/library/busybox:v1" in store.resolve("busybox").tags


def test_tag_of_unknown_source_is_not_found(store, busybox):
    with pytest.raises(NotFound, match="nginx"):
        store.tag("nginx", "mine:1")


def test_remove_untags_and_deletes_the_blob_with_the_last_tag(store, busybox):
    assert store.remove("busybox:1.35") == ["Untagged: busybox:1.35"]
    assert os.path.isdir(busybox.rootfs)
    assert store.remove("busybox") == ["Untagged: busybox:latest", f"Deleted: {busybox.id}"]
    assert not os.path.exists(os.path.dirname(busybox.rootfs))
    assert store.list() == []
    with pytest.raises(NotFound):
        store.resolve("busybox")


def test_remove_by_id_removes_every_tag(store, busybox):
    lines = store.remove(busybox.short_id)
    assert lines == ["Untagged: busybox:1.35", "Untagged: busybox:latest", f"Deleted: {busybox.id}"]


def test_remove_is_refused_while_a_running_container_uses_the_image(store, busybox):
    store.remove("busybox:1.35", in_use=lambda i: True)      # another tag is left: allowed
    with pytest.raises(Conflict, match="in use by a running container"):
        store.remove("busybox", in_use=lambda i: i == busybox.id)
    assert store.resolve("busybox").id == busybox.id          # nothing changed
    store.remove("busybox", in_use=lambda i: False)


def test_list_returns_one_image_per_id_with_its_tags(store, busybox, tmp_path):
    other = store.add_rootfs(fake_rootfs(tmp_path / "x", content="x"), {}, ["x"])
    assert {(i.id, i.tags) for i in store.list()} == {
        (busybox.id, busybox.tags), (other.id, ("docker.io/library/x:latest",))}


def test_inspect_is_dockers_shape(store, busybox):
    doc = store.inspect("busybox")
    assert doc["Id"] == busybox.id
    assert doc["RepoTags"] == ["busybox:1.35", "busybox:latest"]
    assert doc["Config"] == {"Cmd": ["sh"]}
    assert doc["GraphDriver"]["Data"]["LowerDir"] == busybox.rootfs


# -- `podrun images` columns ------------------------------------------------------------------

@pytest.mark.parametrize("seconds,want", [(0.5, "Less than a second"), (1, "1 second"), (42, "42 seconds"),
                                          (60, "About a minute"), (150, "2 minutes"), (3600, "About an hour"),
                                          (5 * 3600, "5 hours"), (3 * 86400, "3 days"), (20 * 86400, "2 weeks"),
                                          (90 * 86400, "3 months"), (800 * 86400, "2 years")])
def test_human_duration_is_dockers(seconds, want):
    assert docker_human_duration(seconds) == want


@pytest.mark.parametrize("size,want", [(12, "12B"), (800_000, "800kB"), (4_860_000, "4.86MB"),
                                       (1_987_568, "1.99MB"), (1_500_000_000, "1.5GB")])
def test_human_size_is_dockers(size, want):
    assert human_size(size) == want


def test_rows_show_familiar_repositories_one_per_tag():
    img = Image(id="sha256:" + "0123456789ab" + "c" * 52, ref="", rootfs="/x", config={}, size=4_860_000,
                created="2026-11-23T19:00:00Z",
                tags=("docker.io/library/busybox:latest", "habor-repo.com/library/busybox:v1"))
    from podrun.clock import parse_rfc3339
    rows = image_rows([img], parse_rfc3339("2026-11-23T19:02:00Z"))
    assert rows == [["busybox", "latest", "0123456789ab", "2 minutes ago", "4.86MB"],
                    ["habor-repo.com/library/busybox", "v1", "0123456789ab", "2 minutes ago", "4.86MB"]]
