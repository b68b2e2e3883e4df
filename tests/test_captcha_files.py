"""Folders of labelled captchas: saving, file names, sidecar labels, reading any image, bad files."""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from helpers.captcha_files import captcha_filenames, load_captchas, save_captchas, to_gray
from helpers.captchas import Captcha, CaptchaDataError, generate_captchas


def fake_captcha(label: str) -> Captcha:
    """A blank captcha with any label (the generator would refuse unsafe ones)."""
    return Captcha(label, np.full((24, 72, 3), 255, np.uint8), np.zeros((len(label), 4), np.int32))


def write_png(path: Path, array: np.ndarray, mode: str | None = None) -> Path:
    Image.fromarray(array, mode).save(path)
    return path


def gray_png(path: Path, value: int = 200, shape: tuple[int, int] = (24, 72)) -> Path:
    return write_png(path, np.full(shape, value, np.uint8))


def huge_png_header(path: Path, width: int, height: int) -> Path:
    """A tiny PNG whose header claims ``width`` x ``height`` pixels (valid CRC, too little data)."""
    Image.new("1", (8, 8)).save(path)
    data = bytearray(path.read_bytes())
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    path.write_bytes(bytes(data))
    return path


# --------------------------------------------------------------------------- saving


def test_repeated_labels_get_numbered_file_names() -> None:
    assert captcha_filenames(["AB", "AB", "CD", "AB"]) == ["AB.png", "AB_1.png", "CD.png", "AB_2.png"]
    assert captcha_filenames(["ab", "AB"]) == ["ab.png", "AB_1.png"]  # case-insensitive disks


def test_save_writes_pngs_and_a_box_manifest_that_load_reads_back(tmp_path: Path) -> None:
    captchas = generate_captchas(6, "medium", seed=1)
    out = tmp_path / "new" / "nested"
    paths = save_captchas(captchas, out)
    assert [p.name for p in paths] == captcha_filenames([c.label for c in captchas])
    manifest = json.loads((out / "boxes.json").read_text())
    for c, p in zip(captchas, paths):
        assert manifest[p.name] == {"label": c.label, "boxes": c.boxes.tolist()}
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporary files left
    loaded = load_captchas(out)
    by_name = {p.name: (img, label) for p, img, label in zip(loaded.paths, loaded.images, loaded.labels)}
    for c, p in zip(captchas, paths):
        img, label = by_name[p.name]
        assert label == c.label
        np.testing.assert_array_equal(img, to_gray(c.image))


def test_save_in_the_original_format_writes_numbered_jpgs_with_label_files(tmp_path: Path) -> None:
    captchas = generate_captchas(12, "easy", seed=2)
    paths = save_captchas(captchas, tmp_path / "jpg", file_format="jpg+txt")
    assert [p.name for p in paths] == [f"{k:05d}.jpg" for k in range(1, 13)]
    assert [p.with_suffix(".txt").read_text() for p in paths] == [c.label + "\n" for c in captchas]
    loaded = load_captchas(tmp_path / "jpg")
    assert loaded.labels == [c.label for c in captchas]
    for image, c in zip(loaded.images, captchas):  # JPEG is lossy, but only slightly
        assert np.abs(image.astype(int) - to_gray(c.image).astype(int)).mean() < 3
    again = save_captchas(captchas, tmp_path / "again", file_format="jpg+txt")
    assert [p.read_bytes() for p in again] == [p.read_bytes() for p in paths]
    with pytest.raises(CaptchaDataError, match="unknown file format 'gif'"):
        save_captchas(captchas, tmp_path / "gif", file_format="gif")


def test_save_refuses_a_non_empty_folder_unless_overwrite_and_keeps_other_files(tmp_path: Path) -> None:
    (tmp_path / "notes.md").write_text("mine")
    first = generate_captchas(2, seed=0)
    with pytest.raises(CaptchaDataError, match=r"\(overwrite=True\)$") as refused:
        save_captchas(first, tmp_path)
    assert "--overwrite" not in str(refused.value)  # the library speaks of its arguments, not of options
    assert [p.name for p in tmp_path.iterdir()] == ["notes.md"]

    save_captchas(first, tmp_path, overwrite=True)
    replacement = [Captcha(first[0].label, np.zeros_like(first[0].image), first[0].boxes)]
    save_captchas(replacement, tmp_path, overwrite=True)
    assert (tmp_path / "notes.md").read_text() == "mine"
    assert (tmp_path / f"{first[1].label}.png").exists()
    assert np.asarray(Image.open(tmp_path / f"{first[0].label}.png")).max() == 0  # replaced
    manifest = json.loads((tmp_path / "boxes.json").read_text())
    assert set(manifest) == {f"{c.label}.png" for c in first}  # old entries kept


@pytest.mark.parametrize("label", ["A/B", "A\\B", "..", "A..B", ".AB", "A B", "AB\n", "A\x00B", ""])
def test_save_rejects_labels_unsafe_as_file_names(tmp_path: Path, label: str) -> None:
    out = tmp_path / "out"
    with pytest.raises(CaptchaDataError, match="cannot use label"):
        save_captchas([fake_captcha("OK"), fake_captcha(label)], out)
    assert not out.exists()  # checked before anything is written


def test_save_refuses_a_file_as_output_folder(tmp_path: Path) -> None:
    target = tmp_path / "file.png"
    target.write_bytes(b"x")
    with pytest.raises(CaptchaDataError, match="not a folder"):
        save_captchas([fake_captcha("AB")], target)


# --------------------------------------------------------------------------- loading: labels


def test_labels_come_from_file_names_without_duplicate_suffixes(tmp_path: Path) -> None:
    for name in ["AB3D.png", "AB3D_2.png", "XY7Q-12.png", "K9-A.png", "ZZZ_X.png", ".hidden.png"]:
        gray_png(tmp_path / name)
    (tmp_path / "boxes.json").write_text("{}")
    (tmp_path / "readme.md").write_text("ignored")
    loaded = load_captchas(tmp_path)
    assert [p.name for p in loaded.paths] == ["AB3D.png", "AB3D_2.png", "K9-A.png", "XY7Q-12.png", "ZZZ_X.png"]
    assert loaded.labels == ["AB3D", "AB3D", "K9-A", "XY7Q", "ZZZ_X"]
    assert len(loaded) == 5 and loaded.skipped == []
    assert loaded.lengths == {4: 4, 5: 1}
    assert loaded.alphabet == "-379ABDKQXYZ_"


def test_sidecar_text_files_hold_the_labels(tmp_path: Path) -> None:
    rgb = np.full((30, 90, 3), 250, np.uint8)
    rgb[10:20, 10:80] = 10
    for stem, label in [("img001", "w7fq\n"), ("img002", "  HELLO  "), ("3x", "XYZ")]:
        Image.fromarray(rgb).save(tmp_path / f"{stem}.jpg", quality=95)
        (tmp_path / f"{stem}.txt").write_text(label)
    loaded = load_captchas(tmp_path)
    assert loaded.labels == ["XYZ", "w7fq", "HELLO"]  # sorted by file name: 3x, img001, img002
    assert loaded.images[0].shape == (30, 90)
    assert abs(int(loaded.images[0][15, 40]) - 10) < 8 and abs(int(loaded.images[0][2, 2]) - 250) < 8


@pytest.mark.parametrize(("content", "reason"), [(None, "missing label"), ("  \n", "missing label"),
                                                 ("A B", "contains ' '")])
def test_sidecar_problems_name_the_file(tmp_path: Path, content: str | None, reason: str) -> None:
    gray_png(tmp_path / "a.png")
    (tmp_path / "a.txt").write_text("GOOD")
    gray_png(tmp_path / "b.png")
    if content is not None:
        (tmp_path / "b.txt").write_text(content)
    with pytest.raises(CaptchaDataError, match=rf"b\.png.*{reason}"):
        load_captchas(tmp_path)
    assert load_captchas(tmp_path, skip_bad=True).labels == ["GOOD"]


# --------------------------------------------------------------------------- loading: formats and modes


def test_png_jpg_and_bmp_in_any_case_are_read(tmp_path: Path) -> None:
    gray = np.full((20, 50), 30, np.uint8)
    Image.fromarray(gray).save(tmp_path / "AAA.PNG")
    Image.fromarray(gray).save(tmp_path / "BBB.Jpeg", quality=95)
    Image.fromarray(gray).convert("RGB").save(tmp_path / "CCC.bmp")
    Image.fromarray(gray).save(tmp_path / "DDD.gif")  # not an accepted format: ignored
    loaded = load_captchas(tmp_path)
    assert loaded.labels == ["AAA", "BBB", "CCC"]
    for img in loaded.images:
        assert img.shape == (20, 50) and img.dtype == np.uint8 and abs(int(img.mean()) - 30) <= 2


def test_image_modes_become_the_right_gray_values(tmp_path: Path) -> None:
    write_png(tmp_path / "L.png", np.array([[0, 128, 255]], np.uint8))
    write_png(tmp_path / "RGB.png", np.array([[[255, 0, 0], [0, 0, 0], [255, 255, 255]]], np.uint8))
    rgba = np.array([[[0, 0, 0, 0], [0, 0, 0, 255], [0, 0, 0, 128]]], np.uint8)
    write_png(tmp_path / "RGBA.png", rgba)  # transparent background reads as white
    write_png(tmp_path / "I16.png", np.array([[0, 32896, 65535]], np.uint16))
    pal = Image.new("P", (3, 1))
    pal.putpalette([255, 255, 255, 0, 0, 0, 120, 120, 120])
    pal.putdata([0, 1, 2])
    pal.save(tmp_path / "P.png")
    pal.save(tmp_path / "PT.png", transparency=1)  # black made transparent -> white
    Image.new("1", (3, 1), 1).save(tmp_path / "one.png")
    Image.new("LA", (3, 1), (0, 0)).save(tmp_path / "LA.png")
    Image.new("CMYK", (3, 1), (0, 0, 0, 0)).save(tmp_path / "CMYK.jpg")

    loaded = load_captchas(tmp_path)
    got = {p.stem: img.tolist()[0] for p, img in zip(loaded.paths, loaded.images)}
    assert got["L"] == [0, 128, 255]
    assert got["RGB"] == [76, 0, 255]
    assert got["RGBA"][:2] == [255, 0] and 120 <= got["RGBA"][2] <= 135
    assert got["I16"] == [0, 128, 255]
    assert got["P"] == [255, 0, 120]
    assert got["PT"] == [255, 255, 120]
    assert got["one"] == [255, 255, 255]
    assert got["LA"] == [255, 255, 255]
    assert all(v >= 250 for v in got["CMYK"])


def test_to_gray_matches_the_loader_and_checks_its_input() -> None:
    rgba = np.zeros((2, 2, 4), np.uint8)
    assert to_gray(rgba).tolist() == [[255, 255], [255, 255]]
    rgb = np.array([[[255, 0, 0]]], np.uint8)
    assert to_gray(rgb).tolist() == [[76]] and to_gray(np.uint8([[7]])).tolist() == [[7]]
    with pytest.raises(CaptchaDataError, match="uint8"):
        to_gray(np.zeros((2, 2), np.float32))
    with pytest.raises(CaptchaDataError, match="shape"):
        to_gray(np.zeros((2, 2, 2), np.uint8))


# --------------------------------------------------------------------------- loading: bad folders and files


def test_missing_folder_and_file_instead_of_folder(tmp_path: Path) -> None:
    with pytest.raises(CaptchaDataError, match="does not exist"):
        load_captchas(tmp_path / "nope")
    gray_png(tmp_path / "AB.png")
    with pytest.raises(CaptchaDataError, match="not a folder"):
        load_captchas(tmp_path / "AB.png")


@pytest.mark.parametrize("files", [[], ["notes.txt", "data.csv", "sub/AB.png", ".AB.png"]])
def test_folder_without_images_lists_the_accepted_extensions(tmp_path: Path, files: list[str]) -> None:
    for name in files:
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    with pytest.raises(CaptchaDataError, match=r"no captcha images in .*\.png, \.jpg, \.jpeg, \.bmp"):
        load_captchas(tmp_path)


def test_bad_files_are_named_with_the_reason(tmp_path: Path) -> None:
    gray_png(tmp_path / "GOOD.png")
    (tmp_path / "EMPTY.png").write_bytes(b"")
    (tmp_path / "JUNK.jpg").write_bytes(b"this is not a picture at all" * 10)
    noisy = np.random.default_rng(0).integers(0, 255, (60, 160), dtype=np.uint8)
    data = write_png(tmp_path / "CUT.png", noisy).read_bytes()
    (tmp_path / "CUT.png").write_bytes(data[: len(data) // 2])

    expectations = {"CUT.png": "truncated", "EMPTY.png": "empty", "JUNK.jpg": "not a readable image"}
    for name, reason in expectations.items():
        folder = tmp_path / name.split(".")[0]
        folder.mkdir()
        (folder / name).write_bytes((tmp_path / name).read_bytes())
        with pytest.raises(CaptchaDataError, match=rf"{name}.*{reason}.*skip_bad=True"):
            load_captchas(folder)

    loaded = load_captchas(tmp_path, skip_bad=True)
    assert loaded.labels == ["GOOD"]
    skipped = {p.name: reason for p, reason in loaded.skipped}
    assert skipped.keys() == expectations.keys()
    assert all(expectations[name] in reason for name, reason in skipped.items())


def test_huge_images_are_refused_from_the_header_without_decoding(tmp_path: Path) -> None:
    huge_png_header(tmp_path / "BIG.png", 20000, 20000)  # would need 400 MB; only 8x8 pixels of data
    with pytest.raises(CaptchaDataError, match=r"BIG\.png.*20000x20000 pixels, larger than the 4000000-pixel limit"):
        load_captchas(tmp_path)
    huge_png_header(tmp_path / "BIG.png", 3000, 2000)  # below Pillow's own limit: our check alone
    with pytest.raises(CaptchaDataError, match="3000x2000 pixels.*raise max_pixels"):
        load_captchas(tmp_path)
    gray_png(tmp_path / "OK.png", shape=(10, 10))
    loaded = load_captchas(tmp_path, skip_bad=True, max_pixels=100)
    assert loaded.labels == ["OK"] and [p.name for p, _ in loaded.skipped] == ["BIG.png"]


def test_skip_bad_counts_and_gives_up_when_nothing_is_left(tmp_path: Path) -> None:
    for name in ["A1.png", "B2.png", "C3.bmp"]:
        gray_png(tmp_path / name)
    for name in ["X.png", "Y.jpg"]:
        (tmp_path / name).write_bytes(b"\x00\x01garbage")
    loaded = load_captchas(tmp_path, skip_bad=True)
    assert (len(loaded), len(loaded.skipped)) == (3, 2)
    assert loaded.alphabet == "123ABC" and loaded.lengths == {2: 3}

    bad_only = tmp_path / "bad"
    bad_only.mkdir()
    (bad_only / "X.png").write_bytes(b"")
    with pytest.raises(CaptchaDataError, match="all 1 images .* were skipped"):
        load_captchas(bad_only, skip_bad=True)


def test_load_captchas_keeps_the_colours_when_asked(tmp_path: Path) -> None:
    made = generate_captchas(5, "colour", seed=2)
    save_captchas(made, tmp_path / "c")
    coloured, gray = load_captchas(tmp_path / "c", colour=True), load_captchas(tmp_path / "c")
    by_label = {c.label: c.image for c in made}
    for label, image, g in zip(coloured.labels, coloured.images, gray.images):
        assert np.array_equal(image, by_label[label]) and np.array_equal(to_gray(image), g)
